// Tail reads (tail.ts, tail-records.ts): the dense (one range scan of h/) and sparse (one point
// read per record) ways of reading a page return the same entries and report the same
// compaction; the payload-only decoding of history records matches decodeHistory exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTempDir } from '../testing/index.ts';
import { historyKey } from './keys.ts';
import { decodeHistory, encodeHistory, historyPayload, type HistoryRecord } from './record-codec.ts';
import { openLmdbStore } from './stores/lmdb-store.ts';
import type { ScanOptions, StoreView, UpdateStore } from './store.ts';
import { readTail } from './tail.ts';
import { DENSE_SCAN_MAX_SPAN, readPayloadRun, type HistoryReadMode } from './tail-records.ts';
import type { PendingUpdate, TailPage } from './types.ts';
import { UpdateLog } from './update-log.ts';

const MODES: readonly HistoryReadMode[] = ['auto', 'get', 'scan'];

async function withLog(fn: (store: UpdateStore, log: UpdateLog) => Promise<void>): Promise<void> {
  const dir = await makeTempDir('tail-unit');
  const store = await openLmdbStore({ path: dir.path });
  try {
    const log = await UpdateLog.open(store);
    await fn(store, log);
    await log.close();
  } finally {
    await store.close();
    await dir.remove();
  }
}

/** Deterministic payload of `size` bytes for update `i`. */
const payloadOf = (i: number, size: number): Uint8Array => Uint8Array.from({ length: size }, (_, j) => (i * 31 + j) % 251);

/**
 * Versions 1..120: every one on 'cluster' (dense), every fourth also on 'node/a' (sparse, 25 %),
 * versions 41..100 also on 'node/b' (dense inside that stretch).
 */
async function populate(log: UpdateLog): Promise<void> {
  const batch: PendingUpdate[] = [];
  for (let i = 1; i <= 120; i++) {
    const scopes = ['cluster'];
    if (i % 4 === 0) scopes.push('node/a');
    if (i > 40 && i <= 100) scopes.push('node/b');
    batch.push({ objectKey: `Pod/p${i % 7}`, kind: 'Pod', state: 'upsert', scopes, payload: payloadOf(i, 10 + (i % 13) * 7) });
  }
  await log.commit(batch.slice(0, 60));
  await log.commit(batch.slice(60));
}

/** Every page of `scope` after `after`, read in `mode`. */
async function pages(store: UpdateStore, scope: string, after: number, mode: HistoryReadMode, limit: number, maxBytes?: number): Promise<TailPage[]> {
  const out: TailPage[] = [];
  for (let from: number | undefined = after; from !== undefined; ) {
    const page = await readTail(store, scope, from, { limit, ...(maxBytes === undefined ? {} : { maxBytes }) }, mode);
    out.push(page);
    from = page.next;
  }
  return out;
}

/** A store whose views count the reads of h/ records by range scan and by point read. */
function counting(store: UpdateStore): { store: UpdateStore; counts: { scans: number; gets: number } } {
  const counts = { scans: 0, gets: 0 };
  const wrapped = Object.create(store) as UpdateStore;
  wrapped.readView = async (): Promise<StoreView> => {
    const view = await store.readView();
    return {
      get: (key) => view.get(key),
      getMany: (keys) => {
        if (keys.some((k) => k.startsWith('h/'))) counts.gets += keys.length;
        return view.getMany(keys);
      },
      scan: (options: ScanOptions) => {
        if (options.start.startsWith('h/')) counts.scans++;
        return view.scan(options);
      },
      close: () => view.close(),
    };
  };
  return { store: wrapped, counts };
}

const plain = (ps: TailPage[]): unknown =>
  ps.map((p) => ({ ...p, entries: p.entries.map((e) => ({ version: e.version, prevVersion: e.prevVersion, payload: [...e.payload] })) }));

test('dense (range scan) and sparse (point reads) tail reads return identical pages', () =>
  withLog(async (store, log) => {
    await populate(log);
    for (const [scope, after] of [['cluster', 0], ['cluster', 37], ['node/a', 0], ['node/a', 8], ['node/b', 0], ['node/b', 60]] as const) {
      for (const [limit, maxBytes] of [[1000, undefined], [7, undefined], [50, 300], [50, 1]] as const) {
        const byMode = await Promise.all(MODES.map((mode) => pages(store, scope, after, mode, limit, maxBytes)));
        const [auto, get, scan] = byMode.map(plain);
        assert.deepEqual(scan, get, `${scope} after ${after}, limit ${limit}, maxBytes ${maxBytes}`);
        assert.deepEqual(auto, get, `${scope} after ${after}, limit ${limit}, maxBytes ${maxBytes}`);
        const entries = (byMode[0] as TailPage[]).flatMap((p) => p.entries);
        assert.equal(entries.at(-1)?.version, log.scopeHead(scope));
        for (const e of entries) assert.deepEqual([...e.payload], [...payloadOf(e.version, 10 + (e.version % 13) * 7)]);
      }
    }
    // maxBytes 1 still returns one entry per page.
    assert.ok((await pages(store, 'cluster', 0, 'scan', 50, 1)).every((p) => p.entries.length === 1));
  }));

test('auto scans the history of a dense page once and reads a sparse page by key', () =>
  withLog(async (store, log) => {
    await populate(log);
    const dense = counting(store);
    const cluster = await readTail(dense.store, 'cluster', 10, { limit: 40 });
    assert.equal(cluster.entries.length, 40);
    assert.deepEqual(dense.counts, { scans: 1, gets: 0 });
    const sparse = counting(store);
    const nodeA = await readTail(sparse.store, 'node/a', 0, { limit: 40 });
    assert.equal(nodeA.entries.length, 30);
    assert.deepEqual(sparse.counts, { scans: 0, gets: 30 });
    // node/b holds every version of 41..100: a page inside that stretch is dense.
    const inside = counting(store);
    await readTail(inside.store, 'node/b', 40, { limit: 20 });
    assert.deepEqual(inside.counts, { scans: 1, gets: 0 });
    assert.ok(DENSE_SCAN_MAX_SPAN >= 1 && DENSE_SCAN_MAX_SPAN < 2);
  }));

test('a compacted record in the middle of a page is HISTORY_COMPACTED in every mode; after the byte cut it is not read', () =>
  withLog(async (store, log) => {
    await populate(log);
    // Drop the record of version 50 (on cluster and node/b, both dense around it) and of 64 (node/a).
    await store.commit([{ type: 'delete', key: historyKey(50) }, { type: 'delete', key: historyKey(64) }]);
    for (const mode of MODES) {
      for (const [scope, after] of [['cluster', 30], ['node/b', 40], ['node/a', 40]] as const) {
        await assert.rejects(readTail(store, scope, after, { limit: 100 }, mode), (err: Error & { code?: string; floor?: number }) => {
          assert.equal(err.code, 'LOG_HISTORY_COMPACTED', `${scope} ${mode}`);
          assert.equal(err.floor, 1);
          return true;
        });
      }
      // The page stops (by bytes) before version 50: the missing record is not this page's business.
      const before = await readTail(store, 'cluster', 45, { limit: 100, maxBytes: 1 }, mode);
      assert.deepEqual(before.entries.map((e) => e.version), [46]);
      assert.equal(before.next, 46);
      // And a page starting after it reads fine.
      const afterGap = await readTail(store, 'cluster', 50, { limit: 10 }, mode);
      assert.deepEqual(afterGap.entries.map((e) => e.version), [51, 52, 53, 54, 55, 56, 57, 58, 59, 60]);
    }
  }));

test('readPayloadRun stops at the byte budget and reports the first missing record', () =>
  withLog(async (store, log) => {
    await populate(log);
    await store.commit([{ type: 'delete', key: historyKey(8) }]);
    const view = await store.readView();
    try {
      for (const mode of MODES) {
        const all = await readPayloadRun(view, [3, 4, 5, 6], 1_000_000, mode);
        assert.deepEqual(all.payloads.map((p) => [...p]), [3, 4, 5, 6].map((v) => [...payloadOf(v, 10 + (v % 13) * 7)]));
        assert.equal(all.missing, false);
        const cut = await readPayloadRun(view, [3, 4, 5, 6], 10 + 3 * 7 + 1, mode);
        assert.equal(cut.payloads.length, 2, mode);
        const gap = await readPayloadRun(view, [6, 7, 8, 9], 1_000_000, mode);
        assert.deepEqual([gap.payloads.length, gap.missing], [2, true], mode);
        const sparse = await readPayloadRun(view, [4, 12, 80, 120], 1_000_000, mode);
        assert.deepEqual([sparse.payloads.length, sparse.missing], [4, false], mode);
        assert.deepEqual(await readPayloadRun(view, [], 10, mode), { payloads: [], missing: false });
      }
    } finally {
      view.close();
    }
  }));

function record(overrides: Partial<HistoryRecord> = {}): HistoryRecord {
  return {
    committedAtMs: 1_732_700_000_000,
    state: 'upsert',
    objectKey: 'Pod/uid-1',
    kind: 'Pod',
    scopes: [{ scope: 'cluster', prevVersion: 41 }, { scope: 'node/n-1', prevVersion: 7 }],
    payload: Uint8Array.from([1, 2, 3, 200, 255]),
    ...overrides,
  };
}

test('historyPayload returns exactly what decodeHistory does, as a view of the record', () => {
  const cases: HistoryRecord[] = [
    record(),
    record({ state: 'tombstone', kind: undefined, scopes: [] }),
    record({ state: 'remove', payload: new Uint8Array(0) }),
    record({ committedAtMs: Number.MAX_SAFE_INTEGER, scopes: [{ scope: 'cluster', prevVersion: Number.MAX_SAFE_INTEGER }] }),
    record({ payload: payloadOf(9, 70_000), scopes: Array.from({ length: 200 }, (_, i) => ({ scope: `node/n-${i}`, prevVersion: i * 1000 })) }),
    // Non-ASCII names take decodeHistory's path (it validates the UTF-8): same result.
    record({ objectKey: 'Pod/ünïcode-☃', scopes: [{ scope: 'node/ñode', prevVersion: 3 }] }),
  ];
  for (const h of cases) {
    const value = encodeHistory(h);
    const payload = historyPayload(value, 'h/x');
    assert.deepEqual([...payload], [...decodeHistory(value, 'h/x').payload]);
    assert.equal(payload.buffer, value.buffer, 'a view, not a copy');
    assert.equal(payload.byteOffset, value.byteOffset + value.byteLength - h.payload.byteLength);
  }
});

test('historyPayload fails like decodeHistory on damaged records (LOG_RECORD_CORRUPT naming the key)', () => {
  const value = encodeHistory(record());
  const damaged: Uint8Array[] = [new Uint8Array(0), Uint8Array.from([4, ...value.subarray(1)]), Uint8Array.from([...value, 0])];
  for (let len = 1; len < value.byteLength; len++) damaged.push(value.slice(0, len));
  const badState = value.slice();
  badState[1 + 6] = 3; // committedAtMs takes 6 varint bytes; then the state byte
  damaged.push(badState);
  const badUtf8 = encodeHistory(record({ objectKey: 'Pod/\u00e9' }));
  badUtf8[badUtf8.indexOf(0xc3)] = 0xff;
  damaged.push(badUtf8);
  const longVarint = Uint8Array.from([3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, ...value.subarray(7)]);
  damaged.push(longVarint);
  for (const bad of damaged) {
    let expected: unknown;
    try {
      decodeHistory(bad, 'h/00000000000000aa');
    } catch (err) {
      expected = err;
    }
    assert.ok(expected instanceof Error, `decodeHistory accepts ${[...bad]}`);
    assert.throws(
      () => historyPayload(bad, 'h/00000000000000aa'),
      (err: Error & { code?: string }) => err.code === 'LOG_RECORD_CORRUPT' && err.message === (expected as Error).message,
    );
  }
});
