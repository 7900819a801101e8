import type { NatsConnection } from '@nats-io/transport-node';
import { silentLogger, toError, type Logger } from '../core/index.ts';
import { clusterSubjects, encodeUpdateBatches, parseScope, type ClusterSubjects, type Scope, type StreamId, type UpdateFrame } from '../schema/index.ts';

/** One committed update with its place in each scope's chain (what the log returns). */
export interface CommittedUpdate {
  readonly version: number;
  readonly payload: Uint8Array;
  readonly scopes: ReadonlyArray<{ readonly scope: string; readonly prevVersion: number }>;
}

/** Reads committed updates in version order, to re-send what an outage may have lost. */
export interface CommittedHistory {
  /** The newest committed version. */
  readonly head: number;
  /** Up to `limit` updates with version > `after`, in version order. */
  readHistory(after: number, limit: number): Promise<readonly CommittedUpdate[]>;
}

/**
 * Fault hooks for tests and chaos runs: a message is dropped instead of published with
 * probability `dropFraction` (as NATS drops messages for a slow consumer). Mutable: a test
 * turns it on and off while the service runs. Consumers must repair the loss by replay.
 */
export interface PublishFaults {
  dropFraction: number;
  /** A message is sent twice with this probability (as a redelivery would): consumers skip the copy. */
  duplicateFraction?: number;
  random?: () => number;
  /** Messages dropped so far. */
  dropped?: number;
  /** Messages sent twice so far. */
  duplicated?: number;
}

export interface ScopePublisherOptions {
  /** Test hook: drop a fraction of the messages (see PublishFaults). */
  faults?: PublishFaults;
  connection: NatsConnection;
  cluster: string;
  streamId: StreamId;
  history: CommittedHistory;
  /** Messages are built up to this size (several updates per message). */
  maxMessageBytes: number;
  logger?: Logger;
  /** Updates read per history page while catching up. */
  catchUpPageSize?: number;
  /**
   * The last version known to be published before this publisher (the head when the service
   * started). Anything committed after it is re-published from the log at once: a crash between
   * commit and publish leaves no version unsent.
   */
  resumeFrom?: number;
}

export interface PublisherStats {
  readonly state: 'live' | 'catching-up' | 'disconnected' | 'closed';
  /** Highest version handed to NATS. */
  readonly publishedVersion: number;
  /** Highest version the server has confirmed receiving (a flush round trip after it). */
  readonly flushedVersion: number;
  readonly messages: number;
  readonly bytes: number;
  readonly updates: number;
  readonly catchUps: number;
}

/**
 * Publishes committed updates on one NATS subject per scope (docs/design.md §3: only what the log
 * has committed is ever passed here).
 *
 * Core NATS delivers at most once, and a connection that drops loses what was in flight.
 * So the publisher tracks the highest version the server confirmed (a flush after it) and,
 * when the connection comes back, re-publishes everything committed after that version from
 * the log, in order: consumers skip versions they already have, and no version is lost. While
 * disconnected it publishes nothing, so memory does not grow with the outage: the log is the
 * backlog (docs/design.md §11).
 */
export class ScopePublisher implements AsyncDisposable {
  readonly #nc: NatsConnection;
  readonly #subjects: ClusterSubjects;
  readonly #streamId: StreamId;
  readonly #history: CommittedHistory;
  readonly #maxBytes: number;
  readonly #log: Logger;
  readonly #pageSize: number;
  readonly #scopes = new Map<string, { scope: Scope; subject: string }>();
  readonly #faults: PublishFaults | undefined;
  #state: PublisherStats['state'] = 'live';
  #published = 0;
  #flushed = 0;
  /** Highest version the service has handed over (published or not). */
  #committed = 0;
  #flushing: Promise<void> | undefined;
  #catchUp: Promise<void> | undefined;
  #stats = { messages: 0, bytes: 0, updates: 0, catchUps: 0 };

  constructor(options: ScopePublisherOptions) {
    this.#nc = options.connection;
    this.#faults = options.faults;
    this.#subjects = clusterSubjects(options.cluster);
    this.#streamId = options.streamId;
    this.#history = options.history;
    this.#maxBytes = options.maxMessageBytes;
    this.#log = (options.logger ?? silentLogger).child({ module: 'bus' });
    this.#pageSize = options.catchUpPageSize ?? 5_000;
    this.#published = this.#flushed = this.#committed = options.history.head;
    void this.#watchConnection();
    if (options.resumeFrom !== undefined && options.resumeFrom < options.history.head) {
      this.#published = this.#flushed = options.resumeFrom;
      this.#catchUp = this.#runCatchUp();
    }
  }

  stats(): PublisherStats {
    return { state: this.#state, publishedVersion: this.#published, flushedVersion: this.#flushed, ...this.#stats };
  }

  /**
   * Publishes a committed batch now if the connection is live; otherwise the catch-up after
   * the reconnect sends it from the log. Never throws for connection trouble.
   */
  publishCommitted(updates: readonly CommittedUpdate[]): void {
    if (updates.length === 0) return;
    this.#committed = Math.max(this.#committed, (updates[updates.length - 1] as CommittedUpdate).version);
    if (this.#state !== 'live') return;
    this.#send(updates);
    this.#scheduleFlush();
  }

  /** Resolves once everything handed to NATS so far is confirmed by the server. */
  async flush(): Promise<void> {
    await this.#catchUp;
    const target = this.#published;
    await this.#nc.flush();
    if (target > this.#flushed) this.#flushed = target;
  }

  close(): void {
    this.#state = 'closed';
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  #send(updates: readonly CommittedUpdate[]): void {
    const byScope = new Map<string, UpdateFrame[]>();
    for (const u of updates) {
      for (const s of u.scopes) {
        let frames = byScope.get(s.scope);
        if (!frames) byScope.set(s.scope, (frames = []));
        frames.push({ version: u.version, prevVersion: s.prevVersion, payload: u.payload });
      }
    }
    for (const [scopeName, frames] of byScope) {
      const target = this.#target(scopeName);
      const messages = encodeUpdateBatches({ streamId: this.#streamId, scope: target.scope, frames }, { maxMessageBytes: this.#maxBytes, hardLimitBytes: this.#maxPayload() });
      for (const m of messages) {
        if (this.#dropForTest()) continue;
        this.#nc.publish(target.subject, m);
        if (this.#duplicateForTest()) this.#nc.publish(target.subject, m);
        this.#stats.messages++;
        this.#stats.bytes += m.length;
      }
    }
    this.#stats.updates += updates.length;
    this.#published = Math.max(this.#published, (updates[updates.length - 1] as CommittedUpdate).version);
  }

  #dropForTest(): boolean {
    const f = this.#faults;
    if (!f || f.dropFraction <= 0 || (f.random ?? Math.random)() >= f.dropFraction) return false;
    f.dropped = (f.dropped ?? 0) + 1;
    return true;
  }

  #duplicateForTest(): boolean {
    const f = this.#faults;
    if (!f || !f.duplicateFraction || (f.random ?? Math.random)() >= f.duplicateFraction) return false;
    f.duplicated = (f.duplicated ?? 0) + 1;
    return true;
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #target(scopeName: string): { scope: Scope; subject: string } {
    let t = this.#scopes.get(scopeName);
    if (!t) {
      const scope = parseScope(scopeName);
      t = { scope, subject: this.#subjects.scope(scope) };
      this.#scopes.set(scopeName, t);
    }
    return t;
  }

  #maxPayload(): number {
    return this.#nc.info?.max_payload ?? 1024 * 1024;
  }

  /** One flush in flight at a time; each confirms everything published before it started. */
  #scheduleFlush(): void {
    if (this.#flushing) return;
    const target = this.#published;
    this.#flushing = this.#nc
      .flush()
      .then(() => {
        if (target > this.#flushed) this.#flushed = target;
      })
      .catch(() => undefined)
      .finally(() => {
        this.#flushing = undefined;
        if (this.#published > this.#flushed && this.#state === 'live') this.#scheduleFlush();
      });
  }

  async #watchConnection(): Promise<void> {
    for await (const s of this.#nc.status()) {
      if (this.#state === 'closed') return;
      if (s.type === 'disconnect') {
        this.#state = 'disconnected';
        this.#log.warn({ flushedVersion: this.#flushed, publishedVersion: this.#published }, 'NATS disconnected; committing continues, publishing resumes from the log on reconnect');
      } else if (s.type === 'reconnect') {
        this.#catchUp = this.#runCatchUp();
      }
    }
  }

  /** Re-publishes (flushedVersion, head] from the log, then goes live again. */
  async #runCatchUp(): Promise<void> {
    this.#state = 'catching-up';
    this.#stats.catchUps++;
    let after = this.#flushed;
    const from = after;
    let idleRounds = 0;
    try {
      for (;;) {
        const page = await this.#history.readHistory(after, this.#pageSize);
        if (page.length === 0) {
          // A commit handed over while this page was read is visible in the store by now.
          if (this.#committed > after && ++idleRounds < 100) continue;
          break;
        }
        idleRounds = 0;
        this.#send(page);
        after = (page[page.length - 1] as CommittedUpdate).version;
        await this.#nc.flush();
        this.#flushed = after;
        if (this.#isClosed()) return;
      }
      // Single-threaded: no commit can slip in between this check and going live.
      this.#state = 'live';
      this.#log.info({ from, to: after }, 'NATS reconnected; re-published committed updates');
    } catch (err) {
      this.#state = 'disconnected';
      this.#log.warn({ err: toError(err) }, 'catch-up after reconnect failed; retrying on the next reconnect');
    }
  }
}
