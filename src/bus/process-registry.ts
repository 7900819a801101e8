import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { InvalidArgumentError, silentLogger, systemClock, toError, type Clock, type Logger } from '../core/index.ts';
import {
  ProcessErrorCode,
  clusterSubjects,
  decodeProcessInfo,
  decodeProcessQuery,
  decodeProcessReport,
  encodeProcessInfo,
  encodeProcessQueryResponse,
  encodeProcessReportResponse,
  formatUpid,
  processErrorName,
  timeNsFromMs,
  unescapeSubjectToken,
  type ClusterSubjects,
  type ProcessInfo,
  type ProcessQueryResult,
  type ProcessRefusal,
  type ProcessRejection,
  type ProcessReport,
  type ProcessReportResult,
} from '../schema/index.ts';
import type { AgentRegistryLog } from './agent-registry.ts';
import { BusError, BusErrorCode } from './errors.ts';
import { ProcessTable } from './process-table.ts';
import { isRefusedReplySubject } from './reply-subjects.ts';
import { subscriptionsSent } from './subscriptions.ts';

/** What the process registry needs of a pod, from the service's own state (the projector). */
export interface ProcessPodView {
  readonly nodeName: string;
  readonly containers: ReadonlyArray<{ readonly containerId: string }>;
}

export interface ProcessRegistryOptions {
  connection: NatsConnection;
  cluster: string;
  /** The log, for its metadata (`proc/…` entries: kept out of the versioned update stream). */
  log: AgentRegistryLog;
  /** ASID → node of the agent registry (AgentRegistry.nodeOfAsid). */
  nodeOfAsid: (asid: number) => Promise<string | undefined>;
  /** A pod the service knows now (undefined: unknown or deleted). */
  pod: (uid: string) => ProcessPodView | undefined;
  /** false while the service cannot take reports (starting, syncing, draining): UNAVAILABLE. */
  available?: () => boolean;
  /** Stopped processes are kept this long after their stop (default 24 h). */
  retentionMs?: number;
  /** Process events per second per node (agent), and the burst (defaults 200 and 1,000). */
  reportRate?: number;
  reportBurst?: number;
  /** Live processes per node; starts beyond are refused with NODE_CAP (default 4,096). */
  maxLivePerNode?: number;
  /** Stopped processes kept per node; beyond, the earliest-stopped go first (default 4,096). */
  maxStoppedPerNode?: number;
  /** Records per store commit (default 100; the service lowers it to the store's limits). */
  maxPerCommit?: number;
  /** How often changes are written (default 100 ms) and retention is swept (default 60 s). */
  flushIntervalMs?: number;
  sweepIntervalMs?: number;
  queueGroup?: string;
  clock?: Clock;
  logger?: Logger;
}

export interface ProcessRegistryStats {
  readonly state: 'created' | 'running' | 'closed';
  readonly live: number;
  readonly stopped: number;
  /** Process events accepted, and refused by code name (WRONG_ASID, RATE_LIMITED …). */
  readonly accepted: number;
  readonly refused: Readonly<Record<string, number>>;
  readonly reports: number;
  readonly queries: number;
  readonly droppedBadReply: number;
  /** Stopped processes dropped after the retention / beyond the per-node stopped cap. */
  readonly expired: number;
  readonly evicted: number;
  /** Live processes stopped by the sweep because their pod is gone. */
  readonly stoppedWithPod: number;
  readonly commits: number;
  readonly failedCommits: number;
}

/** Meta names: `proc/<asid>:<pid>:<ticks>` (UpdateLog meta; m/x/ keys, no version). */
const PROC_PREFIX = 'proc/';
const MAX_REPLY_WAIT = 256;

interface Bucket {
  tokens: number;
  atMs: number;
}

interface Waiter {
  readonly replyTo: string;
  readonly result: ProcessReportResult;
}

/**
 * Process lifecycle from node agents (wire-protocol §12, issue 16 part 2). Agents report
 * starts and stops on `kubemeta.<cluster>.processes.node.<node>`; NATS permissions let an agent
 * publish only on its own node's subject (schema/permissions.ts), so the node comes from the
 * subject. Each process is checked against the service's own state: its ASID was registered for
 * that node, its container is one of its pod's and the pod runs on that node. Accepted ones are
 * kept in memory (ProcessTable) and in the store as log metadata — no version, no chain, not
 * published: process reports are not Kubernetes metadata, and a report must never move a
 * scope's chain (docs/design.md §1, §2). Answers to reports are sent once what they changed is stored.
 *
 * Bounded (docs/operating.md): a token bucket of process events per node (RATE_LIMITED, nothing
 * of the report taken), a cap of live processes per node (NODE_CAP), a cap of stopped ones per
 * node (the earliest-stopped go) and their retention; live processes of pods the service no
 * longer knows are stopped by the sweep, so an agent that dies without reporting stops leaves
 * nothing behind for longer than the retention.
 */
export class ProcessRegistry {
  readonly #nc: NatsConnection;
  readonly #updateLog: AgentRegistryLog;
  readonly #subjects: ClusterSubjects;
  readonly #nodeOfAsid: (asid: number) => Promise<string | undefined>;
  readonly #pod: (uid: string) => ProcessPodView | undefined;
  readonly #available: () => boolean;
  readonly #retentionMs: number;
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxLive: number;
  readonly #maxPerCommit: number;
  readonly #flushMs: number;
  readonly #sweepMs: number;
  readonly #queueGroup: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #table: ProcessTable;
  readonly #buckets = new Map<string, Bucket>();
  readonly #subs: Subscription[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  /** Answers waiting for the flush that stores what their report changed. */
  #waiting: Waiter[] = [];
  #flushing: Promise<void> | undefined;
  #state: ProcessRegistryStats['state'] = 'created';
  readonly #refused: Record<string, number> = {};
  readonly #stats = { accepted: 0, reports: 0, queries: 0, droppedBadReply: 0, stoppedWithPod: 0, commits: 0, failedCommits: 0 };

  constructor(options: ProcessRegistryOptions) {
    this.#nc = options.connection;
    this.#updateLog = options.log;
    this.#subjects = clusterSubjects(options.cluster);
    this.#nodeOfAsid = options.nodeOfAsid;
    this.#pod = options.pod;
    this.#available = options.available ?? (() => true);
    this.#retentionMs = positive('retentionMs', options.retentionMs ?? 86_400_000);
    this.#rate = positive('reportRate', options.reportRate ?? 200);
    this.#burst = positive('reportBurst', options.reportBurst ?? 1_000);
    this.#maxLive = positive('maxLivePerNode', options.maxLivePerNode ?? 4_096);
    this.#maxPerCommit = positive('maxPerCommit', options.maxPerCommit ?? 100);
    this.#flushMs = positive('flushIntervalMs', options.flushIntervalMs ?? 100);
    this.#sweepMs = positive('sweepIntervalMs', options.sweepIntervalMs ?? 60_000);
    this.#queueGroup = options.queueGroup ?? 'kubemeta-processes';
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? silentLogger).child({ module: 'bus', component: 'process-registry' });
    this.#table = new ProcessTable({ maxStoppedPerNode: Math.max(0, options.maxStoppedPerNode ?? 4_096) });
  }

  /** Loads the stored processes, then subscribes (until then agents get no responders and retry). */
  async start(): Promise<void> {
    if (this.#state !== 'created') throw new BusError(BusErrorCode.ALREADY_STARTED, `the process registry is ${this.#state}; create a new one`);
    this.#state = 'running';
    const loaded = await this.#load();
    const on = (subject: string, handle: (msg: Msg) => void, queue = true): void => {
      this.#subs.push(this.#nc.subscribe(subject, { ...(queue ? { queue: this.#queueGroup } : {}), callback: (err, msg) => {
        if (!err) this.#guard(msg, handle);
      } }));
    };
    on(this.#subjects.allProcessReports, (msg) => void this.#onReport(msg));
    on(this.#subjects.processesOfPod, (msg) => this.#onQuery(msg));
    on(this.#subjects.processByUpid, (msg) => this.#onQuery(msg));
    await subscriptionsSent(this.#nc);
    this.#timers.push(setInterval(() => void this.#flush(), this.#flushMs));
    this.#timers.push(setInterval(() => this.sweep(), this.#sweepMs));
    this.#logger.info({ processes: loaded }, 'answering process reports and queries');
  }

  stats(): ProcessRegistryStats {
    const { live, stopped } = this.#table.counts();
    return { state: this.#state, live, stopped, ...this.#stats, refused: { ...this.#refused }, expired: this.#table.expired, evicted: this.#table.evicted };
  }

  /** The processes of a pod (what `kubemeta.<cluster>.processes.pod` answers). */
  processesOfPod(podUid: string, includeStopped = false): ProcessInfo[] {
    return this.#table.ofPod(podUid, includeStopped);
  }

  /**
   * Retention: drops processes stopped longer ago than the retention, and stops live processes
   * whose pod the service no longer knows (their agent cannot report them any more: the pod is
   * deleted). Runs every sweepIntervalMs; writes follow with the next flush.
   */
  sweep(): void {
    const now = this.#clock.now();
    if (this.#available()) {
      for (const p of this.#table.liveOfPods((uid) => this.#pod(uid) === undefined)) {
        this.#table.put({ ...p, stopTimeNs: timeNsFromMs(now) });
        this.#stats.stoppedWithPod++;
      }
    }
    this.#table.expire(now - this.#retentionMs);
  }

  /** Stops answering; writes what is not stored yet (bounded by the caller's deadline). */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    for (const t of this.#timers) clearInterval(t);
    for (const sub of this.#subs.splice(0)) {
      try {
        sub.unsubscribe();
      } catch {
        // connection closed already
      }
    }
    while (this.#flushing) await this.#flushing;
    await this.#flush();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #load(): Promise<number> {
    const records: ProcessInfo[] = [];
    let after: string | undefined;
    do {
      const page = await this.#updateLog.listMeta(PROC_PREFIX, { limit: 1_000, ...(after !== undefined ? { after } : {}) });
      for (const { name, value } of page.entries) {
        try {
          records.push(decodeProcessInfo(value));
        } catch (err) {
          this.#logger.warn({ err: toError(err), name }, 'skipped an unreadable stored process');
        }
      }
      after = page.next;
    } while (after !== undefined);
    // Stopped ones in stop order: each node's stopped list is expired and evicted from its start.
    records.sort((a, b) => (a.stopTimeNs < b.stopTimeNs ? -1 : a.stopTimeNs > b.stopTimeNs ? 1 : 0));
    for (const p of records) this.#table.put(p, false);
    this.#table.expire(this.#clock.now() - this.#retentionMs);
    return this.#table.size;
  }

  #guard(msg: Msg, handle: (msg: Msg) => void): void {
    if (!msg.reply || isRefusedReplySubject(msg.reply)) {
      // The service never answers onto its own subjects for whoever chose the reply subject.
      this.#stats.droppedBadReply++;
      return;
    }
    handle(msg);
  }

  async #onReport(msg: Msg): Promise<void> {
    this.#stats.reports++;
    const replyTo = msg.reply as string;
    let node: string;
    let report: ProcessReport;
    try {
      node = unescapeSubjectToken(msg.subject.slice(this.#subjects.allProcessReports.length - 1));
      report = decodeProcessReport(msg.data);
    } catch (err) {
      return this.#refuse(replyTo, 1, { code: ProcessErrorCode.BAD_REQUEST, message: `process report refused: ${toError(err).message}`, retryAfterMs: 0 });
    }
    if (report.nodeName !== node) {
      const problem = `the report names node ${JSON.stringify(report.nodeName)} but came on the subject of node ${JSON.stringify(node)}`;
      return this.#refuse(replyTo, 1, { code: ProcessErrorCode.BAD_REQUEST, message: `process report refused: ${problem}`, retryAfterMs: 0 });
    }
    const n = report.processes.length;
    if (this.#state !== 'running' || !this.#available()) {
      return this.#refuse(replyTo, n, { code: ProcessErrorCode.UNAVAILABLE, message: 'the service cannot take process reports now (starting, syncing, shutting down or not the leader); retry', retryAfterMs: 1_000 });
    }
    const waitMs = this.#take(node, n);
    if (waitMs > 0) {
      return this.#refuse(replyTo, n, {
        code: ProcessErrorCode.RATE_LIMITED,
        message: `node ${node} reported more than ${this.#rate} process events/s (burst ${this.#burst}); nothing of this report was taken, send it again after ${waitMs} ms`,
        retryAfterMs: waitMs,
      });
    }
    let result: ProcessReportResult;
    try {
      result = await this.#apply(node, report.processes);
    } catch (err) {
      // The ASID lookup read the store and failed: nothing was applied.
      this.#logger.warn({ err: toError(err), node }, 'could not check a process report');
      return this.#refuse(replyTo, n, { code: ProcessErrorCode.UNAVAILABLE, message: `the report could not be checked (${toError(err).message}); retry`, retryAfterMs: 1_000 });
    }
    if (this.#waiting.length >= MAX_REPLY_WAIT) void this.#flush();
    this.#waiting.push({ replyTo, result });
  }

  /** Token bucket per node: 0 when `n` events may pass now, else the ms until they may. */
  #take(node: string, n: number): number {
    const now = this.#clock.now();
    let b = this.#buckets.get(node);
    if (!b) {
      // Full buckets are equal to new ones: forget them when the map grows (nodes come and go).
      if (this.#buckets.size >= 10_000) for (const [k, v] of this.#buckets) if (v.tokens + ((now - v.atMs) * this.#rate) / 1000 >= this.#burst) this.#buckets.delete(k);
      this.#buckets.set(node, (b = { tokens: this.#burst, atMs: now }));
    }
    b.tokens = Math.min(this.#burst, b.tokens + ((now - b.atMs) * this.#rate) / 1000);
    b.atMs = now;
    if (b.tokens >= n) {
      b.tokens -= n;
      return 0;
    }
    return Math.ceil(((Math.min(n, this.#burst) - b.tokens) * 1000) / this.#rate);
  }

  /** Checks and applies each process; returns the answer (sent once the changes are stored). */
  async #apply(node: string, processes: readonly ProcessInfo[]): Promise<ProcessReportResult> {
    const rejected: ProcessRejection[] = [];
    let accepted = 0;
    for (const p of processes) {
      const problem = await this.#check(node, p);
      if (problem) {
        rejected.push({ upid: p.upid, ...problem });
        this.#count(problem.code, 1);
        continue;
      }
      accepted++;
    }
    this.#stats.accepted += accepted;
    return { ok: true, accepted, rejected };
  }

  /** Validates one process against the service's state and applies it; a refusal otherwise. */
  async #check(node: string, p: ProcessInfo): Promise<{ code: ProcessErrorCode; message: string } | undefined> {
    const upid = formatUpid(p.upid);
    const owner = await this.#nodeOfAsid(p.upid.asid);
    if (owner !== node) {
      return { code: ProcessErrorCode.WRONG_ASID, message: `UPID ${upid}: ASID ${p.upid.asid} is ${owner === undefined ? 'not registered' : 'not an agent of this node'}; an agent reports only its own processes` };
    }
    const known = this.#table.get(p.upid);
    if (known) {
      // Reports are idempotent: a repeated start changes nothing, a stop is kept once.
      if (known.nodeName !== node) return { code: ProcessErrorCode.WRONG_ASID, message: `UPID ${upid} was reported by another node` };
      if (p.stopTimeNs !== 0n && known.stopTimeNs === 0n) this.#table.put({ ...known, stopTimeNs: p.stopTimeNs });
      return undefined;
    }
    const pod = this.#pod(p.podUid);
    if (!pod || pod.nodeName !== node || !pod.containers.some((c) => c.containerId === p.containerId)) {
      const why = !pod ? `pod ${p.podUid} is not known (yet)` : pod.nodeName !== node ? `pod ${p.podUid} runs on another node` : `container ${p.containerId} is not one of pod ${p.podUid}'s`;
      return { code: ProcessErrorCode.FOREIGN_CONTAINER, message: `UPID ${upid}: ${why}; an agent reports only processes of its node's containers` };
    }
    if (p.stopTimeNs === 0n && this.#table.liveOnNode(node) >= this.#maxLive) {
      return { code: ProcessErrorCode.NODE_CAP, message: `UPID ${upid}: node ${node} has ${this.#maxLive} live processes (--process-max-live-per-node); report stops first` };
    }
    this.#table.put({ ...p, nodeName: node });
    return undefined;
  }

  /** Writes the changed processes (one store commit per maxPerCommit), then answers the waiting reports. */
  #flush(): Promise<void> {
    this.#flushing ??= this.#flushNow().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  async #flushNow(): Promise<void> {
    const waiting = this.#waiting;
    this.#waiting = [];
    let failure: Error | undefined;
    while (this.#table.dirtyCount > 0 && failure === undefined) {
      const batch = this.#table.takeDirty(this.#maxPerCommit);
      const meta: Record<string, Uint8Array | null> = {};
      for (const [key, p] of batch) meta[PROC_PREFIX + key] = p ? encodeProcessInfo(p) : null;
      try {
        await this.#updateLog.commit([], { meta });
        this.#stats.commits++;
      } catch (err) {
        failure = toError(err);
        this.#stats.failedCommits++;
        this.#table.markDirty(batch.map(([key]) => key));
        this.#logger.warn({ err: failure, processes: batch.length }, 'could not store process changes; retrying with the next flush');
      }
    }
    for (const w of waiting) {
      if (failure && w.result.ok && w.result.accepted > 0) {
        // Kept in memory and written with a later flush; the agent may send it again (idempotent).
        this.#reply(w.replyTo, { ok: false, error: { code: ProcessErrorCode.UNAVAILABLE, message: `the processes could not be stored yet (${failure.message}); retry`, retryAfterMs: 1_000 } });
      } else this.#reply(w.replyTo, w.result);
    }
  }

  #onQuery(msg: Msg): void {
    this.#stats.queries++;
    let result: ProcessQueryResult;
    try {
      const query = decodeProcessQuery(msg.data);
      if (this.#state !== 'running') {
        result = { ok: false, error: { code: ProcessErrorCode.UNAVAILABLE, message: 'the process registry is shutting down; retry', retryAfterMs: 1_000 } };
      } else if ('upid' in query) {
        const p = this.#table.get(query.upid);
        result = { ok: true, processes: p ? [p] : [] };
      } else {
        result = { ok: true, processes: this.#table.ofPod(query.podUid, query.includeStopped === true) };
      }
    } catch (err) {
      result = { ok: false, error: { code: ProcessErrorCode.BAD_REQUEST, message: `process query refused: ${toError(err).message}`, retryAfterMs: 0 } };
    }
    this.#send(msg.reply as string, encodeProcessQueryResponse(result));
  }

  #refuse(replyTo: string, events: number, error: ProcessRefusal): void {
    this.#count(error.code, events);
    this.#reply(replyTo, { ok: false, error });
  }

  #count(code: ProcessErrorCode, n: number): void {
    const name = processErrorName(code);
    this.#refused[name] = (this.#refused[name] ?? 0) + n;
  }

  #reply(replyTo: string, result: ProcessReportResult): void {
    this.#send(replyTo, encodeProcessReportResponse(result));
  }

  #send(replyTo: string, bytes: Uint8Array): void {
    try {
      this.#nc.publish(replyTo, bytes);
    } catch (err) {
      this.#logger.debug({ err: toError(err) }, 'could not send a process answer');
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(`process registry option ${name}`, `must be a positive number, got ${value}`);
  return value;
}
