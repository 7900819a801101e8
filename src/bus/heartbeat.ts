import { headers, type NatsConnection } from '@nats-io/transport-node';
import { InvalidArgumentError, isAbortError, silentLogger, systemClock, toError, type Clock, type Logger } from '../core/index.ts';
import { clusterSubjects, parseScope, parseStreamId, type ClusterSubjects, type StreamId } from '../schema/index.ts';
import type { PublisherStats } from './publisher.ts';

/** NATS header of a heartbeat: the stream id (wire protocol §6.1). */
export const HEARTBEAT_STREAM_HEADER = 'kubemeta-stream';
/** NATS header of a heartbeat: the scope's head version, decimal (wire protocol §6.1). */
export const HEARTBEAT_HEAD_HEADER = 'kubemeta-head';

/** Where scope heads come from (the UpdateLog satisfies it). */
export interface ScopeHeads {
  /** Every scope that ever had an update. */
  scopes(): string[];
  scopeHead(scope: string): number;
}

export interface ScopeHeartbeatOptions {
  connection: NatsConnection;
  cluster: string;
  streamId: string;
  heads: ScopeHeads;
  /**
   * The publisher of the live stream. When given, heartbeats pause while it is not live, and a
   * scope whose head is above its publishedVersion is skipped this round, so a heartbeat never
   * announces a version before the update itself went out (fewer needless replays).
   */
  publisher?: { stats(): Pick<PublisherStats, 'state' | 'publishedVersion'> };
  /** Every scope gets one heartbeat per interval (default 5,000 ms). */
  intervalMs?: number;
  /** The scopes are spread over this many ticks per interval (default 50). */
  ticksPerInterval?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface HeartbeatStats {
  readonly state: 'created' | 'running' | 'closed';
  readonly messages: number;
  readonly bytes: number;
  /** Completed passes over all scopes. */
  readonly rounds: number;
  /** Immediate passes over all scopes (start, reconnect). */
  readonly fullRounds: number;
  /** Scopes skipped because their head was not published yet. */
  readonly skipped: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Scope heartbeats (wire protocol §6.1). Gap detection by prev_version (§6) notices a lost
 * message only when the next update on the scope arrives; a quiet scope whose last update was
 * lost would stay wrong. So every `intervalMs`, each scope that ever had an update gets a
 * message with an EMPTY payload and the headers `kubemeta-stream: <stream id>` and
 * `kubemeta-head: <the scope's head version>`. A consumer whose position is below the head
 * replays (docs/design.md §4); one from another stream bootstraps again (§7).
 *
 * Cost stays bounded (docs/design.md §11: fan-out is NATS's job): one small message per scope per
 * interval, spread evenly over `ticksPerInterval` ticks (5,000 node scopes at 5 s = 1,000
 * messages/s, about 20 per 100 ms tick). After start and after every NATS reconnect, every
 * scope gets one heartbeat at once, so consumers that lost messages during the outage notice.
 */
export class ScopeHeartbeat {
  readonly #nc: NatsConnection;
  readonly #subjects: ClusterSubjects;
  readonly #streamId: StreamId;
  readonly #heads: ScopeHeads;
  readonly #publisher: ScopeHeartbeatOptions['publisher'];
  readonly #intervalMs: number;
  readonly #ticks: number;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #subjectOf = new Map<string, string | null>();
  readonly #stop = new AbortController();
  #state: HeartbeatStats['state'] = 'created';
  #loop: Promise<void> | undefined;
  #round: string[] = [];
  #cursor = 0;
  #fullRoundDue = true;
  readonly #stats = { messages: 0, bytes: 0, rounds: 0, fullRounds: 0, skipped: 0 };

  constructor(options: ScopeHeartbeatOptions) {
    this.#nc = options.connection;
    this.#subjects = clusterSubjects(options.cluster);
    this.#streamId = parseStreamId(options.streamId);
    this.#heads = options.heads;
    this.#publisher = options.publisher;
    this.#intervalMs = options.intervalMs ?? 5_000;
    this.#ticks = options.ticksPerInterval ?? 50;
    if (!Number.isInteger(this.#intervalMs) || this.#intervalMs < 1) throw new InvalidArgumentError('heartbeat intervalMs', `must be a positive integer, got ${this.#intervalMs}`);
    if (!Number.isInteger(this.#ticks) || this.#ticks < 1) throw new InvalidArgumentError('heartbeat ticksPerInterval', `must be a positive integer, got ${this.#ticks}`);
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? silentLogger).child({ module: 'bus', component: 'heartbeat' });
  }

  stats(): HeartbeatStats {
    return { state: this.#state, ...this.#stats };
  }

  /** Starts the heartbeat loop (and a full round at once). Idempotent. */
  start(): void {
    if (this.#state !== 'created') return;
    this.#state = 'running';
    this.#loop = this.#run();
    void this.#watchConnection();
  }

  /** Stops the loop; resolves when it has stopped. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#stop.abort();
    await this.#loop;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Sends one heartbeat for every known scope now; returns how many went out. */
  beatAll(): number {
    let sent = 0;
    for (const scope of this.#heads.scopes()) if (this.#beat(scope)) sent++;
    this.#stats.fullRounds++;
    return sent;
  }

  async #run(): Promise<void> {
    const tickMs = this.#intervalMs / this.#ticks;
    try {
      for (;;) {
        if (this.#canPublish()) this.#tick();
        await this.#clock.sleep(tickMs, this.#stop.signal);
      }
    } catch (err) {
      if (!isAbortError(err) && !this.#stop.signal.aborted) this.#logger.error({ err: toError(err) }, 'heartbeat loop stopped');
    }
  }

  /** The full round when due, then this tick's share of the spread round. */
  #tick(): void {
    if (this.#fullRoundDue) {
      this.#fullRoundDue = false;
      this.beatAll();
    }
    if (this.#cursor >= this.#round.length) {
      this.#round = this.#heads.scopes();
      this.#cursor = 0;
    }
    const share = Math.ceil(this.#round.length / this.#ticks);
    for (let i = 0; i < share && this.#cursor < this.#round.length; i++) this.#beat(this.#round[this.#cursor++] as string);
    if (this.#round.length > 0 && this.#cursor >= this.#round.length) this.#stats.rounds++;
  }

  #canPublish(): boolean {
    if (this.#nc.isClosed()) return false;
    return this.#publisher === undefined || this.#publisher.stats().state === 'live';
  }

  #beat(scope: string): boolean {
    const subject = this.#subjectFor(scope);
    const head = this.#heads.scopeHead(scope);
    if (subject === null || head === 0) return false;
    if (this.#publisher && head > this.#publisher.stats().publishedVersion) {
      this.#stats.skipped++;
      return false;
    }
    const h = headers();
    h.set(HEARTBEAT_STREAM_HEADER, this.#streamId);
    h.set(HEARTBEAT_HEAD_HEADER, String(head));
    try {
      this.#nc.publish(subject, EMPTY, { headers: h });
    } catch {
      return false; // disconnected or closing: the round after the reconnect covers it
    }
    this.#stats.messages++;
    // "NATS/1.0\r\n" + both header lines + "\r\n": what the message adds besides its subject.
    this.#stats.bytes += 10 + HEARTBEAT_STREAM_HEADER.length + 4 + this.#streamId.length + HEARTBEAT_HEAD_HEADER.length + 4 + String(head).length + 2;
    return true;
  }

  /** The subject of a scope; null for a name that is not a valid scope (never published on). */
  #subjectFor(scope: string): string | null {
    let subject = this.#subjectOf.get(scope);
    if (subject === undefined) {
      try {
        subject = this.#subjects.scope(parseScope(scope));
      } catch {
        subject = null;
      }
      this.#subjectOf.set(scope, subject);
    }
    return subject;
  }

  async #watchConnection(): Promise<void> {
    const status = this.#nc.status();
    this.#stop.signal.addEventListener('abort', () => (status as { stop?: () => void }).stop?.(), { once: true });
    try {
      for await (const s of status) {
        if (this.#state === 'closed') return;
        if (s.type === 'reconnect') this.#fullRoundDue = true;
      }
    } catch {
      // the connection closed: nothing more to watch
    }
  }
}
