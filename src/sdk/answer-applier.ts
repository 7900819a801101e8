import type { Clock } from '../core/index.ts';
import type { ReplayMessage, StreamId, UpdateFrame } from '../schema/index.ts';
import type { ChainTracker } from './chain-tracker.ts';
import { ReplayLostError } from './errors.ts';
import type { ReplayHandler, ReplayPosition } from './replay-client.ts';
import { SnapshotStaging } from './snapshot-staging.ts';
import type { StatusHub } from './status.ts';

export interface AnswerApplierOptions {
  readonly chain: ChainTracker;
  readonly status: StatusHub;
  readonly clock: Clock;
  /** The scope as text, for error messages. */
  readonly scopeText: string;
  /** A snapshot entry this SDK cannot decode: reported and skipped. */
  readonly onUndecodable: (problem: string, cause: unknown) => void;
}

/**
 * Takes the replay answers of one scope (wire-protocol §7) to its chain: a snapshot is staged
 * until its end and then replaces the state at once, tail updates are applied as they come,
 * the end marker moves the position. What is staged of an answer that fails is dropped.
 */
export class AnswerApplier implements ReplayHandler {
  readonly #chain: ChainTracker;
  readonly #status: StatusHub;
  readonly #clock: Clock;
  readonly #scopeText: string;
  readonly #onUndecodable: (problem: string, cause: unknown) => void;
  #staging: SnapshotStaging | undefined;

  constructor(options: AnswerApplierOptions) {
    this.#chain = options.chain;
    this.#status = options.status;
    this.#clock = options.clock;
    this.#scopeText = options.scopeText;
    this.#onUndecodable = options.onUndecodable;
  }

  position(): ReplayPosition {
    const streamId = this.#chain.streamId;
    return streamId === undefined ? { after: 0, knownStreamId: undefined } : { after: this.#chain.position, knownStreamId: streamId };
  }

  onMessage(m: ReplayMessage): void {
    if (m.sequence === 0) this.#staging = undefined; // a new answer: nothing of a failed one counts
    switch (m.type) {
      case 'snapshotStart':
        this.#staging = new SnapshotStaging(m.version, m.streamId, this.#clock.now());
        return;
      case 'updates':
        if (this.#staging) this.#stage(this.#staging, m.streamId, m.frames);
        else this.#chain.applyTail(m.streamId, m.frames);
        return;
      case 'snapshotEnd':
        if (!this.#staging || this.#staging.version !== m.version) throw new ReplayLostError(this.#scopeText, `snapshot end ${m.version} without its start`);
        this.#chain.applySnapshot(this.#staging);
        this.#staging = undefined;
        return;
      case 'end':
        this.#chain.endAnswer(m.streamId, m.head, m.lastVersion);
        return;
      default:
        return;
    }
  }

  onRetry(error: Error, delayMs: number): void {
    this.discard();
    this.#status.emit({ type: 'error', error, retryInMs: delayMs });
  }

  /** Drops a snapshot being staged (its answer failed, or the position was dropped). */
  discard(): void {
    this.#staging = undefined;
  }

  #stage(staging: SnapshotStaging, streamId: StreamId, frames: readonly UpdateFrame[]): void {
    if (streamId !== staging.streamId) throw new ReplayLostError(this.#scopeText, 'snapshot chunks from two streams');
    staging.add(frames, (f, cause) => this.#onUndecodable(`snapshot entry version ${f.version} does not decode`, cause));
  }
}
