import { systemClock, type BackoffOptions, type Clock } from '../core/index.ts';
import {
  clusterSubjects,
  formatScope,
  readUpdateBatch,
  scopeEquals,
  type Scope,
  type StreamId,
  type UpdateBatchFrames,
  type UpdateFrame,
  type Version,
} from '../schema/index.ts';
import { AnswerApplier } from './answer-applier.ts';
import { ChainBuffer } from './chain-buffer.ts';
import { ChainTracker } from './chain-tracker.ts';
import { readHeartbeat, type Heartbeat, type SdkConnection, type SdkMsg } from './connection.ts';
import { BadMessageError, ClientClosedError, SdkInvalidArgumentError } from './errors.ts';
import type { ScopeSink } from './local-state.ts';
import type { ReplayClient } from './replay-client.ts';
import { ReplayDriver } from './replay-driver.ts';
import type { BootstrapReason, StatusHub } from './status.ts';
import { Waiters } from './waiters.ts';

export interface ScopeSubscriptionOptions {
  connection: SdkConnection;
  cluster: string;
  scope: Scope;
  sink: ScopeSink;
  replay: ReplayClient;
  status: StatusHub;
  clock?: Clock;
  /** Out-of-order updates held while a gap is repaired (default 10,000); overflow drops them all. */
  maxBufferedUpdates?: number;
  /** Resume from persisted state: a tail replay after `position` instead of a snapshot. */
  resume?: { readonly streamId: StreamId; readonly position: Version };
  /** Backoff after failed replays (default 500 ms doubling to 30 s, jitter 0.5). */
  errorBackoff?: BackoffOptions;
  /**
   * How long a heartbeat's head may stay ahead of the position before it counts as a gap
   * (default 250 ms). Heartbeats and batches may travel on different connections, so a
   * heartbeat can overtake the batch it announces; the grace avoids needless replays.
   */
  heartbeatGraceMs?: number;
}

export type ScopeSubscriptionState = 'idle' | 'running' | 'closed';

export interface SubscriptionStats {
  readonly applied: number;
  readonly duplicates: number;
  readonly gaps: number;
  readonly bufferOverflows: number;
  readonly buffered: number;
  readonly replays: number;
  readonly snapshots: number;
  readonly streamResets: number;
  readonly badMessages: number;
  readonly heartbeats: number;
}

/**
 * Keeps one scope's local state in step with the service (wire-protocol §6).
 *
 * Subscribe first, then bootstrap by replay; apply updates in version order; skip versions at
 * or below the position (duplicates: at-least-once delivery, replay overlap, docs/design.md §3); an
 * update whose prevVersion is not the position is a gap (docs/design.md §2): it and what follows are
 * held in a bounded buffer while the missing range is replayed, then applied if they chain on
 * (overflow drops the buffer, counts it and replays to the head). A heartbeat whose head is
 * beyond the position, or a NATS reconnect, also triggers a tail replay. A different stream id
 * (docs/design.md §7) makes the position worthless: the state is re-bootstrapped by snapshot, never
 * compared by version, and a `streamReset` status says so. Failed replays are retried with
 * backoff forever (the service may be restarting); the subscription only stops on close().
 *
 * All of it runs on the event loop: live messages are handled synchronously in the NATS
 * callback and only buffered while a replay is in flight, so applies never interleave.
 *
 * The parts: ChainTracker (position, in-order apply, gaps and rewinds), ChainBuffer (what
 * arrives while a replay runs), ReplayDriver (the replay loop with backoff) and AnswerApplier
 * (replay answers, snapshots staged until complete). This class routes live messages to them
 * and owns the lifecycle and the in-sync state.
 */
export class ScopeSubscription implements AsyncDisposable {
  readonly #connection: SdkConnection;
  readonly #subject: string;
  readonly #scope: Scope;
  readonly #scopeText: string;
  readonly #status: StatusHub;
  readonly #clock: Clock;
  readonly #heartbeatGraceMs: number;
  readonly #closer = new AbortController();
  readonly #waiters = new Waiters();
  readonly #chain: ChainTracker;
  readonly #buffer: ChainBuffer;
  readonly #answers: AnswerApplier;
  readonly #replayer: ReplayDriver;
  #state: ScopeSubscriptionState = 'idle';
  #connected = true;
  #inSync = false;
  #sub: { unsubscribe(): void } | undefined;
  #heartbeatCheck = false;
  readonly #counts = { gaps: 0, bufferOverflows: 0, streamResets: 0, badMessages: 0, heartbeats: 0 };

  constructor(options: ScopeSubscriptionOptions) {
    this.#connection = options.connection;
    this.#scope = options.scope;
    this.#scopeText = formatScope(options.scope);
    this.#subject = clusterSubjects(options.cluster).scope(options.scope);
    this.#status = options.status;
    this.#clock = options.clock ?? systemClock;
    const maxBuffered = options.maxBufferedUpdates ?? 10_000;
    if (!Number.isInteger(maxBuffered) || maxBuffered < 1) {
      throw new SdkInvalidArgumentError('maxBufferedUpdates', `must be a positive integer, got ${maxBuffered}`);
    }
    this.#buffer = new ChainBuffer(maxBuffered);
    this.#heartbeatGraceMs = options.heartbeatGraceMs ?? 250;
    const onUndecodable = (problem: string, cause: unknown): void => this.#badMessage(problem, cause);
    const parts = { status: options.status, clock: this.#clock, scopeText: this.#scopeText, onUndecodable };
    this.#chain = new ChainTracker({ ...parts, sink: options.sink, resume: options.resume });
    this.#answers = new AnswerApplier({ ...parts, chain: this.#chain });
    this.#replayer = new ReplayDriver({
      replay: options.replay, scope: options.scope, scopeText: this.#scopeText, chain: this.#chain, answers: this.#answers,
      status: options.status, clock: this.#clock, closed: this.#closer.signal,
      errorBackoff: { initialMs: 500, maxMs: 30_000, jitter: 0.5, ...options.errorBackoff },
      isRunning: () => this.#state === 'running',
      afterAnswer: () => this.#applyHeld(),
      onVersionInFuture: () => this.#dropPosition('versionInFuture'),
      onRunningChange: () => this.#updateInSync(),
    });
  }

  get state(): ScopeSubscriptionState {
    return this.#state;
  }
  get streamId(): StreamId | undefined {
    return this.#chain.streamId;
  }
  /** The last version applied on the scope (0: none). */
  get position(): Version {
    return this.#chain.position;
  }
  /** The newest head seen in batches, heartbeats and replay answers. */
  get latestHead(): Version {
    return this.#chain.latestHead;
  }
  /** Versions between the position and the newest head seen (0 when caught up). */
  get lag(): number {
    return Math.max(0, this.#chain.latestHead - this.#chain.position);
  }
  /** Bootstrapped, connected, no replay running, nothing buffered, at the newest head seen. */
  get inSync(): boolean {
    return this.#inSync;
  }
  stats(): SubscriptionStats {
    const chain = this.#chain.counts();
    return {
      ...this.#counts, applied: chain.applied, duplicates: chain.duplicates, snapshots: chain.snapshots,
      streamResets: this.#counts.streamResets + chain.streamResets, replays: this.#replayer.replays, buffered: this.#buffer.size,
    };
  }

  /** Subscribes to the scope subject, then bootstraps (wire-protocol §6 step 1 and 2). */
  start(): void {
    if (this.#state !== 'idle') throw new SdkInvalidArgumentError('start', `the subscription is ${this.#state}`);
    this.#state = 'running';
    this.#sub = this.#connection.subscribe(this.#subject, { callback: (err, msg) => this.#onMessage(err, msg) });
    this.#replayer.want();
  }

  /** Resolves when in sync; rejects on close or when `signal` aborts. */
  whenInSync(signal?: AbortSignal): Promise<void> {
    if (this.#inSync) return Promise.resolve();
    if (this.#state === 'closed') return Promise.reject(new ClientClosedError(`subscription to ${this.#scopeText}`));
    return this.#waiters.wait(signal);
  }

  /** NATS came back: what was published meanwhile is lost, so replay the tail. */
  onReconnect(): void {
    this.#connected = true;
    if (this.#state !== 'running') return;
    if (this.#chain.streamId !== undefined) this.#status.emit({ type: 'gap', reason: 'reconnect', position: this.#chain.position, seen: this.#chain.latestHead });
    this.#replayer.want();
  }

  onDisconnect(): void {
    this.#connected = false;
    this.#updateInSync();
  }

  /**
   * Another source (the agent registry) says the service's stream is `streamId`: a state from
   * another stream is dropped now rather than at the next message.
   */
  noteStreamId(streamId: StreamId): void {
    const current = this.#chain.streamId;
    if (this.#state === 'running' && current !== undefined && streamId !== current) this.#streamReset(streamId);
  }

  /** Stops now: unsubscribes, abandons a replay in flight, rejects whenInSync waiters. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#sub?.unsubscribe();
    this.#closer.abort(new ClientClosedError(`subscription to ${this.#scopeText}`));
    this.#buffer.clear();
    this.#inSync = false;
    this.#waiters.rejectAll(new ClientClosedError(`subscription to ${this.#scopeText}`));
    await this.#replayer.settled();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- live messages -------------------------------------------------------------------

  #onMessage(err: Error | null, msg: SdkMsg): void {
    if (this.#state !== 'running') return;
    if (err) return this.#status.emit({ type: 'error', error: err, retryInMs: undefined });
    const heartbeat = readHeartbeat(msg);
    if (heartbeat === 'invalid') return this.#badMessage('a heartbeat without valid kubemeta-stream/kubemeta-head headers');
    if (heartbeat) return this.#onHeartbeat(heartbeat);
    let batch: UpdateBatchFrames;
    try {
      batch = readUpdateBatch(msg.data);
    } catch (cause) {
      return this.#badMessage('not an UpdateBatch', cause);
    }
    if (!scopeEquals(batch.scope, this.#scope)) return this.#badMessage(`a batch for scope ${formatScope(batch.scope)}`);
    this.#onBatch(batch);
  }

  #onBatch(batch: UpdateBatchFrames): void {
    const known = this.#chain.streamId;
    if (known !== undefined && batch.streamId !== known) this.#streamReset(batch.streamId);
    const frames = batch.frames;
    if (this.#chain.streamId === undefined || this.#replayer.running) {
      // A replay is in flight (or must start): hold the frames; the loop applies what chains
      // on after the answer, and replays again only if a hole remains.
      this.#hold(batch.streamId, frames, 0);
      if (!this.#replayer.running) this.#replayer.want();
      return;
    }
    const gapAt = this.#chain.applyLive(frames);
    const first = frames[gapAt];
    if (first) {
      this.#gap('chain', first.version);
      this.#hold(batch.streamId, frames, gapAt);
      this.#replayer.want();
      return;
    }
    this.#updateInSync();
  }

  #onHeartbeat(hb: Heartbeat): void {
    this.#counts.heartbeats++;
    const known = this.#chain.streamId;
    if (known !== undefined && hb.streamId !== known) return this.#streamReset(hb.streamId);
    if (known === undefined) return; // bootstrapping: the answer brings the head
    const verdict = this.#chain.heartbeatHead(hb.head, !this.#replayer.running);
    if (verdict === 'rewound') {
      // The service's store went back: bootstrap by snapshot.
      this.#dropPosition('versionInFuture');
      this.#replayer.want();
    }
    if (verdict !== 'current') return;
    if (hb.head > this.#chain.position && !this.#replayer.running) this.#checkHeadLater();
    this.#updateInSync();
  }

  /** After the grace period, a head still beyond the position is a gap: replay (§6 heartbeats). */
  #checkHeadLater(): void {
    if (this.#heartbeatCheck) return;
    this.#heartbeatCheck = true;
    const check = (): void => {
      this.#heartbeatCheck = false;
      const chain = this.#chain;
      if (this.#state !== 'running' || chain.streamId === undefined || this.#replayer.running || chain.position >= chain.latestHead) return;
      this.#gap('heartbeat', chain.latestHead);
      this.#replayer.want();
    };
    if (this.#heartbeatGraceMs === 0) return check();
    this.#clock.sleep(this.#heartbeatGraceMs, this.#closer.signal).then(check, () => (this.#heartbeatCheck = false));
  }

  #hold(streamId: StreamId, frames: readonly UpdateFrame[], from: number): void {
    if (this.#buffer.hold(streamId, frames, from)) return;
    // Bounded (habit 7): everything held was dropped; count it and replay to the head.
    this.#counts.bufferOverflows++;
    const last = frames[frames.length - 1];
    this.#gap('overflow', last ? last.version : this.#chain.latestHead);
    this.#replayer.wantAnotherRound();
  }

  /** After a replay: apply what chains on, in version order; a remaining hole means replay again. */
  #applyHeld(): void {
    const outcome = this.#chain.applyHeld(this.#buffer);
    if (outcome.kind === 'otherStream') {
      // Held while bootstrapping, but the state came from another stream: that stream is over.
      this.#streamReset(outcome.streamId);
    } else if (outcome.kind === 'gap') {
      this.#gap('chain', outcome.version);
      this.#replayer.wantAnotherRound();
    }
  }

  // ---- resets and bookkeeping ------------------------------------------------------------

  /** The service's stream changed (docs/design.md §7): the position means nothing; bootstrap again. */
  #streamReset(to: StreamId): void {
    this.#counts.streamResets++;
    this.#status.emit({ type: 'streamReset', from: this.#chain.streamId, to });
    this.#dropPosition('streamReset');
    this.#replayer.abandonAttempt();
    this.#replayer.want();
  }

  /** Forget the position (the state stays visible until the snapshot replaces it). */
  #dropPosition(reason: BootstrapReason): void {
    this.#chain.drop(reason);
    this.#buffer.clear();
    this.#answers.discard();
    this.#updateInSync();
  }

  #gap(reason: 'chain' | 'heartbeat' | 'overflow', seen: Version): void {
    this.#counts.gaps++;
    this.#status.emit({ type: 'gap', reason, position: this.#chain.position, seen });
  }

  #badMessage(problem: string, cause?: unknown): void {
    this.#counts.badMessages++;
    this.#status.emit({ type: 'error', error: new BadMessageError(this.#subject, problem, cause === undefined ? undefined : { cause }), retryInMs: undefined });
  }

  #updateInSync(): void {
    const chain = this.#chain;
    const now = this.#state === 'running' && this.#connected && chain.streamId !== undefined && !this.#replayer.running &&
      this.#buffer.size === 0 && chain.position >= chain.latestHead;
    if (now && !this.#inSync) {
      this.#inSync = true;
      this.#status.emit({ type: 'inSync', position: chain.position, head: chain.latestHead });
      this.#waiters.resolveAll();
      return;
    }
    this.#inSync = now;
  }
}
