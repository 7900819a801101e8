import { DIMENSIONS, type Dimension, type TelemetryFilter } from './query-language.ts';
import type { GroupKey } from './aggregate.ts';
import { TelemetryError, TelemetryErrorCode } from './errors.ts';

/**
 * The broker ↔ agent query protocol on NATS (docs/agents.md): the broker sends one request to
 * `kubemeta.<cluster>.query.node.<node>` (ClusterSubjects.agentQuery) and the agent answers into
 * the request's reply inbox. Both are JSON: small, and readable with `nats req` when debugging.
 * The agent aggregates its own rows and answers mergeable partials; it never sends rows.
 */
export const QUERY_PROTOCOL_VERSION = 1;

export interface AgentQueryRequest {
  readonly v: 1;
  /** Rows with fromMs < timestamp ≤ toMs count (the broker's clock, so every agent uses one window). */
  readonly fromMs: number;
  readonly toMs: number;
  readonly filter: TelemetryFilter;
  readonly groupBy: readonly Dimension[];
  /** Send latency histograms (percentile aggregations only: they are the bulk of an answer). */
  readonly histogram: boolean;
  /** Groups the agent may answer; beyond it the rest are dropped and `groupsTruncated` is set. */
  readonly maxGroups: number;
}

/** One group of an answer; `hist` is sparse: [bucket, count, …] (latency-histogram.ts). */
export interface WireGroup {
  readonly key: GroupKey;
  readonly count: number;
  readonly errors: number;
  readonly sum: number;
  readonly max: number;
  readonly hist?: readonly number[];
}

export type AgentQueryReply =
  | {
      readonly v: 1;
      readonly ok: true;
      readonly node: string;
      readonly asid: number;
      readonly groups: readonly WireGroup[];
      /** Rows in the window the agent looked at. */
      readonly scanned: number;
      /** Of those, rows that hydrated and matched the filter. */
      readonly matched: number;
      /** Rows whose UPID did not hydrate (process unknown, or its pod left retention). */
      readonly unhydrated: number;
      readonly groupsTruncated: boolean;
      /** Timestamp of the oldest row the agent holds (null: none): its rows cover the window from there on. */
      readonly oldestMs: number | null;
      readonly tookMs: number;
    }
  | { readonly v: 1; readonly ok: false; readonly node: string; readonly error: { readonly code: AgentQueryErrorCode; readonly message: string } };

/** BAD_REQUEST: the request is not this protocol; BUSY: too many queries waiting at this agent. */
export type AgentQueryErrorCode = 'BAD_REQUEST' | 'BUSY' | 'INTERNAL';

const FILTER_FIELDS = new Set(['namespace', 'service', 'pod', 'node', 'deployment', 'container', 'labelSelector']);
const MAX_GROUPS_LIMIT = 1_000_000;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return utf8.encode(JSON.stringify(value));
}

/** Reads and checks a request; throws TelemetryError BAD_MESSAGE naming the bad field. */
export function decodeAgentQueryRequest(data: Uint8Array): AgentQueryRequest {
  const r = parseObject(data, 'query request');
  if (r['v'] !== QUERY_PROTOCOL_VERSION) throw bad(`query request: v must be ${QUERY_PROTOCOL_VERSION}, got ${JSON.stringify(r['v'])}`);
  const fromMs = r['fromMs'];
  const toMs = r['toMs'];
  if (!isFiniteNumber(fromMs) || !isFiniteNumber(toMs) || fromMs > toMs) throw bad('query request: fromMs and toMs must be numbers with fromMs ≤ toMs');
  const filter = r['filter'];
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) throw bad('query request: filter must be an object');
  for (const [k, v] of Object.entries(filter)) {
    if (!FILTER_FIELDS.has(k)) throw bad(`query request: unknown filter field ${JSON.stringify(k)}`);
    if (typeof v !== 'string' || v === '') throw bad(`query request: filter.${k} must be a non-empty string`);
  }
  const groupBy = r['groupBy'];
  if (!Array.isArray(groupBy) || !groupBy.every((d) => (DIMENSIONS as readonly unknown[]).includes(d)) || new Set(groupBy).size !== groupBy.length) {
    throw bad(`query request: groupBy must list distinct dimensions of ${DIMENSIONS.join(', ')}`);
  }
  const maxGroups = r['maxGroups'];
  if (!Number.isInteger(maxGroups) || (maxGroups as number) < 1 || (maxGroups as number) > MAX_GROUPS_LIMIT) throw bad(`query request: maxGroups must be an integer in [1, ${MAX_GROUPS_LIMIT}]`);
  if (typeof r['histogram'] !== 'boolean') throw bad('query request: histogram must be a boolean');
  return { v: 1, fromMs, toMs, filter: filter as TelemetryFilter, groupBy: groupBy as Dimension[], histogram: r['histogram'], maxGroups: maxGroups as number };
}

/** Reads and checks a reply; throws TelemetryError BAD_MESSAGE. */
export function decodeAgentQueryReply(data: Uint8Array, keyLength: number): AgentQueryReply {
  const r = parseObject(data, 'query reply');
  if (r['v'] !== QUERY_PROTOCOL_VERSION || typeof r['node'] !== 'string') throw bad('query reply: not a version 1 reply');
  if (r['ok'] === false) {
    const e = r['error'] as { code?: unknown; message?: unknown } | undefined;
    if (typeof e?.code !== 'string' || typeof e.message !== 'string') throw bad('query reply: error without code and message');
    return { v: 1, ok: false, node: r['node'], error: { code: e.code as AgentQueryErrorCode, message: e.message } };
  }
  if (r['ok'] !== true || !Array.isArray(r['groups'])) throw bad('query reply: ok must be true or false, groups a list');
  for (const g of r['groups'] as unknown[]) checkGroup(g, keyLength);
  for (const f of ['asid', 'scanned', 'matched', 'unhydrated', 'tookMs']) if (!isFiniteNumber(r[f])) throw bad(`query reply: ${f} must be a number`);
  if (r['oldestMs'] !== null && !isFiniteNumber(r['oldestMs'])) throw bad('query reply: oldestMs must be a number or null');
  return r as unknown as AgentQueryReply;
}

function checkGroup(g: unknown, keyLength: number): void {
  const group = g as Partial<Record<keyof WireGroup, unknown>>;
  if (typeof g !== 'object' || g === null) throw bad('query reply: a group is not an object');
  if (!Array.isArray(group.key) || group.key.length !== keyLength || !group.key.every((k) => k === null || typeof k === 'string')) {
    throw bad(`query reply: a group key must list ${keyLength} strings or nulls`);
  }
  for (const f of ['count', 'errors', 'sum', 'max'] as const) if (!isFiniteNumber(group[f]) || (group[f] as number) < 0) throw bad(`query reply: group ${f} must be a non-negative number`);
  if (group.hist !== undefined && (!Array.isArray(group.hist) || group.hist.length % 2 !== 0 || !group.hist.every((n) => Number.isInteger(n) && n >= 0))) {
    throw bad('query reply: group hist must be [bucket, count, …] integers');
  }
}

function parseObject(data: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8.decode(data));
  } catch (cause) {
    throw new TelemetryError(TelemetryErrorCode.BAD_MESSAGE, `${what} is not JSON`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function bad(message: string): TelemetryError {
  return new TelemetryError(TelemetryErrorCode.BAD_MESSAGE, message);
}
