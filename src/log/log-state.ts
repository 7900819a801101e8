/**
 * Reading the log's durable state (stream id, head, floor, scope heads, resourceVersions) and
 * creating it in an empty store. The stream id is created with the store and never changes:
 * a wiped or replaced store gets a new one, so consumers re-bootstrap instead of dropping new
 * updates as duplicates (docs/design.md §7).
 */
import type { Logger } from '../core/index.ts';
import { LogError, LogErrorCode, isStoreError } from './errors.ts';
import {
  FENCE_KEY,
  FLOOR_KEY,
  FORMAT,
  HEAD_KEY,
  META_FORMAT_KEY,
  RV_PREFIX,
  SCOPE_HEAD_PREFIX,
  STREAM_KEY,
  nameFromKey,
} from './keys.ts';
import { decodeNumber, decodeText, encodeNumber, encodeText } from './record-codec.ts';
import { KEYSPACE, keyAfter, prefixRange, type CommitGuard, type StoreReader, type UpdateStore } from './store.ts';

export interface DurableState {
  streamId: string;
  head: number;
  floor: number;
  scopeHeads: Map<string, number>;
  resourceVersions: Map<string, string>;
}

const PAGE = 1000;
const HEX = '0123456789abcdef';

/** 128 random bits as 32 lowercase hex digits (the schema module's StreamId format). */
export function newStreamId(): string {
  let out = '';
  for (const b of crypto.getRandomValues(new Uint8Array(16))) out += (HEX[b >> 4] as string) + (HEX[b & 15] as string);
  return out;
}

/** Every entry under `prefix`, read in pages of PAGE (only for small, bounded prefixes). */
async function* scanPrefix(reader: StoreReader, prefix: string): AsyncGenerator<[string, Uint8Array]> {
  const range = prefixRange(prefix);
  let start = range.start;
  for (;;) {
    const rows = await reader.scan({ start, end: range.end, limit: PAGE });
    yield* rows;
    const last = rows.at(-1);
    if (rows.length < PAGE || !last) return;
    start = keyAfter(last[0]);
  }
}

/** Reads the state, or undefined when the store has no log yet. */
export async function readDurableState(store: StoreReader, location: string): Promise<DurableState | undefined> {
  const [format, stream, head, floor] = await store.getMany([META_FORMAT_KEY, STREAM_KEY, HEAD_KEY, FLOOR_KEY]);
  if (stream === undefined) {
    // A writer fence alone (an HA leader claims the store before creating the log) is empty.
    const any = (await store.scan({ ...KEYSPACE, limit: 2 })).filter(([key]) => key !== FENCE_KEY);
    if (any.length === 0) return undefined;
    throw new LogError(
      LogErrorCode.STORE_UNRECOGNIZED,
      `the store at ${location} holds data but no kubemeta stream id (first key ${JSON.stringify(any[0]?.[0])}): ` +
        'point kubemeta at an empty location or at a store it created',
    );
  }
  const version = format === undefined ? undefined : decodeNumber(format, META_FORMAT_KEY);
  if (version !== FORMAT) {
    throw new LogError(
      LogErrorCode.STORE_UNRECOGNIZED,
      `the store at ${location} has log format ${String(version)}, this kubemeta reads format ${FORMAT}: ` +
        'run the kubemeta version that wrote it, or start a new store (consumers re-bootstrap)',
    );
  }
  const scopeHeads = new Map<string, number>();
  for await (const [key, value] of scanPrefix(store, SCOPE_HEAD_PREFIX)) {
    scopeHeads.set(nameFromKey(SCOPE_HEAD_PREFIX, key), decodeNumber(value, key));
  }
  const resourceVersions = new Map<string, string>();
  for await (const [key, value] of scanPrefix(store, RV_PREFIX)) {
    resourceVersions.set(nameFromKey(RV_PREFIX, key), decodeText(value, key));
  }
  return {
    streamId: decodeText(stream, STREAM_KEY),
    head: head === undefined ? 0 : decodeNumber(head, HEAD_KEY),
    floor: floor === undefined ? 1 : decodeNumber(floor, FLOOR_KEY),
    scopeHeads,
    resourceVersions,
  };
}

/**
 * Reads the log's state, creating a new log (fresh stream id, head 0) in an empty store. The
 * creation is guarded on the stream id being absent, so two processes racing on one new store
 * (etcd) agree on one stream id.
 */
export async function loadOrCreate(store: UpdateStore, logger: Logger, fence?: CommitGuard): Promise<DurableState> {
  const existing = await readDurableState(store, store.location);
  if (existing) {
    logger.info({ streamId: existing.streamId, version: existing.head, scopes: existing.scopeHeads.size }, 'log opened');
    return existing;
  }
  const streamId = newStreamId();
  try {
    await store.commit(
      [
        { type: 'put', key: META_FORMAT_KEY, value: encodeNumber(FORMAT) },
        { type: 'put', key: STREAM_KEY, value: encodeText(streamId) },
        { type: 'put', key: HEAD_KEY, value: encodeNumber(0) },
        { type: 'put', key: FLOOR_KEY, value: encodeNumber(1) },
      ],
      [...(fence ? [fence] : []), { key: STREAM_KEY, equals: undefined }],
    );
  } catch (err) {
    if (!isStoreError(err, LogErrorCode.GUARD_FAILED)) throw err;
    const raced = await readDurableState(store, store.location);
    if (raced) return raced;
    throw err;
  }
  logger.info({ streamId, location: store.location }, 'new log created (new stream id)');
  return { streamId, head: 0, floor: 1, scopeHeads: new Map(), resourceVersions: new Map() };
}
