import { Backoff, systemClock, toError, type BackoffOptions, type Clock } from '../core/index.ts';
import {
  RequestErrorCode,
  clusterSubjects,
  formatScope,
  readUpdateBatch,
  scopeEquals,
  type ReplayMessage,
  type Scope,
  type StreamId,
  type UpdateBatchFrames,
  type UpdateFrame,
  type Version,
} from '../schema/index.ts';
import { readHeartbeat, type Heartbeat, type SdkConnection, type SdkMsg } from './connection.ts';
import { BadMessageError, ClientClosedError, ReplayLostError, ReplayRefusedError, SdkInvalidArgumentError } from './errors.ts';
import { ChainBuffer } from './chain-buffer.ts';
import type { AppliedUpdate, ScopeSink } from './local-state.ts';
import type { ReplayClient, ReplayHandler } from './replay-client.ts';
import { SnapshotStaging, decodeApplied } from './snapshot-staging.ts';
import type { BootstrapReason, StatusHub } from './status.ts';
import { Waiters } from './waiters.ts';


/**
 * How long heartbeats must keep showing a head behind the position before the client decides
 * the service's store went back. Longer than a heartbeat can be in flight behind a replay answer.
 */
const REWIND_CONFIRM_MS = 3_000;

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
 */
export class ScopeSubscription {
  readonly #nc: SdkConnection;
  readonly #subject: string;
  readonly #scope: Scope;
  readonly #scopeText: string;
  readonly #sink: ScopeSink;
  readonly #replay: ReplayClient;
  readonly #status: StatusHub;
  readonly #clock: Clock;
  readonly #errorBackoff: BackoffOptions;
  readonly #heartbeatGraceMs: number;
  readonly #closer = new AbortController();
  readonly #buffer: ChainBuffer;
  readonly #waiters = new Waiters();
  #state: ScopeSubscriptionState = 'idle';
  #streamId: StreamId | undefined;
  #position: Version = 0;
  #latestHead: Version = 0;
  #connected = true;
  #inSync = false;
  #sub: { unsubscribe(): void } | undefined;
  #looping = false;
  #loopDone: Promise<void> = Promise.resolve();
  #replayWanted = false;
  #bootstrapReason: BootstrapReason = 'new';
  /** When heartbeats started to show a head behind the position (see #onHeartbeat). */
  #behindSince: number | undefined;
  #attempt: AbortController | undefined;
  #staging: SnapshotStaging | undefined;
  #heartbeatCheck = false;
  readonly #stats = { applied: 0, duplicates: 0, gaps: 0, bufferOverflows: 0, replays: 0, snapshots: 0, streamResets: 0, badMessages: 0, heartbeats: 0 };

  constructor(options: ScopeSubscriptionOptions) {
    this.#nc = options.connection;
    this.#scope = options.scope;
    this.#scopeText = formatScope(options.scope);
    this.#subject = clusterSubjects(options.cluster).scope(options.scope);
    this.#sink = options.sink;
    this.#replay = options.replay;
    this.#status = options.status;
    this.#clock = options.clock ?? systemClock;
    const maxBuffered = options.maxBufferedUpdates ?? 10_000;
    if (!Number.isInteger(maxBuffered) || maxBuffered < 1) {
      throw new SdkInvalidArgumentError('maxBufferedUpdates', `must be a positive integer, got ${maxBuffered}`);
    }
    this.#buffer = new ChainBuffer(maxBuffered);
    this.#errorBackoff = { initialMs: 500, maxMs: 30_000, jitter: 0.5, ...options.errorBackoff };
    this.#heartbeatGraceMs = options.heartbeatGraceMs ?? 250;
    if (options.resume) {
      this.#streamId = options.resume.streamId;
      this.#position = options.resume.position;
    }
  }

  get state(): ScopeSubscriptionState {
    return this.#state;
  }
  get streamId(): StreamId | undefined {
    return this.#streamId;
  }
  /** The last version applied on the scope (0: none). */
  get position(): Version {
    return this.#position;
  }
  /** The newest head seen in batches, heartbeats and replay answers. */
  get latestHead(): Version {
    return this.#latestHead;
  }
  /** Versions between the position and the newest head seen (0 when caught up). */
  get lag(): number {
    return Math.max(0, this.#latestHead - this.#position);
  }
  /** Bootstrapped, connected, no replay running, nothing buffered, at the newest head seen. */
  get inSync(): boolean {
    return this.#inSync;
  }
  stats(): SubscriptionStats {
    return { ...this.#stats, buffered: this.#buffer.size };
  }

  /** Subscribes to the scope subject, then bootstraps (wire-protocol §6 step 1 and 2). */
  start(): void {
    if (this.#state !== 'idle') throw new SdkInvalidArgumentError('start', `the subscription is ${this.#state}`);
    this.#state = 'running';
    this.#sub = this.#nc.subscribe(this.#subject, { callback: (err, msg) => this.#onMessage(err, msg) });
    this.#wantReplay();
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
    if (this.#streamId !== undefined) this.#status.emit({ type: 'gap', reason: 'reconnect', position: this.#position, seen: this.#latestHead });
    this.#wantReplay();
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
    if (this.#state === 'running' && this.#streamId !== undefined && streamId !== this.#streamId) this.#streamReset(streamId);
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
    await this.#loopDone;
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
    if (this.#streamId !== undefined && batch.streamId !== this.#streamId) this.#streamReset(batch.streamId);
    const frames = batch.frames;
    if (this.#streamId === undefined || this.#looping) {
      // A replay is in flight (or must start): hold the frames; the loop applies what chains
      // on after the answer, and replays again only if a hole remains.
      this.#bufferFrames(batch.streamId, frames, 0);
      if (!this.#looping) this.#wantReplay();
      return;
    }
    this.#latestHead = Math.max(this.#latestHead, (frames[frames.length - 1] as UpdateFrame).version);
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i] as UpdateFrame;
      if (f.version <= this.#position) this.#stats.duplicates++;
      else if (f.prevVersion === this.#position) this.#applyFrame(f);
      else {
        this.#gap('chain', f.version);
        this.#bufferFrames(batch.streamId, frames, i);
        this.#wantReplay();
        return;
      }
    }
    this.#updateInSync();
  }

  #onHeartbeat(hb: Heartbeat): void {
    this.#stats.heartbeats++;
    if (this.#streamId !== undefined && hb.streamId !== this.#streamId) return this.#streamReset(hb.streamId);
    if (this.#streamId === undefined) return; // bootstrapping: the answer brings the head
    if (hb.head < this.#position) {
      // The same stream, but its head is behind what we applied. One such heartbeat proves
      // nothing: it may have been published before the replay answer that moved our position
      // was read (the answer comes on our inbox, the heartbeat on the scope subject: no order
      // between them). Heartbeats still behind REWIND_CONFIRM_MS later mean the service's store
      // went back (restored from an older copy): the versions after its head will be issued
      // again for other updates, which we would skip as duplicates. Bootstrap by snapshot.
      const now = this.#clock.now();
      this.#behindSince ??= now;
      if (now - this.#behindSince >= REWIND_CONFIRM_MS && !this.#looping) {
        this.#behindSince = undefined;
        this.#dropPosition('versionInFuture');
        this.#wantReplay();
      }
      return;
    }
    this.#behindSince = undefined;
    this.#latestHead = Math.max(this.#latestHead, hb.head);
    if (hb.head > this.#position && !this.#looping) this.#checkHeadLater();
    this.#updateInSync();
  }

  /** After the grace period, a head still beyond the position is a gap: replay (§6 heartbeats). */
  #checkHeadLater(): void {
    if (this.#heartbeatCheck) return;
    this.#heartbeatCheck = true;
    const check = (): void => {
      this.#heartbeatCheck = false;
      if (this.#state !== 'running' || this.#streamId === undefined || this.#looping || this.#position >= this.#latestHead) return;
      this.#gap('heartbeat', this.#latestHead);
      this.#wantReplay();
    };
    if (this.#heartbeatGraceMs === 0) return check();
    this.#clock.sleep(this.#heartbeatGraceMs, this.#closer.signal).then(check, () => (this.#heartbeatCheck = false));
  }

  #bufferFrames(streamId: StreamId, frames: readonly UpdateFrame[], from: number): void {
    if (this.#buffer.hold(streamId, frames, from)) return;
    // Bounded (habit 7): everything held was dropped; count it and replay to the head.
    this.#stats.bufferOverflows++;
    this.#gap('overflow', (frames[frames.length - 1] as UpdateFrame).version);
    this.#replayWanted = true;
  }

  /** After a replay: apply what chains on, in version order; a remaining hole means replay again. */
  #drainBuffer(): void {
    if (this.#streamId === undefined) return;
    const apply = (f: UpdateFrame): Version => (this.#applyFrame(f), this.#position);
    const outcome = this.#buffer.drain(this.#streamId, this.#position, apply, () => this.#stats.duplicates++);
    if (outcome.kind === 'otherStream') {
      // Held while bootstrapping, but the state came from another stream: that stream is over.
      this.#streamReset(outcome.streamId);
    } else if (outcome.kind === 'gap') {
      this.#gap('chain', outcome.version);
      this.#replayWanted = true;
    }
  }

  #applyFrame(f: UpdateFrame): void {
    let update: AppliedUpdate | undefined;
    try {
      update = decodeApplied(f);
    } catch (cause) {
      // An update this SDK cannot read (a newer schema's kind): skip it but keep the chain,
      // otherwise every later update would look like a gap.
      this.#badMessage(`update version ${f.version} does not decode`, cause);
    }
    if (update) {
      this.#sink.apply(update);
      this.#stats.applied++;
    }
    this.#position = f.version;
    this.#sink.setPosition(this.#streamId, f.version);
  }

  // ---- replay ----------------------------------------------------------------------------

  #wantReplay(): void {
    if (this.#state !== 'running') return;
    this.#replayWanted = true;
    if (this.#looping) return;
    this.#looping = true;
    this.#updateInSync();
    this.#loopDone = this.#replayLoop().catch((err: unknown) => {
      this.#status.emit({ type: 'error', error: toError(err), retryInMs: undefined });
    });
  }

  /** Replays until nothing is missing; one loop at a time (#looping). */
  async #replayLoop(): Promise<void> {
    const backoff = new Backoff(this.#errorBackoff);
    try {
      while (this.#replayWanted && this.#state === 'running') {
        this.#replayWanted = false;
        const before = { position: this.#position, streamId: this.#streamId };
        if (!(await this.#replayOnce(backoff))) continue;
        this.#drainBuffer();
        if (!this.#replayWanted && this.#position < this.#latestHead) {
          this.#replayWanted = true;
          // A head announced but not yet served: do not spin, wait a little first.
          if (this.#position === before.position && this.#streamId === before.streamId) await this.#clock.sleep(backoff.next(), this.#closer.signal);
        }
      }
    } catch (err) {
      if (this.#state === 'running') throw err;
    } finally {
      this.#looping = false;
      this.#updateInSync();
    }
  }

  /** One replay to the head. False when it failed (and the loop should go round again). */
  async #replayOnce(backoff: Backoff): Promise<boolean> {
    const bootstrap = this.#streamId === undefined;
    if (bootstrap) this.#status.emit({ type: 'bootstrapStarted', reason: this.#bootstrapReason });
    this.#status.emit({ type: 'replayStarted', after: bootstrap ? 0 : this.#position, bootstrap });
    this.#stats.replays++;
    const attempt = new AbortController();
    this.#attempt = attempt;
    const started = this.#clock.now();
    try {
      const r = await this.#replay.run(this.#scope, this.#handler, AbortSignal.any([this.#closer.signal, attempt.signal]));
      this.#status.emit({
        type: 'replayDone', position: this.#position, head: r.head, requests: r.requests, updates: r.updates, durationMs: this.#clock.now() - started,
      });
      backoff.reset();
      return true;
    } catch (err) {
      this.#staging = undefined;
      if (this.#state !== 'running') throw err;
      this.#replayWanted = true;
      if (attempt.signal.aborted) return false; // a stream reset restarted the bootstrap
      if (err instanceof ReplayRefusedError && err.requestErrorCode === RequestErrorCode.VERSION_IN_FUTURE) {
        // Our position is beyond the service's head: state from another store (§7). Start over.
        this.#dropPosition('versionInFuture');
        return false;
      }
      const delayMs = backoff.next();
      this.#status.emit({ type: 'error', error: toError(err), retryInMs: delayMs });
      await this.#clock.sleep(delayMs, this.#closer.signal);
      return false;
    } finally {
      this.#attempt = undefined;
    }
  }

  readonly #handler: ReplayHandler = {
    position: () => (this.#streamId === undefined ? { after: 0, knownStreamId: undefined } : { after: this.#position, knownStreamId: this.#streamId }),
    onMessage: (m) => this.#onReplayMessage(m),
    onRetry: (error, delayMs) => {
      this.#staging = undefined;
      this.#status.emit({ type: 'error', error, retryInMs: delayMs });
    },
  };

  #onReplayMessage(m: ReplayMessage): void {
    if (m.sequence === 0) this.#staging = undefined; // a new answer: nothing of a failed one counts
    switch (m.type) {
      case 'snapshotStart':
        this.#staging = new SnapshotStaging(m.version, m.streamId, this.#clock.now());
        return;
      case 'updates':
        if (this.#staging) this.#stage(this.#staging, m.streamId, m.frames);
        else this.#applyTail(m.streamId, m.frames);
        return;
      case 'snapshotEnd':
        if (!this.#staging || this.#staging.version !== m.version) throw new ReplayLostError(this.#scopeText, `snapshot end ${m.version} without its start`);
        this.#applySnapshot(this.#staging);
        this.#staging = undefined;
        return;
      case 'end':
        if (m.streamId !== this.#streamId) throw new ReplayLostError(this.#scopeText, `an answer from stream ${m.streamId} without a snapshot`);
        this.#latestHead = Math.max(this.#latestHead, m.head);
        if (m.lastVersion > this.#position) {
          this.#position = m.lastVersion; // §6 step 2: the answer brought us there
          this.#sink.setPosition(this.#streamId, this.#position);
        }
        return;
      default:
        return;
    }
  }

  #stage(staging: SnapshotStaging, streamId: StreamId, frames: readonly UpdateFrame[]): void {
    if (streamId !== staging.streamId) throw new ReplayLostError(this.#scopeText, 'snapshot chunks from two streams');
    staging.add(frames, (f, cause) => this.#badMessage(`snapshot entry version ${f.version} does not decode`, cause));
  }

  /**
   * Tail updates of an answer: the service sends exactly the updates after our `after`, so the
   * first may chain on a version below the position (one not on this scope's chain); after
   * that each chains on the one before. Anything else means the answer is broken: ask again.
   */
  #applyTail(streamId: StreamId, frames: readonly UpdateFrame[]): void {
    if (streamId !== this.#streamId) throw new ReplayLostError(this.#scopeText, `tail from stream ${streamId} while the state is from ${this.#streamId ?? 'none'}`);
    for (const f of frames) {
      if (f.version <= this.#position) this.#stats.duplicates++;
      else if (f.prevVersion <= this.#position) this.#applyFrame(f);
      else throw new ReplayLostError(this.#scopeText, `tail update ${f.version} follows ${f.prevVersion}, not ${this.#position}`);
    }
  }

  #applySnapshot(staging: SnapshotStaging): void {
    const from = this.#streamId;
    if (from !== undefined && from !== staging.streamId) {
      this.#stats.streamResets++;
      this.#status.emit({ type: 'streamReset', from, to: staging.streamId });
    }
    this.#sink.applySnapshot(staging.entries, staging.version, staging.streamId);
    if (from !== staging.streamId) this.#latestHead = 0;
    this.#streamId = staging.streamId;
    this.#position = staging.version;
    this.#latestHead = Math.max(this.#latestHead, staging.version);
    this.#stats.snapshots++;
    this.#bootstrapReason = 'new';
    this.#status.emit({
      type: 'snapshotApplied', version: staging.version, streamId: staging.streamId, objects: staging.entries.length, durationMs: this.#clock.now() - staging.startedMs,
    });
  }

  // ---- resets and bookkeeping ------------------------------------------------------------

  /** The service's stream changed (docs/design.md §7): the position means nothing; bootstrap again. */
  #streamReset(to: StreamId): void {
    this.#stats.streamResets++;
    this.#status.emit({ type: 'streamReset', from: this.#streamId, to });
    this.#dropPosition('streamReset');
    this.#attempt?.abort(new ReplayLostError(this.#scopeText, 'the stream id changed'));
    this.#wantReplay();
  }

  /** Forget the position (the state stays visible until the snapshot replaces it). */
  #dropPosition(reason: BootstrapReason): void {
    this.#streamId = undefined;
    this.#position = 0;
    this.#latestHead = 0;
    this.#buffer.clear();
    this.#staging = undefined;
    this.#bootstrapReason = reason;
    this.#sink.setPosition(undefined, 0);
    this.#updateInSync();
  }

  #gap(reason: 'chain' | 'heartbeat' | 'overflow', seen: Version): void {
    this.#stats.gaps++;
    this.#status.emit({ type: 'gap', reason, position: this.#position, seen });
  }

  #badMessage(problem: string, cause?: unknown): void {
    this.#stats.badMessages++;
    this.#status.emit({ type: 'error', error: new BadMessageError(this.#subject, problem, cause === undefined ? undefined : { cause }), retryInMs: undefined });
  }

  #updateInSync(): void {
    const now = this.#state === 'running' && this.#connected && this.#streamId !== undefined && !this.#looping &&
      this.#buffer.size === 0 && this.#position >= this.#latestHead;
    if (now && !this.#inSync) {
      this.#inSync = true;
      this.#status.emit({ type: 'inSync', position: this.#position, head: this.#latestHead });
      this.#waiters.resolveAll();
      return;
    }
    this.#inSync = now;
  }
}
