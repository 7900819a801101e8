import { KubemetaError } from '../core/index.ts';
import { timeNsFromRfc3339 } from '../schema/index.ts';

/**
 * Readers for the fields of Kubernetes JSON we project. The API server is trusted for shape
 * but not blindly: a missing or mistyped field reads as empty, and an object without the
 * identity we key on (metadata.uid, metadata.name) is refused with BadObjectError, which
 * the pipeline counts and skips (it never stops the service).
 */
export class BadObjectError extends KubemetaError {
  readonly kind: string;
  constructor(kind: string, problem: string) {
    super('PROJECT_BAD_OBJECT', `skipped a ${kind} the API server sent: ${problem}`);
    this.kind = kind;
  }
}

export type Json = Record<string, unknown>;

export function obj(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

export function arr(value: unknown): Json[] {
  return Array.isArray(value) ? value.map(obj) : [];
}

export function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export function strs(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.min(Math.floor(value), 0xffff_ffff) : 0;
}

export function labels(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(value))) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * The projector's own memory is inconsistent (a kept update that does not decode as what it
 * was kept as): a bug, never bad input. The event is counted as failed and skipped.
 */
export class ProjectorStateError extends KubemetaError {
  constructor(message: string) {
    super('PROJECT_STATE_CORRUPT', message);
  }
}

/** The latest time an sfixed64 of nanoseconds holds (2262-04-11): a later one would wrap negative. */
const MAX_TIME_NS = 2n ** 63n - 1n;

/**
 * RFC 3339 time → nanoseconds since the epoch, keeping sub-millisecond digits. An absent or
 * unparsable time, or one before 1970 or after 2262, reads as 0n (unset): one odd timestamp
 * does not cost the whole object.
 */
export function timeNs(value: unknown): bigint {
  if (typeof value !== 'string' || value === '') return 0n;
  try {
    const ns = timeNsFromRfc3339(value);
    return ns > 0n && ns <= MAX_TIME_NS ? ns : 0n;
  } catch {
    return 0n;
  }
}

export interface Identity {
  uid: string;
  name: string;
  namespace: string;
  meta: Json;
}

/** metadata with the identity we key on; throws BadObjectError without uid or name. */
export function identity(kind: string, object: unknown, namespaced: boolean): Identity {
  const meta = obj(obj(object)['metadata']);
  const uid = str(meta['uid']);
  const name = str(meta['name']);
  if (uid === '') throw new BadObjectError(kind, `metadata.uid is missing (name ${JSON.stringify(name)})`);
  if (name === '') throw new BadObjectError(kind, `metadata.name is missing (uid ${uid})`);
  const namespace = str(meta['namespace']);
  if (namespaced && namespace === '') throw new BadObjectError(kind, `metadata.namespace is missing (${name}, uid ${uid})`);
  return { uid, name, namespace, meta };
}
