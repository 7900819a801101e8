/**
 * Tail reads for replay (docs/design.md §4): the updates of one scope after a version, a bounded
 * page at a time, from one consistent store view per page.
 *
 * Completeness is checked through the chain itself (docs/design.md §2), not through the floor: the
 * first entry found after `after` must have prevVersion <= after (equal when `after` is a
 * version of this scope, as a consumer's position always is), and every later entry must chain
 * exactly on the one before. A predecessor beyond `after` means compaction dropped an update of
 * the range (possibly between two pages): the caller gets HistoryCompactedError and answers
 * with a snapshot instead. So a tail is never silently incomplete, whatever a concurrent
 * compaction does.
 */
import { InvalidArgumentError } from '../core/index.ts';
import { HistoryCompactedError, LogError, LogErrorCode } from './errors.ts';
import {
  FLOOR_KEY,
  HISTORY_PREFIX,
  checkScope,
  historyKey,
  indexRange,
  scopeHeadKey,
  versionFromHistoryKey,
  versionFromIndexKey,
} from './keys.ts';
import { decodeHistory, decodeNumber } from './record-codec.ts';
import { prefixRange, type StoreReader, type UpdateStore } from './store.ts';
import { readPayloadRun, type HistoryReadMode } from './tail-records.ts';
import type { CommittedUpdate, ReadTailOptions, ScopedEntry, TailPage } from './types.ts';

const DEFAULT_LIMIT = 1000;
const DEFAULT_MAX_BYTES = 1024 * 1024;
const MAX_LIMIT = 100_000;

/** The scope's head as stored (0: no update on it yet). */
export async function readScopeHead(reader: StoreReader, scope: string): Promise<number> {
  const key = scopeHeadKey(scope);
  const value = await reader.get(key);
  return value === undefined ? 0 : decodeNumber(value, key);
}

function checkTailArgs(scope: string, after: number, options: ReadTailOptions): { limit: number; maxBytes: number } {
  checkScope(scope);
  if (!Number.isSafeInteger(after) || after < 0) {
    throw new InvalidArgumentError('after', `must be a non-negative safe integer, got ${String(after)}`);
  }
  const limit = options.limit ?? DEFAULT_LIMIT;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new InvalidArgumentError('limit', `must be an integer in 1..${MAX_LIMIT}, got ${String(limit)}`);
  }
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new InvalidArgumentError('maxBytes', `must be a positive integer, got ${String(maxBytes)}`);
  }
  return { limit, maxBytes };
}

async function compacted(reader: StoreReader, scope: string, after: number): Promise<HistoryCompactedError> {
  const floor = await reader.get(FLOOR_KEY);
  return new HistoryCompactedError(scope, after, floor === undefined ? 1 : decodeNumber(floor, FLOOR_KEY));
}

/**
 * One page of scope `scope` after version `after`. Throws HistoryCompactedError when part of
 * the range was compacted, LogError LOG_VERSION_AHEAD when `after` is beyond the scope head
 * (the consumer's state did not come from this log: it must bootstrap by snapshot).
 * `historyReads` forces how the history records are read (tests); the default chooses per page
 * (tail-records.ts).
 */
export async function readTail(
  store: UpdateStore,
  scope: string,
  after: number,
  options: ReadTailOptions = {},
  historyReads: HistoryReadMode = 'auto',
): Promise<TailPage> {
  const { limit, maxBytes } = checkTailArgs(scope, after, options);
  const view = await store.readView();
  try {
    const scopeHead = await readScopeHead(view, scope);
    if (after > scopeHead) {
      throw new LogError(
        LogErrorCode.VERSION_AHEAD,
        `version ${after} is beyond the head ${scopeHead} of scope ${JSON.stringify(scope)}: the consumer's state ` +
          'is not from this stream; bootstrap it with a snapshot',
      );
    }
    if (after === scopeHead) return { entries: [], next: undefined, scopeHead };
    const rows = await view.scan({ ...indexRange(scope, after + 1), limit });
    if (rows.length === 0) throw await compacted(view, scope, after);
    const versions: number[] = [];
    const prevs: number[] = [];
    let expected = after;
    for (const [key, value] of rows) {
      const version = versionFromIndexKey(key);
      const prev = decodeNumber(value, key);
      // The first entry's predecessor on the scope must not lie after `after` (it is `after`
      // itself when `after` is on the chain); later entries must chain exactly.
      if (versions.length === 0 ? prev > after : prev !== expected) throw await compacted(view, scope, after);
      versions.push(version);
      prevs.push(prev);
      expected = version;
    }
    // The history records, by one range scan or by key depending on the page's density, and
    // only their payloads decoded (tail-records.ts).
    const run = await readPayloadRun(view, versions, maxBytes, historyReads);
    if (run.missing) throw await compacted(view, scope, after);
    const payloads = run.payloads;
    const entries: ScopedEntry[] = [];
    for (let i = 0; i < payloads.length; i++) {
      entries.push({ version: versions[i] as number, prevVersion: prevs[i] as number, payload: payloads[i] as Uint8Array });
    }
    const last = entries.at(-1)?.version ?? after;
    return { entries, next: last < scopeHead ? last : undefined, scopeHead };
  } finally {
    view.close();
  }
}

/**
 * Up to `limit` updates of the whole stream with version > `after`, in version order, with their
 * scopes and prevVersions: what the publisher re-sends after a NATS outage or a restart
 * (docs/design.md §3). Throws HistoryCompactedError (scope '*') when part of (after, floor) was
 * compacted: those updates cannot be re-sent; consumers that missed them fill the gap by replay
 * (a snapshot, docs/design.md §4), so the caller continues from `error.floor - 1`.
 */
export async function readHistory(store: UpdateStore, after: number, limit: number): Promise<CommittedUpdate[]> {
  if (!Number.isSafeInteger(after) || after < 0) {
    throw new InvalidArgumentError('after', `must be a non-negative safe integer, got ${String(after)}`);
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new InvalidArgumentError('limit', `must be an integer in 1..${MAX_LIMIT}, got ${String(limit)}`);
  }
  const view = await store.readView();
  try {
    const floorValue = await view.get(FLOOR_KEY);
    const floor = floorValue === undefined ? 1 : decodeNumber(floorValue, FLOOR_KEY);
    if (after + 1 < floor) throw new HistoryCompactedError('*', after, floor);
    // Starts at or above the floor: records below it that current state pins are not history.
    const rows = await view.scan({ start: historyKey(after + 1), end: prefixRange(HISTORY_PREFIX).end, limit });
    return rows.map(([key, value]) => {
      const record = decodeHistory(value, key);
      return {
        version: versionFromHistoryKey(key),
        objectKey: record.objectKey,
        state: record.state,
        kind: record.kind,
        payload: record.payload,
        scopes: record.scopes,
      };
    });
  } finally {
    view.close();
  }
}
