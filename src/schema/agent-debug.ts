// The node agent's debug dump (issue 16, `kubemeta debug agent <node>`): an operator asks one
// node's agent, over NATS request/reply on `kubemeta.<cluster>.debug.node.<node>`, what it holds
// for its scope, and compares that with the service's scope. JSON, like the credential issuer's
// messages: it is read by people and by tools in any language, and it is never on a hot path.
//
// The comparison must be exact but cheap, so the agent answers in two steps:
// - a summary (position, stream id, counts and one digest of its live objects), enough to say
//   "in step" with one small message whatever the scope's size;
// - on request, its entries (`<Kind>/<uid>`, version, content hash) in key order, one page at a
//   time, so that a difference is named object by object without sending the objects.
// The service's side of the comparison is computed from the same encoded payloads with the same
// functions (`contentHash`, `stateDigest`), so a digest match means the same set of objects at
// the same versions with the same bytes.
import { createHash } from 'node:crypto';
import { SchemaError, SchemaErrorCode } from './errors.ts';
import { nodeScope } from './scope.ts';
import { clusterSubjects, escapeSubjectToken } from './subjects.ts';

/** One live object as a digest entry: its key (`<Kind>/<uid>`), version and content hash. */
export interface AgentDebugEntry {
  readonly key: string;
  readonly version: number;
  /** The first 16 hex digits of the SHA-256 of the object's encoded ResourceUpdate. */
  readonly hash: string;
}

export interface AgentDebugRequest {
  /** Ask for entries too (key order, after `after`, at most `limit`); without it, the summary only. */
  readonly entries?: { readonly after?: string; readonly limit?: number };
}

export interface AgentDebugSummary {
  readonly node: string;
  readonly agentInstanceId: string;
  readonly asid: number;
  /** The stream the state came from; null while bootstrapping. */
  readonly streamId: string | null;
  /** The last version applied on the scope. */
  readonly position: number;
  readonly inSync: boolean;
  /** Versions between position and the newest head the agent has seen. */
  readonly lag: number;
  /** Live objects by kind. */
  readonly counts: Readonly<Record<string, number>>;
  /** Records kept after they stopped being live (deleted, left the scope), within retention. */
  readonly retained: number;
  /** Live objects in the digest. */
  readonly objects: number;
  /** `stateDigest` of every live object. */
  readonly digest: string;
}

export type AgentDebugResponse =
  | (AgentDebugSummary & { readonly entries?: readonly AgentDebugEntry[]; readonly next?: string })
  | { readonly error: { readonly code: string; readonly message: string } };

/** Entries per page by default, and at most: ~80 bytes each keeps a page far below NATS's 1 MiB. */
export const AGENT_DEBUG_DEFAULT_PAGE = 2_000;
export const AGENT_DEBUG_MAX_PAGE = 5_000;

/** `kubemeta.<cluster>.debug.node.<node>`: where the agent of `node` answers debug requests. */
export function agentDebugSubject(cluster: string, node: string): string {
  return `${subjectBase(cluster)}.debug.node.${escapeSubjectToken(nodeScope(node).node)}`;
}

/** `kubemeta.<cluster>.debug.node.*`: every agent's debug subject (an operator's permission). */
export function allAgentDebugSubjects(cluster: string): string {
  return `${subjectBase(cluster)}.debug.node.*`;
}

function subjectBase(cluster: string): string {
  const replay = clusterSubjects(cluster).replay;
  return replay.slice(0, -'.replay'.length);
}

/** The content hash of one encoded ResourceUpdate (the bytes the service stores and sends). */
export function contentHash(payload: Uint8Array): string {
  return createHash('sha256').update(payload).digest('hex').slice(0, 16);
}

/** Sorts entries by key in place (code-unit order, as both sides sort) and returns them. */
export function sortDebugEntries<T extends AgentDebugEntry>(entries: T[]): T[] {
  return entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The digest of a scope's live objects: SHA-256 over `key version hash` lines in key order. */
export function stateDigest(sorted: readonly AgentDebugEntry[]): string {
  const h = createHash('sha256');
  for (const e of sorted) h.update(`${e.key} ${e.version} ${e.hash}\n`);
  return h.digest('hex');
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeAgentDebugRequest(request: AgentDebugRequest): Uint8Array {
  return encoder.encode(JSON.stringify(request));
}

/** Decodes a request; an empty message asks for the summary. Throws SchemaError. */
export function decodeAgentDebugRequest(bytes: Uint8Array): AgentDebugRequest {
  if (bytes.byteLength === 0) return {};
  const v = parseJson(bytes, 'agent debug request');
  if (!isObject(v)) throw invalid('agent debug request', 'is not a JSON object');
  if (v['entries'] === undefined) return {};
  const e = v['entries'];
  if (!isObject(e)) throw invalid('agent debug request', '"entries" is not an object');
  const after = e['after'];
  const limit = e['limit'];
  if (after !== undefined && typeof after !== 'string') throw invalid('agent debug request', '"entries.after" is not a string');
  if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > AGENT_DEBUG_MAX_PAGE)) {
    throw new SchemaError(SchemaErrorCode.INVALID_LIMIT, `agent debug request: "entries.limit" must be an integer in 1..${AGENT_DEBUG_MAX_PAGE}`);
  }
  return { entries: { ...(after !== undefined ? { after } : {}), ...(limit !== undefined ? { limit } : {}) } };
}

export function encodeAgentDebugResponse(response: AgentDebugResponse): Uint8Array {
  return encoder.encode(JSON.stringify(response));
}

/** Decodes and checks a response (every field the comparison reads). Throws SchemaError. */
export function decodeAgentDebugResponse(bytes: Uint8Array): AgentDebugResponse {
  const v = parseJson(bytes, 'agent debug response');
  if (!isObject(v)) throw invalid('agent debug response', 'is not a JSON object');
  if (isObject(v['error'])) {
    const e = v['error'];
    return { error: { code: String(e['code']), message: String(e['message']) } };
  }
  const str = (k: string): string => {
    const x = v[k];
    if (typeof x !== 'string') throw invalid('agent debug response', `"${k}" is not a string`);
    return x;
  };
  const num = (k: string): number => {
    const x = v[k];
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw invalid('agent debug response', `"${k}" is not a non-negative integer`);
    return x;
  };
  const streamId = v['streamId'];
  if (streamId !== null && typeof streamId !== 'string') throw invalid('agent debug response', '"streamId" is neither a string nor null');
  const counts = v['counts'];
  if (!isObject(counts) || !Object.values(counts).every((n) => typeof n === 'number')) throw invalid('agent debug response', '"counts" is not an object of numbers');
  const summary: AgentDebugSummary = {
    node: str('node'), agentInstanceId: str('agentInstanceId'), asid: num('asid'), streamId, position: num('position'),
    inSync: v['inSync'] === true, lag: num('lag'), counts: counts as Record<string, number>, retained: num('retained'), objects: num('objects'), digest: str('digest'),
  };
  const raw = v['entries'];
  if (raw === undefined) return summary;
  if (!Array.isArray(raw)) throw invalid('agent debug response', '"entries" is not an array');
  const entries = raw.map((x): AgentDebugEntry => {
    if (!isObject(x) || typeof x['key'] !== 'string' || typeof x['version'] !== 'number' || typeof x['hash'] !== 'string') {
      throw invalid('agent debug response', 'an entry lacks key, version or hash');
    }
    return { key: x['key'], version: x['version'], hash: x['hash'] };
  });
  const next = v['next'];
  if (next !== undefined && typeof next !== 'string') throw invalid('agent debug response', '"next" is not a string');
  return { ...summary, entries, ...(next !== undefined ? { next } : {}) };
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch (cause) {
    throw new SchemaError(SchemaErrorCode.DECODE_FAILED, `${what} is not UTF-8 JSON`, { cause });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(what: string, problem: string): SchemaError {
  return new SchemaError(SchemaErrorCode.INVALID_MESSAGE, `${what} ${problem}`);
}
