/**
 * Read-only dumps of the log's store for operators (`kubemeta debug store`, `kubemeta debug
 * scope --store`): raw key ranges with each value decoded where the key's kind is known
 * (keys.ts lists the layout), and one scope as the service holds it (current objects, head and
 * the end of its chain). Everything here only reads through a StoreReader; opening the store
 * without writing to it is the caller's part (stores/lmdb-readonly.ts, openEtcdStore without
 * history compaction).
 */
import { decodeResourceUpdate, resourceUpdateToJson, updateIdentity } from '../schema/index.ts';
import { decodeWriterToken } from './fence.ts';
import {
  FENCE_KEY,
  FLOOR_KEY,
  GC_PREFIX,
  HEAD_KEY,
  HISTORY_PREFIX,
  META_FORMAT_KEY,
  META_PREFIX,
  RV_PREFIX,
  SCOPE_HEAD_PREFIX,
  STREAM_KEY,
  TOMBSTONE_PREFIX,
  checkScope,
  indexRange,
  objectKeyFromStateKey,
  stateRange,
  versionFromIndexKey,
} from './keys.ts';
import { readPayloads } from './payloads.ts';
import { decodeHistory, decodeNumber, decodeState, decodeText, decodeTombstone } from './record-codec.ts';
import { keyAfter, type StoreReader } from './store.ts';
import { readScopeHead } from './tail.ts';

/** What a key holds, by its prefix (keys.ts). */
export type StoreKeyKind =
  | 'format' | 'stream' | 'head' | 'floor' | 'fence' | 'scope-head' | 'resource-version' | 'meta'
  | 'history' | 'scope-index' | 'scope-state' | 'object' | 'tombstone' | 'gc' | 'unknown';

export interface DumpedEntry {
  readonly key: string;
  readonly kind: StoreKeyKind;
  readonly bytes: number;
  /** The decoded value, where the kind is known and the value decodes. */
  readonly value?: unknown;
  /** The raw value in hex, where it is not decoded. */
  readonly hex?: string;
  /** Why a value of a known kind did not decode (a damaged store). */
  readonly error?: string;
}

/** Classifies a key by the layout in keys.ts. */
export function storeKeyKind(key: string): StoreKeyKind {
  if (key === META_FORMAT_KEY) return 'format';
  if (key === STREAM_KEY) return 'stream';
  if (key === HEAD_KEY) return 'head';
  if (key === FLOOR_KEY) return 'floor';
  if (key === FENCE_KEY) return 'fence';
  if (key.startsWith(SCOPE_HEAD_PREFIX)) return 'scope-head';
  if (key.startsWith(RV_PREFIX)) return 'resource-version';
  if (key.startsWith(META_PREFIX)) return 'meta';
  if (key.startsWith(HISTORY_PREFIX)) return 'history';
  if (key.startsWith('s/')) return 'scope-index';
  if (key.startsWith('c/')) return 'scope-state';
  if (key.startsWith('o/')) return 'object';
  if (key.startsWith(TOMBSTONE_PREFIX)) return 'tombstone';
  if (key.startsWith(GC_PREFIX)) return 'gc';
  return 'unknown';
}

const hexOf = (v: Uint8Array): string => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');

/**
 * One entry with its value decoded where the key's kind is known. Extension metadata (`m/x/`:
 * the agent registry and whatever later features keep there) and garbage-collection markers
 * have no one format: they are shown as hex.
 */
export function describeStoreEntry(key: string, value: Uint8Array): DumpedEntry {
  const kind = storeKeyKind(key);
  const base = { key, kind, bytes: value.byteLength };
  try {
    const decoded = decodeValue(kind, key, value);
    return decoded === undefined ? { ...base, hex: hexOf(value) } : { ...base, value: decoded };
  } catch (err) {
    return { ...base, hex: hexOf(value), error: (err as Error).message };
  }
}

function decodeValue(kind: StoreKeyKind, key: string, value: Uint8Array): unknown {
  switch (kind) {
    case 'format': case 'head': case 'floor': case 'scope-head':
      return decodeNumber(value, key);
    case 'scope-index':
      return { prevVersion: decodeNumber(value, key) };
    case 'stream': case 'resource-version':
      return decodeText(value, key);
    case 'fence':
      return decodeWriterToken(value);
    case 'scope-state': case 'object':
      return decodeState(value, key);
    case 'tombstone':
      return decodeTombstone(value, key);
    case 'history': {
      const h = decodeHistory(value, key);
      return { committedAtMs: h.committedAtMs, state: h.state, objectKey: h.objectKey, kind: h.kind, scopes: h.scopes, update: resourceUpdateToJson(decodeResourceUpdate(h.payload)) };
    }
    default:
      return undefined;
  }
}

/** One object of a scope as the store holds it. */
export interface ScopeObject {
  /** `<Kind>/<uid>` (the log's object key). */
  readonly key: string;
  readonly kind: string;
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly version: number;
  /** A tombstone kept for retention (docs/design.md §4): the object was deleted. */
  readonly deleted: boolean;
  /** The encoded ResourceUpdate (for content hashes); not printed. */
  readonly payload: Uint8Array;
}

export interface ScopeDump {
  readonly scope: string;
  readonly streamId: string | undefined;
  /** The log's head (every scope). */
  readonly logHead: number;
  readonly floor: number;
  /** The last version on this scope: its chain's end. */
  readonly head: number;
  readonly objects: readonly ScopeObject[];
  /** The last links of the scope's chain, newest first (history below the floor is gone). */
  readonly chain: ReadonlyArray<{ readonly version: number; readonly prevVersion: number }>;
}

const PAGE = 1000;

/** Reads one scope (see ScopeDump); `chain` links at most (default 20). */
export async function readScopeDump(reader: StoreReader, scope: string, options: { chain?: number } = {}): Promise<ScopeDump> {
  checkScope(scope);
  const [stream, head, floor] = await reader.getMany([STREAM_KEY, HEAD_KEY, FLOOR_KEY]);
  const objects: ScopeObject[] = [];
  const range = stateRange(scope);
  for (let start = range.start; ;) {
    const rows = await reader.scan({ start, end: range.end, limit: PAGE });
    const states = rows.map(([key, value]) => decodeState(value, key));
    const payloads = await readPayloads(reader, states.map((s) => s.version), `scope ${JSON.stringify(scope)}`);
    rows.forEach(([key], i) => {
      const payload = payloads[i] as Uint8Array;
      objects.push({ key: objectKeyFromStateKey(scope, key), ...identify(payload), version: (states[i] as { version: number }).version, deleted: (states[i] as { deleted: boolean }).deleted, payload });
    });
    const last = rows.at(-1);
    if (rows.length < PAGE || !last) break;
    start = keyAfter(last[0]);
  }
  const links = await reader.scan({ ...indexRange(scope, 0), limit: options.chain ?? 20, reverse: true });
  return {
    scope,
    streamId: stream === undefined ? undefined : decodeText(stream, STREAM_KEY),
    logHead: head === undefined ? 0 : decodeNumber(head, HEAD_KEY),
    floor: floor === undefined ? 1 : decodeNumber(floor, FLOOR_KEY),
    head: await readScopeHead(reader, scope),
    objects,
    chain: links.map(([key, value]) => ({ version: versionFromIndexKey(key), prevVersion: decodeNumber(value, key) })),
  };
}

/** Kind, uid, name and namespace of an encoded update (what a table of objects shows). */
export function identify(payload: Uint8Array): { kind: string; uid: string; name: string; namespace: string } {
  const update = decodeResourceUpdate(payload);
  const id = updateIdentity(update);
  const o = update.object.value as { name?: unknown; namespace?: unknown } | undefined;
  return { kind: id.kind, uid: id.uid, name: typeof o?.name === 'string' ? o.name : '', namespace: typeof o?.namespace === 'string' ? o.namespace : '' };
}
