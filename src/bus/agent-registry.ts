import { createHash } from 'node:crypto';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { InvalidArgumentError, KubemetaError, silentLogger, systemClock, toError, type Clock, type Logger } from '../core/index.ts';
import {
  RequestErrorCode,
  clusterSubjects,
  decodeRegisterAgentRequest,
  nodeScope,
  encodeRegisterAgentResponse,
  parseStreamId,
  requestErrorFor,
  type ClusterSubjects,
  type RegisterAgentRequest,
  type RegisterAgentResult,
  type RequestErrorInfo,
} from '../schema/index.ts';
import type { CommitOptions, LogState } from '../log/index.ts';
import { BusError, BusErrorCode } from './errors.ts';
import { isRefusedReplySubject, scopedInboxPrefix } from './reply-subjects.ts';
import { subscriptionsSent } from './subscriptions.ts';

/** What the registry needs from the log (the UpdateLog satisfies it). */
export interface AgentRegistryLog {
  readonly streamId: string;
  readonly state: LogState;
  getMeta(name: string): Promise<Uint8Array | undefined>;
  listMeta(prefix: string, options?: { after?: string; limit?: number }): Promise<{ entries: Array<{ name: string; value: Uint8Array }>; next: string | undefined }>;
  commit(updates: readonly [], options: CommitOptions): Promise<unknown>;
}

export interface AgentRegistryOptions {
  connection: NatsConnection;
  cluster: string;
  log: AgentRegistryLog;
  /** NATS queue group (default 'kubemeta-agents'). */
  queueGroup?: string;
  /** Registrations waiting to be stored; beyond it BUSY (default 4,096). */
  maxPending?: number;
  /** Registrations stored in one log commit (default 256). */
  maxBatch?: number;
  /** false while the service cannot write (starting, not the leader): UNAVAILABLE. */
  available?: () => boolean;
  /**
   * Register an agent of node N only when the reply inbox is under `_INBOX.<subject of
   * node/N>.` (the SDK's default), else BAD_REQUEST: with per-node NATS permissions on inboxes,
   * an agent can then register only as its own node (docs/security.md). Default false.
   */
  requireScopedInboxes?: boolean;
  clock?: Clock;
  logger?: Logger;
}

export interface AgentRegistryStats {
  readonly state: 'created' | 'running' | 'closed';
  readonly received: number;
  readonly droppedNoReply: number;
  /** Requests whose reply subject the service never answers into (`kubemeta.…`, wildcards). */
  readonly droppedBadReply: number;
  /** New ASIDs assigned. */
  readonly assigned: number;
  /** Registrations answered with the ASID the agent had already. */
  readonly returning: number;
  readonly refused: number;
  readonly commits: number;
  readonly pending: number;
}

/** Meta names (UpdateLog meta, one prefix): the counter and one record per agent. */
const NEXT_NAME = 'agents/next';
const AGENT_PREFIX = 'agents/id/';
const MAX_ASID = 0xffffffff;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

interface AgentRecord {
  asid: number;
  node: string;
  instance: string;
  hostname: string;
  registeredAtMs: number;
}

interface Pending {
  readonly request: RegisterAgentRequest;
  readonly replyTo: string;
}

/** The meta name of (node, instance): a fixed-length hash, so long names stay within key limits. */
function agentName(node: string, instance: string): string {
  return AGENT_PREFIX + createHash('sha256').update(`${node}\u0000${instance}`).digest('hex').slice(0, 32);
}

function corrupt(name: string, problem: string): BusError {
  return new BusError(BusErrorCode.REGISTRY_CORRUPT, `agent registry entry ${name} ${problem}; the store is damaged or was written by something else`);
}

function decodeRecord(name: string, bytes: Uint8Array): AgentRecord {
  let r: Partial<AgentRecord>;
  try {
    r = JSON.parse(utf8Decoder.decode(bytes)) as Partial<AgentRecord>;
  } catch (cause) {
    throw corrupt(name, `is not JSON (${toError(cause).message})`);
  }
  if (!Number.isInteger(r.asid) || (r.asid as number) < 1 || (r.asid as number) > MAX_ASID || typeof r.node !== 'string' || typeof r.instance !== 'string') {
    throw corrupt(name, 'lacks a valid asid, node or instance');
  }
  return r as AgentRecord;
}

/**
 * Answers RegisterAgentRequest on `kubemeta.<cluster>.agents.register` (wire protocol §8):
 * assigns ASIDs ≥ 1, unique in the cluster, persisted in the log's metadata so that the same
 * (node_name, agent_instance_id) gets its ASID back after a service restart. An ASID is never
 * given to another agent, also not after the first one is gone.
 *
 * Registrations are serialized: a single worker takes the waiting ones (bounded queue; beyond
 * it BUSY) and stores every new ASID of a batch, with the counter, in ONE log commit; only
 * then are the answers sent (an answered ASID is durable). Replies carry the stream id.
 */
export class AgentRegistry {
  readonly #nc: NatsConnection;
  readonly #updateLog: AgentRegistryLog;
  readonly #subject: string;
  readonly #subjects: ClusterSubjects;
  readonly #requireScopedInboxes: boolean;
  readonly #queueGroup: string;
  readonly #maxPending: number;
  readonly #maxBatch: number;
  readonly #available: () => boolean;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #pending: Pending[] = [];
  #worker: Promise<void> | undefined;
  #next: number | undefined;
  #sub: Subscription | undefined;
  /** ASID → node of every stored record, loaded once (see nodeOfAsid) and kept up to date. */
  readonly #asidNodes = new Map<number, string>();
  #asidNodesLoaded: Promise<void> | undefined;
  #state: AgentRegistryStats['state'] = 'created';
  readonly #stats = { received: 0, droppedNoReply: 0, droppedBadReply: 0, assigned: 0, returning: 0, refused: 0, commits: 0 };

  constructor(options: AgentRegistryOptions) {
    this.#nc = options.connection;
    this.#updateLog = options.log;
    this.#subjects = clusterSubjects(options.cluster);
    this.#subject = this.#subjects.agentsRegister;
    this.#requireScopedInboxes = options.requireScopedInboxes ?? false;
    this.#queueGroup = options.queueGroup ?? 'kubemeta-agents';
    this.#maxPending = options.maxPending ?? 4096;
    this.#maxBatch = options.maxBatch ?? 256;
    for (const [name, v] of [['maxPending', this.#maxPending], ['maxBatch', this.#maxBatch]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`agent registry option ${name}`, `must be a positive integer, got ${v}`);
    }
    this.#available = options.available ?? (() => true);
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? silentLogger).child({ module: 'bus', component: 'agent-registry' });
  }

  /** Subscribes; resolves once the NATS server has the subscription. */
  async start(): Promise<void> {
    if (this.#state !== 'created') throw new BusError(BusErrorCode.ALREADY_STARTED, `the agent registry is ${this.#state}; create a new one`);
    this.#state = 'running';
    this.#sub = this.#nc.subscribe(this.#subject, {
      queue: this.#queueGroup,
      callback: (err, msg) => {
        if (!err) this.#onRequest(msg);
      },
    });
    await subscriptionsSent(this.#nc);
  }

  /**
   * The node an ASID was registered for, or undefined: process reports of node N may carry only
   * UPIDs whose ASID belongs to an agent of N (wire-protocol §12). The first call reads every
   * record (one page of the store per 1,000 agents); later registrations are added as they are
   * stored, and only this registry assigns ASIDs (one writer: the leader).
   */
  async nodeOfAsid(asid: number): Promise<string | undefined> {
    this.#asidNodesLoaded ??= this.#loadAsidNodes().catch((err: unknown) => {
      this.#asidNodesLoaded = undefined; // store trouble: the next call reads again
      throw err;
    });
    await this.#asidNodesLoaded;
    return this.#asidNodes.get(asid);
  }

  async #loadAsidNodes(): Promise<void> {
    let after: string | undefined;
    do {
      const page = await this.#updateLog.listMeta(AGENT_PREFIX, { limit: 1_000, ...(after !== undefined ? { after } : {}) });
      for (const { name, value } of page.entries) {
        const record = decodeRecord(name, value);
        this.#asidNodes.set(record.asid, record.node);
      }
      after = page.next;
    } while (after !== undefined);
  }

  stats(): AgentRegistryStats {
    return { state: this.#state, ...this.#stats, pending: this.#pending.length };
  }

  /**
   * Stops taking registrations and finishes the waiting ones. An aborted `signal` turns the
   * drain into close() (the waiting ones get UNAVAILABLE).
   */
  async drain(signal?: AbortSignal): Promise<void> {
    this.#unsubscribe();
    const onAbort = (): void => void this.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) await this.close();
      while (this.#worker) await this.#worker;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    this.#state = 'closed';
  }

  /** Stops taking registrations; waiting ones get UNAVAILABLE, a running commit finishes. */
  async close(): Promise<void> {
    this.#unsubscribe();
    this.#state = 'closed';
    for (const p of this.#pending.splice(0)) {
      this.#refuse(p.replyTo, { code: RequestErrorCode.UNAVAILABLE, message: 'the agent registry is shutting down; retry', retryAfterMs: 1_000 });
    }
    while (this.#worker) await this.#worker;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #unsubscribe(): void {
    try {
      this.#sub?.unsubscribe();
    } catch {
      // connection closed already
    }
    this.#sub = undefined;
  }

  #onRequest(msg: Msg): void {
    this.#stats.received++;
    if (!msg.reply) {
      this.#stats.droppedNoReply++;
      return;
    }
    if (isRefusedReplySubject(msg.reply)) {
      this.#stats.droppedBadReply++;
      return;
    }
    let request: RegisterAgentRequest;
    try {
      request = decodeRegisterAgentRequest(msg.data);
    } catch (err) {
      return this.#refuse(msg.reply, requestErrorFor(err));
    }
    const inbox = this.#requireScopedInboxes ? scopedInboxPrefix(this.#subjects, nodeScope(request.nodeName)) : '';
    if (!msg.reply.startsWith(inbox)) {
      return this.#refuse(msg.reply, {
        code: RequestErrorCode.BAD_REQUEST,
        message: `this service registers an agent of node ${request.nodeName} only with a reply inbox under ${inbox} (require scoped inboxes is on); the kubemeta SDK does so unless its inboxPrefix is set`,
        retryAfterMs: 0,
      });
    }
    if (this.#state !== 'running' || !this.#available() || this.#updateLog.state !== 'open') {
      return this.#refuse(msg.reply, { code: RequestErrorCode.UNAVAILABLE, message: 'the agent registry cannot store registrations now (starting, shutting down or not the leader); retry', retryAfterMs: 1_000 });
    }
    if (this.#pending.length >= this.#maxPending) {
      return this.#refuse(msg.reply, { code: RequestErrorCode.BUSY, message: `${this.#pending.length} registrations are waiting; retry later`, retryAfterMs: 1_000 });
    }
    this.#pending.push({ request, replyTo: msg.reply });
    this.#worker ??= this.#work().finally(() => (this.#worker = undefined));
  }

  async #work(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#maxBatch);
      try {
        const asids = await this.#assign(batch.map((p) => p.request));
        batch.forEach((p, i) => this.#reply(p.replyTo, { ok: true, asid: asids[i] as number, streamId: parseStreamId(this.#updateLog.streamId) }));
      } catch (err) {
        this.#next = undefined; // re-read the counter: the commit may not have applied
        const error = registryErrorInfo(err);
        this.#logger.warn({ err: toError(err), agents: batch.length }, 'agent registration failed');
        for (const p of batch) this.#refuse(p.replyTo, error);
      }
    }
  }

  /** ASIDs for a batch, in order: stored ones looked up, new ones assigned and committed. */
  async #assign(requests: readonly RegisterAgentRequest[]): Promise<number[]> {
    const meta: Record<string, Uint8Array> = {};
    const byName = new Map<string, number>();
    const asids: number[] = [];
    const fresh = new Map<number, string>();
    let next = this.#next ?? (await this.#readNext());
    for (const r of requests) {
      const name = agentName(r.nodeName, r.agentInstanceId);
      let asid = byName.get(name) ?? (await this.#lookup(name, r));
      if (asid !== undefined) {
        if (!(name in meta)) this.#stats.returning++;
      } else {
        if (next > MAX_ASID) throw new BusError(BusErrorCode.ASID_EXHAUSTED, `every ASID up to ${MAX_ASID} is taken; start a new store`);
        asid = next++;
        const record: AgentRecord = { asid, node: r.nodeName, instance: r.agentInstanceId, hostname: r.hostname, registeredAtMs: this.#clock.now() };
        meta[name] = utf8.encode(JSON.stringify(record));
        fresh.set(asid, r.nodeName);
      }
      byName.set(name, asid);
      asids.push(asid);
    }
    if (fresh.size > 0) {
      meta[NEXT_NAME] = utf8.encode(String(next));
      await this.#updateLog.commit([], { meta });
      this.#stats.commits++;
      this.#stats.assigned += fresh.size;
      for (const [asid, node] of fresh) this.#asidNodes.set(asid, node);
      this.#logger.info({ agents: fresh.size, nextAsid: next }, 'registered new agents');
    }
    this.#next = next;
    return asids;
  }

  async #lookup(name: string, r: RegisterAgentRequest): Promise<number | undefined> {
    const bytes = await this.#updateLog.getMeta(name);
    if (bytes === undefined) return undefined;
    const record = decodeRecord(name, bytes);
    if (record.node !== r.nodeName || record.instance !== r.agentInstanceId) throw corrupt(name, 'belongs to another agent (hash collision)');
    return record.asid;
  }

  async #readNext(): Promise<number> {
    const bytes = await this.#updateLog.getMeta(NEXT_NAME);
    if (bytes === undefined) return 1;
    const next = Number(utf8Decoder.decode(bytes));
    if (!Number.isInteger(next) || next < 1) throw corrupt(NEXT_NAME, 'is not a positive integer');
    return next;
  }

  #reply(replyTo: string, result: RegisterAgentResult): void {
    try {
      this.#nc.publish(replyTo, encodeRegisterAgentResponse(result));
    } catch (err) {
      this.#logger.debug({ err: toError(err) }, 'could not send an agent registration answer');
    }
  }

  #refuse(replyTo: string, error: RequestErrorInfo): void {
    this.#stats.refused++;
    this.#reply(replyTo, { ok: false, error });
  }
}

/** Store trouble → UNAVAILABLE (retry); anything else → INTERNAL. */
function registryErrorInfo(err: unknown): RequestErrorInfo {
  const code = KubemetaError.is(err) ? err.code : '';
  if (code.startsWith('LOG_') && code !== 'LOG_RECORD_CORRUPT' && code !== 'LOG_STORE_UNRECOGNIZED') {
    return { code: RequestErrorCode.UNAVAILABLE, message: `the registration could not be stored (${(err as Error).message}); retry`, retryAfterMs: 1_000 };
  }
  return { code: RequestErrorCode.INTERNAL, message: `agent registration failed: ${toError(err).message}`, retryAfterMs: 0 };
}
