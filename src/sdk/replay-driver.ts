import { Backoff, toError, type BackoffOptions, type Clock } from '../core/index.ts';
import { RequestErrorCode, type Scope } from '../schema/index.ts';
import type { AnswerApplier } from './answer-applier.ts';
import type { ChainTracker } from './chain-tracker.ts';
import { ReplayLostError, ReplayRefusedError } from './errors.ts';
import type { ReplayClient } from './replay-client.ts';
import type { StatusHub } from './status.ts';

export interface ReplayDriverOptions {
  readonly replay: ReplayClient;
  readonly scope: Scope;
  /** The scope as text, for error messages. */
  readonly scopeText: string;
  readonly chain: ChainTracker;
  readonly answers: AnswerApplier;
  readonly status: StatusHub;
  readonly clock: Clock;
  /** Backoff after failed replays. */
  readonly errorBackoff: BackoffOptions;
  /** Aborts when the subscription closes: ends a replay in flight and the loop. */
  readonly closed: AbortSignal;
  /** False once the subscription stopped: the loop then ends and its errors are not reported. */
  readonly isRunning: () => boolean;
  /** After each answer: applies what was held meanwhile (and may call `want` again). */
  readonly afterAnswer: () => void;
  /** The service says our position is beyond its head (state from another store, §7). */
  readonly onVersionInFuture: () => void;
  /** The loop started or ended (the subscription's in-sync state depends on it). */
  readonly onRunningChange: () => void;
}

/**
 * Replays one scope until nothing is missing (wire-protocol §6): one loop at a time, each
 * round a replay from the chain's position to the head; failed replays are retried with
 * backoff forever (the service may be restarting), until the subscription closes.
 */
export class ReplayDriver {
  readonly #options: ReplayDriverOptions;
  #running = false;
  #wanted = false;
  #loopDone: Promise<void> = Promise.resolve();
  #attempt: AbortController | undefined;
  #replays = 0;

  constructor(options: ReplayDriverOptions) {
    this.#options = options;
  }

  /** A replay loop is in flight. */
  get running(): boolean {
    return this.#running;
  }
  /** Replays started so far. */
  get replays(): number {
    return this.#replays;
  }

  /** Something is missing: replay (now, or after the round in flight). */
  want(): void {
    if (!this.#options.isRunning()) return;
    this.#wanted = true;
    if (this.#running) return;
    this.#running = true;
    this.#options.onRunningChange();
    this.#loopDone = this.#loop().catch((err: unknown) => {
      this.#options.status.emit({ type: 'error', error: toError(err), retryInMs: undefined });
    });
  }

  /** Asks the loop in flight for one more round without starting one. */
  wantAnotherRound(): void {
    this.#wanted = true;
  }

  /** The stream changed under the replay in flight: abandon it (the loop starts over). */
  abandonAttempt(): void {
    this.#attempt?.abort(new ReplayLostError(this.#options.scopeText, 'the stream id changed'));
  }

  /** Resolves when the loop in flight has ended. */
  settled(): Promise<void> {
    return this.#loopDone;
  }

  async #loop(): Promise<void> {
    const { chain, clock, closed } = this.#options;
    const backoff = new Backoff(this.#options.errorBackoff);
    try {
      while (this.#wanted && this.#options.isRunning()) {
        this.#wanted = false;
        const before = { position: chain.position, streamId: chain.streamId };
        if (!(await this.#replayOnce(backoff))) continue;
        this.#options.afterAnswer();
        if (!this.#wanted && chain.position < chain.latestHead) {
          this.#wanted = true;
          // A head announced but not yet served: do not spin, wait a little first.
          if (chain.position === before.position && chain.streamId === before.streamId) await clock.sleep(backoff.next(), closed);
        }
      }
    } catch (err) {
      if (this.#options.isRunning()) throw err;
    } finally {
      this.#running = false;
      this.#options.onRunningChange();
    }
  }

  /** One replay to the head. False when it failed (and the loop should go round again). */
  async #replayOnce(backoff: Backoff): Promise<boolean> {
    const { chain, status, clock, closed, answers } = this.#options;
    const bootstrap = chain.streamId === undefined;
    if (bootstrap) status.emit({ type: 'bootstrapStarted', reason: chain.bootstrapReason });
    status.emit({ type: 'replayStarted', after: bootstrap ? 0 : chain.position, bootstrap });
    this.#replays++;
    const attempt = new AbortController();
    this.#attempt = attempt;
    const started = clock.now();
    try {
      const r = await this.#options.replay.run(this.#options.scope, answers, AbortSignal.any([closed, attempt.signal]));
      status.emit({
        type: 'replayDone', position: chain.position, head: r.head, requests: r.requests, updates: r.updates, durationMs: clock.now() - started,
      });
      backoff.reset();
      return true;
    } catch (err) {
      answers.discard();
      if (!this.#options.isRunning()) throw err;
      this.#wanted = true;
      if (attempt.signal.aborted) return false; // a stream reset restarted the bootstrap
      if (err instanceof ReplayRefusedError && err.requestErrorCode === RequestErrorCode.VERSION_IN_FUTURE) {
        // Our position is beyond the service's head: state from another store (§7). Start over.
        this.#options.onVersionInFuture();
        return false;
      }
      const delayMs = backoff.next();
      status.emit({ type: 'error', error: toError(err), retryInMs: delayMs });
      await clock.sleep(delayMs, closed);
      return false;
    } finally {
      this.#attempt = undefined;
    }
  }
}
