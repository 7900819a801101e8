/**
 * The log's key layout in the store. Every number is 16 lowercase hex digits, so key order is
 * numeric order; every name (scope, kind, object key) is escaped so that it cannot run into the
 * next key segment.
 *
 *   m/format                       layout version of this log (FORMAT)
 *   m/stream                       stream id, created with the store (docs/design.md §7)
 *   m/head                         the last committed version (docs/design.md §1)
 *   m/floor                        history below this version was compacted
 *   m/scopehead/<scope>            the last version on a scope: its chain's end (docs/design.md §2)
 *   m/rv/<kind>                    source resourceVersion, written with the batch
 *   m/x/<name>                     extension metadata (agent registry, processes, publish position)
 *   h/<version>                    history record: payload, object, scopes with prevVersions
 *   s/<scope>/<version>            per-scope index: prevVersion (tails, docs/design.md §4)
 *   c/<scope>/<objectKey>          current state of a scope: version, deleted (payload in h/)
 *   o/<objectKey>                  latest state of an object: version, deleted (payload in h/);
 *                                  scope exits and view-only updates leave it (types.ts)
 *   t/<deletedAtMs>/<version>      tombstone index for retention: object key and scopes
 *   g/<version>                    a history record below the floor lost a reference: check it
 *
 * A payload is stored once, in its history record. History below the floor is dropped unless a
 * c/ or o/ entry still points at it ("pinned"); whenever such an entry moves on, a g/ marker
 * asks compaction to check whether the old record can go (see compaction.ts).
 */
import { InvalidArgumentError } from '../core/index.ts';
import { keyAfter, prefixRange, type KeyRange } from './store.ts';

export const FORMAT = 1;

export const META_FORMAT_KEY = 'm/format';
export const STREAM_KEY = 'm/stream';
export const HEAD_KEY = 'm/head';
export const FLOOR_KEY = 'm/floor';
/** The writer fence (fence.ts): the token of the leader allowed to commit. */
export const FENCE_KEY = 'm/fence';
export const SCOPE_HEAD_PREFIX = 'm/scopehead/';
export const RV_PREFIX = 'm/rv/';
export const META_PREFIX = 'm/x/';
export const HISTORY_PREFIX = 'h/';
export const TOMBSTONE_PREFIX = 't/';
export const GC_PREFIX = 'g/';
const INDEX_PREFIX = 's/';
const STATE_PREFIX = 'c/';
/** The object table's prefix: objectKeyOf(k) is this followed by escapeObjectKey(k). */
export const OBJECT_PREFIX = 'o/';

/** Longest scope, kind or meta name accepted (a node name is at most 253 characters). */
export const MAX_NAME_LENGTH = 320;
/** Longest object key accepted (`<kind>/<uid>` is far shorter). */
export const MAX_OBJECT_KEY_LENGTH = 320;

const HEX_WIDTH = 16;
const SEGMENT_SAFE = /^[A-Za-z0-9._:-]$/;
const OBJECT_SAFE = /^[A-Za-z0-9._:/-]$/;
const encoder = new TextEncoder();

/** A non-negative safe integer as 16 lowercase hex digits. */
export function hex(n: number): string {
  return n.toString(16).padStart(HEX_WIDTH, '0');
}

export function parseHex(text: string): number {
  const n = Number.parseInt(text, 16);
  if (text.length !== HEX_WIDTH || !Number.isSafeInteger(n)) throw new InvalidArgumentError("hex number in a store key", `${JSON.stringify(text)} is not ${HEX_WIDTH} hex digits`);
  return n;
}

const ALL_SEGMENT_SAFE = /^[A-Za-z0-9._:-]*$/;
const ALL_OBJECT_SAFE = /^[A-Za-z0-9._:/-]*$/;
/** Escaped scopes, cached: a handful of scopes appear in every batch. Bounded by clearing. */
const segmentCache = new Map<string, string>();
const SEGMENT_CACHE_MAX = 20_000;

function escapeWith(text: string, safe: RegExp): string {
  let out = '';
  for (const ch of text) {
    if (safe.test(ch)) {
      out += ch;
      continue;
    }
    for (const b of encoder.encode(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Percent-escapes everything but [A-Za-z0-9._:-]: the result has no '/' and is printable ASCII. */
export function escapeSegment(text: string): string {
  if (ALL_SEGMENT_SAFE.test(text)) return text;
  let out = segmentCache.get(text);
  if (out === undefined) {
    if (segmentCache.size >= SEGMENT_CACHE_MAX) segmentCache.clear();
    out = escapeWith(text, SEGMENT_SAFE);
    segmentCache.set(text, out);
  }
  return out;
}

/** Like escapeSegment but keeps '/', for object keys, which are always the last key segment. */
export function escapeObjectKey(text: string): string {
  return ALL_OBJECT_SAFE.test(text) ? text : escapeWith(text, OBJECT_SAFE);
}

export function unescapeKey(text: string): string {
  return decodeURIComponent(text);
}

function checkName(what: string, name: string, max: number): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > max) {
    throw new InvalidArgumentError(what, `must be a non-empty string of at most ${max} characters, got ${JSON.stringify(name)}`);
  }
}

export function checkScope(scope: string): void {
  checkName('scope', scope, MAX_NAME_LENGTH);
}

export function checkObjectKey(objectKey: string): void {
  checkName('objectKey', objectKey, MAX_OBJECT_KEY_LENGTH);
}

export function checkMetaName(name: string): void {
  checkName('meta name', name, MAX_NAME_LENGTH);
}

export const scopeHeadKey = (scope: string): string => SCOPE_HEAD_PREFIX + escapeSegment(scope);
export const rvKey = (kind: string): string => RV_PREFIX + escapeSegment(kind);
export const metaKey = (name: string): string => META_PREFIX + escapeSegment(name);
export const historyKey = (version: number): string => HISTORY_PREFIX + hex(version);
/** `s/<scope>/`: indexKey(scope, v) is this followed by hex(v). */
export const indexPrefix = (scope: string): string => `${INDEX_PREFIX}${escapeSegment(scope)}/`;
/** `c/<scope>/`: stateKey(scope, k) is this followed by escapeObjectKey(k). */
export const statePrefix = (scope: string): string => `${STATE_PREFIX}${escapeSegment(scope)}/`;
export const indexKey = (scope: string, version: number): string => indexPrefix(scope) + hex(version);
export const stateKey = (scope: string, objectKey: string): string => statePrefix(scope) + escapeObjectKey(objectKey);
export const objectKeyOf = (objectKey: string): string => OBJECT_PREFIX + escapeObjectKey(objectKey);
export const tombstoneKey = (deletedAtMs: number, version: number): string => `${TOMBSTONE_PREFIX}${hex(deletedAtMs)}/${hex(version)}`;
export const gcKey = (version: number): string => GC_PREFIX + hex(version);

/** The name at the end of a key under `prefix` (scope heads, resourceVersions, meta). */
export function nameFromKey(prefix: string, key: string): string {
  return unescapeKey(key.slice(prefix.length));
}

/** Index entries of `scope` with versions in [from, to). */
export function indexRange(scope: string, from: number, to?: number): KeyRange {
  const prefix = `${INDEX_PREFIX}${escapeSegment(scope)}/`;
  return { start: prefix + hex(from), end: to === undefined ? prefixRange(prefix).end : prefix + hex(to) };
}

export function versionFromIndexKey(key: string): number {
  return parseHex(key.slice(key.lastIndexOf('/') + 1));
}

/** History records with versions in [from, to). */
export function historyRange(from: number, to: number): KeyRange {
  return { start: historyKey(from), end: historyKey(to) };
}

export function versionFromHistoryKey(key: string): number {
  return parseHex(key.slice(HISTORY_PREFIX.length));
}

/** A scope's current-state entries, starting after `afterKey` when given (paging). */
export function stateRange(scope: string, afterKey?: string, objectKeyPrefix = ''): KeyRange {
  const range = prefixRange(`${STATE_PREFIX}${escapeSegment(scope)}/${escapeObjectKey(objectKeyPrefix)}`);
  return afterKey === undefined ? range : { start: keyAfter(afterKey), end: range.end };
}

export function objectKeyFromStateKey(scope: string, key: string): string {
  return unescapeKey(key.slice(STATE_PREFIX.length + escapeSegment(scope).length + 1));
}

/** Object-table entries whose object key starts with `prefix`, after `afterKey` when given. */
export function objectRange(prefix: string, afterKey?: string): KeyRange {
  const range = prefixRange(OBJECT_PREFIX + escapeObjectKey(prefix));
  return afterKey === undefined ? range : { start: keyAfter(afterKey), end: range.end };
}

export function isObjectTableKey(key: string): boolean {
  return key.startsWith(OBJECT_PREFIX);
}

export function versionFromGcKey(key: string): number {
  return parseHex(key.slice(GC_PREFIX.length));
}

export function objectKeyFromTableKey(key: string): string {
  return unescapeKey(key.slice(OBJECT_PREFIX.length));
}

/** Tombstone index entries deleted before `beforeMs`. */
export function tombstoneRange(beforeMs: number): KeyRange {
  return { start: TOMBSTONE_PREFIX, end: TOMBSTONE_PREFIX + hex(Math.max(0, beforeMs)) };
}

export function versionFromTombstoneKey(key: string): number {
  return parseHex(key.slice(key.lastIndexOf('/') + 1));
}
