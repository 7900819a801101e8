// A model of the kubemeta service on a FakeBus, for tests of code that uses the SDK: it commits
// updates, publishes chained batches, answers replay with the schema's own ReplayResponseWriter
// (snapshot + tail, limit, flow-control reply subjects, errors) and registers agents.
// kubemeta's own integration tests use the real nats-server, UpdateLog and ReplayServer.
import {
  RequestErrorCode,
  clusterSubjects,
  decodeReplayAck,
  decodeReplayRequest,
  decodeRegisterAgentRequest,
  encodeRegisterAgentResponse,
  decodeResourceUpdate,
  encodeResourceUpdate,
  encodeUpdateBatch,
  formatScope,
  newStreamId,
  parseScope,
  updateIdentity,
  ReplayResponseWriter,
  type ReplayRequest,
  type ResourceUpdate,
  type StreamId,
  type UpdateFrame,
} from '../schema/index.ts';
import type { SdkMsg } from '../sdk/index.ts';
import type { FakeBus, FakeConnection } from './fake-bus.ts';

interface ScopeEntry {
  version: number;
  payload: Uint8Array;
}

interface ScopeLog {
  head: number;
  history: Array<UpdateFrame>;
  state: Map<string, ScopeEntry>;
}

export interface FakeReplayOptions {
  /** Most tail updates per answer (default: all). */
  limit?: number;
  /** Ask for acks (responses published with a reply subject). */
  flowControl?: boolean;
  /** Answer the next N replay requests with this error. */
  failNext?: { code: RequestErrorCode; count: number; retryAfterMs?: number };
  /** Drop the response with this sequence in the next answer (a lost message). */
  loseSequence?: number;
}

/**
 * A model of the kubemeta service: commits updates (versions, per-scope chains, current state
 * per scope with tombstones kept), publishes chained batches, answers replay (snapshot when
 * `after` is 0, below the compaction floor or from another stream; else the tail), registers
 * agents, sends heartbeats.
 */
export class FakeKubemeta {
  readonly subjects: ReturnType<typeof clusterSubjects>;
  readonly connection: FakeConnection;
  streamId: StreamId = newStreamId();
  head = 0;
  floor = 0;
  readonly scopes = new Map<string, ScopeLog>();
  readonly requests: ReplayRequest[] = [];
  readonly acks: Array<{ requestId: string; sequence: number }> = [];
  replay: FakeReplayOptions = {};
  /** When false, nobody answers replay or registration (the service is down). */
  answering = true;
  readonly #asids = new Map<string, number>();
  readonly #offs: Array<{ unsubscribe(): void }> = [];

  constructor(bus: FakeBus, cluster: string) {
    this.subjects = clusterSubjects(cluster);
    this.connection = bus.connect();
    this.#offs.push(this.connection.subscribe(this.subjects.replay, { callback: (_e, m) => this.#onReplay(m) }));
    this.#offs.push(this.connection.subscribe(this.subjects.agentsRegister, { callback: (_e, m) => this.#onRegister(m) }));
  }

  /** Commits one batch: each update goes to its scopes; returns the versions. Publishes unless `publish` is false. */
  commit(updates: ReadonlyArray<{ update: ResourceUpdate; scopes: readonly string[] }>, publish = true): number[] {
    const byScope = new Map<string, UpdateFrame[]>();
    const versions: number[] = [];
    for (const u of updates) {
      const version = ++this.head;
      versions.push(version);
      const payload = encodeResourceUpdate(u.update);
      const id = updateIdentity(u.update);
      const key = `${id.kind}/${id.uid}`;
      for (const scope of u.scopes) {
        const log = this.#scope(scope);
        const frame = { version, prevVersion: log.head, payload };
        log.head = version;
        log.history.push(frame);
        if (id.scopeExit) log.state.delete(key);
        else log.state.set(key, { version, payload });
        let frames = byScope.get(scope);
        if (!frames) byScope.set(scope, (frames = []));
        frames.push(frame);
      }
    }
    if (publish) {
      for (const [scope, frames] of byScope) {
        this.connection.publish(this.subjects.scope(parseScope(scope)), encodeUpdateBatch({ streamId: this.streamId, scope: parseScope(scope), frames }));
      }
    }
    return versions;
  }

  /** Publishes raw frames on a scope (tests of duplicates and reordering). */
  publishFrames(scope: string, frames: readonly UpdateFrame[], streamId: StreamId = this.streamId): void {
    this.connection.publish(this.subjects.scope(parseScope(scope)), encodeUpdateBatch({ streamId, scope: parseScope(scope), frames }));
  }

  heartbeat(scope: string): void {
    this.connection.publishWithHeaders(this.subjects.scope(parseScope(scope)), new Uint8Array(), {
      'kubemeta-stream': this.streamId,
      'kubemeta-head': String(this.#scope(scope).head),
    });
  }

  /** Drops history at or below `version` (current state is kept). */
  compact(version: number): void {
    this.floor = version;
    for (const log of this.scopes.values()) log.history = log.history.filter((f) => f.version > version);
  }

  /**
   * The store restored from an older copy: the same stream id, the head back at `version`, the
   * versions after it free to be reissued for other updates (what consumers must survive).
   */
  rewind(version: number): void {
    this.head = version;
    for (const log of this.scopes.values()) {
      log.history = log.history.filter((f) => f.version <= version);
      log.head = log.history.at(-1)?.version ?? 0;
      log.state.clear();
      for (const f of log.history) {
        const id = updateIdentity(decodeResourceUpdate(f.payload));
        const key = `${id.kind}/${id.uid}`;
        if (id.scopeExit) log.state.delete(key);
        else log.state.set(key, { version: f.version, payload: f.payload });
      }
    }
  }

  /** A wiped store: a new stream id, versions start again at 1. */
  wipe(): void {
    this.streamId = newStreamId();
    this.head = 0;
    this.floor = 0;
    this.scopes.clear();
  }

  close(): void {
    for (const o of this.#offs) o.unsubscribe();
  }

  #scope(scope: string): ScopeLog {
    let log = this.scopes.get(scope);
    if (!log) this.scopes.set(scope, (log = { head: 0, history: [], state: new Map() }));
    return log;
  }

  #onReplay(msg: SdkMsg): void {
    const request = decodeReplayRequest(msg.data);
    this.requests.push(request);
    if (!this.answering || !msg.reply) return;
    const writer = new ReplayResponseWriter({ streamId: this.streamId, requestId: request.requestId, scope: request.scope });
    const out = this.#answer(request, writer);
    const lose = this.replay.loseSequence;
    this.replay.loseSequence = undefined;
    out.forEach((bytes, sequence) => {
      if (sequence === lose) return;
      const ackInbox = this.replay.flowControl ? `_INBOX.ack.${request.requestId}.${sequence}` : undefined;
      if (ackInbox) {
        const sub = this.connection.subscribe(ackInbox, {
          callback: (_e, m) => {
            this.acks.push(decodeReplayAck(m.data));
            sub.unsubscribe();
          },
        });
      }
      this.connection.publish(msg.reply as string, bytes, ackInbox ? { reply: ackInbox } : undefined);
    });
  }

  #answer(request: ReplayRequest, writer: ReplayResponseWriter): Uint8Array[] {
    const fail = this.replay.failNext;
    if (fail && fail.count > 0) {
      fail.count--;
      return writer.error({ code: fail.code, message: 'fake failure', retryAfterMs: fail.retryAfterMs ?? 0 });
    }
    const scope = formatScope(request.scope);
    const log = this.#scope(scope);
    if (request.after > this.head && request.knownStreamId === this.streamId) {
      return writer.error({ code: RequestErrorCode.VERSION_IN_FUTURE, message: `after ${request.after} > head ${this.head}`, retryAfterMs: 0 });
    }
    const out: Uint8Array[] = [];
    let after = request.after;
    if (after === 0 || after < this.floor || request.knownStreamId !== this.streamId) {
      out.push(...writer.snapshotStart(log.head));
      const entries = [...log.state.values()].sort((a, b) => a.version - b.version);
      for (const e of entries) out.push(...writer.add({ version: e.version, prevVersion: 0, payload: e.payload }));
      out.push(...writer.snapshotEnd(log.head));
      after = log.head;
    }
    const limit = this.replay.limit ?? Number.POSITIVE_INFINITY;
    let last = after;
    let n = 0;
    for (const f of log.history) {
      if (f.version <= after) continue;
      if (n++ >= limit) break;
      out.push(...writer.add(f));
      last = f.version;
    }
    out.push(...writer.end(log.head, n > limit ? last : log.head));
    return out;
  }

  #onRegister(msg: SdkMsg): void {
    if (!this.answering || !msg.reply) return;
    const request = decodeRegisterAgentRequest(msg.data);
    const key = `${request.nodeName}/${request.agentInstanceId}`;
    let asid = this.#asids.get(key);
    if (asid === undefined) this.#asids.set(key, (asid = this.#asids.size + 1));
    this.connection.publish(msg.reply, encodeRegisterAgentResponse({ ok: true, asid, streamId: this.streamId }));
  }
}
