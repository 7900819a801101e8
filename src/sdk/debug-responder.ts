import {
  AGENT_DEBUG_DEFAULT_PAGE,
  ResourceUpdateSchema,
  agentDebugSubject,
  contentHash,
  create,
  decodeAgentDebugRequest,
  encodeAgentDebugResponse,
  encodeResourceUpdate,
  kinds,
  sortDebugEntries,
  stateDigest,
  type AgentDebugEntry,
  type AgentDebugResponse,
  type AgentDebugSummary,
  type ResourceUpdate,
} from '../schema/index.ts';
import { isKubemetaError } from '../core/index.ts';
import type { ClientCore } from './client-core.ts';
import type { SdkMsg } from './connection.ts';

/** Who answers: the agent's identity as the registry knows it. */
export interface DebugIdentity {
  readonly node: string;
  readonly agentInstanceId: string;
  readonly asid: number;
}

interface Digested {
  readonly generation: number;
  readonly position: number;
  readonly entries: readonly AgentDebugEntry[];
  readonly digest: string;
  readonly counts: Readonly<Record<string, number>>;
  readonly retained: number;
}

/**
 * Answers `kubemeta debug agent <node>` (NodeAgentClient option `debugHandler`) on
 * `kubemeta.<cluster>.debug.node.<node>`: the agent's position, counts and a digest of its live
 * objects, and on request its entries page by page (schema/agent-debug.ts).
 *
 * Each object's content hash is taken over its payload encoded again with the encoder the
 * service uses, which writes the bytes the service stored (wire-protocol §3, "Encode once"), so
 * the hash compares contents across the two sides, not just versions. The entries are computed
 * once per state generation and shared by the pages of one dump, so paging a large scope costs
 * one pass; a request never changes the state.
 */
export class DebugResponder {
  readonly #core: ClientCore;
  readonly #identity: DebugIdentity;
  readonly #sub: { unsubscribe(): void };
  #cache: Digested | undefined;

  constructor(core: ClientCore, identity: DebugIdentity) {
    this.#core = core;
    this.#identity = identity;
    const subject = agentDebugSubject(core.config.cluster, identity.node);
    this.#sub = core.connection.subscribe(subject, { callback: (err, msg) => { if (!err) this.#answer(msg); } });
    // Unsubscribed with the client: with a connection the caller owns, the subscription would
    // otherwise outlive the agent and answer for a state nobody keeps in step any more.
    void core.closed.then(() => this.stop());
  }

  stop(): void {
    this.#sub.unsubscribe();
  }

  #answer(msg: SdkMsg): void {
    if (msg.reply === undefined || msg.reply === '') return; // not a request: nowhere to answer
    let response: AgentDebugResponse;
    try {
      const request = decodeAgentDebugRequest(msg.data);
      const d = this.#digest();
      response = this.#summary(d);
      if (request.entries) {
        const limit = request.entries.limit ?? AGENT_DEBUG_DEFAULT_PAGE;
        const after = request.entries.after;
        const start = after === undefined ? 0 : firstAfter(d.entries, after);
        const page = d.entries.slice(start, start + limit);
        const more = start + limit < d.entries.length;
        response = { ...response, entries: page, ...(more ? { next: (page[page.length - 1] as AgentDebugEntry).key } : {}) };
      }
    } catch (err) {
      response = { error: { code: isKubemetaError(err) ? err.code : 'INTERNAL', message: (err as Error).message ?? String(err) } };
    }
    try {
      this.#core.connection.publish(msg.reply, encodeAgentDebugResponse(response));
    } catch {
      // the connection is closing: the requester times out and says so
    }
  }

  #summary(d: Digested): AgentDebugSummary {
    const s = this.#core;
    return {
      ...this.#identity,
      streamId: s.streamId ?? null,
      position: s.head,
      inSync: s.inSync,
      lag: s.lag,
      counts: d.counts,
      retained: d.retained,
      objects: d.entries.length,
      digest: d.digest,
    };
  }

  #digest(): Digested {
    const state = this.#core.state;
    const position = this.#core.head;
    const cached = this.#cache;
    if (cached && cached.generation === state.generation && cached.position === position) return cached;
    const entries: AgentDebugEntry[] = [];
    const counts: Record<string, number> = {};
    let retained = 0;
    for (const r of state.records()) {
      if (r.gone !== undefined) {
        retained++;
        continue;
      }
      counts[r.kind] = (counts[r.kind] ?? 0) + 1;
      const update = create(ResourceUpdateSchema, { object: { case: kinds[r.kind].update, value: r.object } as ResourceUpdate['object'] });
      entries.push({ key: `${r.kind}/${r.uid}`, version: r.version, hash: contentHash(encodeResourceUpdate(update)) });
    }
    sortDebugEntries(entries);
    this.#cache = { generation: state.generation, position, entries, digest: stateDigest(entries), counts, retained };
    return this.#cache;
  }
}

/** Index of the first entry whose key sorts after `key` (entries are sorted). */
function firstAfter(entries: readonly AgentDebugEntry[], key: string): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((entries[mid] as AgentDebugEntry).key <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
