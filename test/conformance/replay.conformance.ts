// Replay and compaction properties of the UpdateLog over any backend (docs/design.md §4): tails page
// correctly and never silently skip; snapshot + tail rebuilds exactly what a full replay does;
// compaction keeps current state and deletions right, and keeps storage bounded.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/index.ts';
import { HistoryCompactedError, KEYSPACE, LogErrorCode, UpdateLog, keyAfter, type UpdateStore } from '../../src/log/index.ts';
import { rejectsWithCode } from './assertions.ts';
import type { StoreFactory } from './store.conformance.ts';
import { Model, Workload, applyEntry, makePayload, plain, stateFromSnapshot, type ScopeState } from './workload.ts';


/** What a new consumer ends up with: snapshot at V, then the tail after V, in small chunks. */
async function bootstrap(log: UpdateLog, scope: string, between?: () => Promise<void>): Promise<{ state: ScopeState; version: number }> {
  const snapshot = await log.openSnapshot(scope);
  const entries = [];
  for await (const chunk of snapshot.chunks({ maxEntries: 7, maxBytes: 400 })) {
    assert.ok(chunk.length >= 1 && chunk.length <= 7);
    entries.push(...chunk);
  }
  await between?.();
  const state = stateFromSnapshot(entries);
  let after: number | undefined = snapshot.version;
  while (after !== undefined) {
    const page = await log.readTail(scope, after, { limit: 5, maxBytes: 300 });
    for (const e of page.entries) applyEntry(state, e);
    after = page.next;
  }
  return { state, version: snapshot.version };
}

/** What a consumer gets from replaying all of a scope's history. */
async function replayAll(log: UpdateLog, scope: string): Promise<ScopeState> {
  const state: ScopeState = new Map();
  let after: number | undefined = 0;
  while (after !== undefined) {
    const page = await log.readTail(scope, after, { limit: 64 });
    for (const e of page.entries) applyEntry(state, e);
    after = page.next;
  }
  return state;
}

async function countKeys(store: UpdateStore): Promise<number> {
  let n = 0;
  let start = KEYSPACE.start;
  for (;;) {
    const rows = await store.scan({ start, end: KEYSPACE.end, limit: 1000 });
    n += rows.length;
    const last = rows.at(-1);
    if (rows.length < 1000 || !last) return n;
    start = keyAfter(last[0]);
  }
}

async function run(log: UpdateLog, model: Model, workload: Workload, batches: number, maxUpdates = 12): Promise<void> {
  for (let i = 0; i < batches; i++) model.apply(await log.commit(workload.nextBatch(maxUpdates)));
}

async function withLog(factory: StoreFactory, clock: ManualClock | undefined, fn: (log: UpdateLog, store: UpdateStore) => Promise<void>): Promise<void> {
  const store = await factory.open();
  try {
    await fn(await UpdateLog.open(store, clock ? { clock } : {}), store);
  } finally {
    await store.close();
  }
}

export function describeReplayConformance(factory: StoreFactory): void {
  describe('replay and compaction', () => {
    it('pages a tail by limit and bytes, from any version on the chain', () =>
      withLog(factory, undefined, async (log) => {
        for (let i = 0; i < 10; i++) await log.commit([{ objectKey: `Pod/${i}`, state: 'upsert', scopes: ['cluster', i % 2 ? 'node/odd' : 'node/even'], payload: makePayload(`Pod/${i}`, 'upsert', i, 100) }]);
        const page = await log.readTail('cluster', 2, { limit: 3 });
        assert.deepEqual([page.entries.map((e) => [e.version, e.prevVersion]), page.next, page.scopeHead], [[[3, 2], [4, 3], [5, 4]], 5, 10]);
        const small = await log.readTail('cluster', 0, { maxBytes: 1 });
        assert.deepEqual([small.entries.length, small.next], [1, 1], 'at least one entry per page');
        const odd = await log.readTail('node/odd', 4);
        assert.deepEqual([odd.entries.map((e) => [e.version, e.prevVersion]), odd.next], [[[6, 4], [8, 6], [10, 8]], undefined]);
        const offChain = await log.readTail('node/odd', 5);
        assert.deepEqual(offChain.entries.map((e) => [e.version, e.prevVersion]), [[6, 4], [8, 6], [10, 8]], 'the tail after a version of another scope');
        assert.deepEqual(await log.readTail('node/odd', 10), { entries: [], next: undefined, scopeHead: 10 });
        assert.deepEqual(await log.readTail('node/none', 0), { entries: [], next: undefined, scopeHead: 0 });
        await rejectsWithCode(log.readTail('node/even', 10), LogErrorCode.VERSION_AHEAD);
        await rejectsWithCode(log.readTail('cluster', -1), 'CORE_INVALID_ARGUMENT');
        await rejectsWithCode(log.readTail('cluster', 0, { limit: 0 }), 'CORE_INVALID_ARGUMENT');
      }));

    for (const seed of [1, 2, 3]) {
      it(`rebuilds by snapshot + tail exactly what a full replay gives (seed ${seed})`, () =>
        withLog(factory, undefined, async (log) => {
          const model = new Model();
          const workload = new Workload(seed);
          for (let round = 0; round < 4; round++) {
            await run(log, model, workload, 40);
            for (const scope of ['cluster', ...workload.nodes]) {
              // Commits land between the snapshot and its tail: the snapshot must stay at its version.
              const { state, version } = await bootstrap(log, scope, () => run(log, model, workload, 3));
              assert.ok(version <= log.scopeHead(scope));
              const expected = model.expected(scope);
              assert.deepEqual(plain(state), plain(expected), `${scope} after round ${round}`);
              assert.deepEqual(plain(await replayAll(log, scope)), plain(expected), `full replay of ${scope}`);
            }
          }
        }));
    }

    it('lists a scope in bounded chunks, once; an empty scope has version 0 and no chunks', () =>
      withLog(factory, undefined, async (log) => {
        await log.commit(Array.from({ length: 25 }, (_, i) => ({ objectKey: `Pod/${String(i).padStart(2, '0')}`, state: 'upsert' as const, scopes: ['cluster'], payload: makePayload(`Pod/${i}`, 'upsert', i, 50) })));
        const snapshot = await log.openSnapshot('cluster');
        assert.equal(snapshot.version, 25);
        assert.equal(snapshot.streamId, log.streamId);
        const sizes = [];
        for await (const chunk of snapshot.chunks({ maxEntries: 10 })) sizes.push(chunk.length);
        assert.deepEqual(sizes, [10, 10, 5]);
        assert.throws(() => snapshot.chunks(), { code: LogErrorCode.LOG_CLOSED });
        const empty = await log.openSnapshot('node/none');
        const chunks = [];
        for await (const chunk of empty.chunks()) chunks.push(chunk);
        assert.deepEqual([empty.version, chunks.length], [0, 0]);
        const abandoned = await log.openSnapshot('cluster');
        for await (const chunk of abandoned.chunks({ maxEntries: 2 })) {
          assert.equal(chunk.length, 2);
          break;
        }
        abandoned.close();
      }));

    it('keeps current state and deletions right through compaction', () => {
      const clock = new ManualClock(1_000_000);
      return withLog(factory, clock, async (log) => {
        const model = new Model();
        const workload = new Workload(11);
        for (let i = 0; i < 30; i++) {
          await run(log, model, workload, 5);
          clock.advance(1000);
        }
        const old = log.scopeHead('cluster');
        await run(log, model, workload, 20);
        const retentionMs = 12_000;
        const result = await log.compact({ keepUpdates: 40, tombstoneRetentionMs: retentionMs, maxOpsPerCommit: 50 });
        assert.equal(result.floor, log.head - 40 + 1);
        assert.ok(result.historyDropped > 0 && result.tombstonesDropped > 0 && result.commits > 2);
        const cutoff = clock.now() - retentionMs;
        for (const scope of ['cluster', ...workload.nodes]) {
          const { state } = await bootstrap(log, scope);
          assert.deepEqual(plain(state), plain(model.expected(scope, cutoff)), `${scope} after compaction`);
        }
        const kept = [...model.expected('cluster', cutoff).values()].filter((h) => h.deleted);
        const all = [...model.expected('cluster').values()].filter((h) => h.deleted);
        assert.ok(kept.length > 0 && kept.length < all.length, 'some tombstones kept, some dropped');
        const error = await log.readTail('cluster', old).catch((err: unknown) => err);
        assert.ok(error instanceof HistoryCompactedError && error.code === LogErrorCode.HISTORY_COMPACTED && error.floor === result.floor);
        await rejectsWithCode(log.readHistory(0, 10), LogErrorCode.HISTORY_COMPACTED);
        const history = await log.readHistory(log.floor - 1, 1000);
        assert.deepEqual(history.map((u) => u.version), Array.from({ length: 40 }, (_, i) => log.floor + i), 'pinned records below the floor are not history');
        const fromFloor = await log.readTail('cluster', log.floor - 1, { limit: 100 });
        assert.ok((fromFloor.entries[0]?.version ?? 0) >= log.floor && fromFloor.next === undefined);
        assert.equal(fromFloor.entries.at(-1)?.version, log.scopeHead('cluster'), 'the whole kept tail is there');
        const batch = await log.commit(workload.nextBatch(3));
        model.apply(batch);
        assert.equal(batch.byScope.get('cluster')?.[0]?.prevVersion, fromFloor.scopeHead, 'the chain continues after compaction');
      });
    });

    it('compacts by age and may drop all history while chains continue', () => {
      const clock = new ManualClock(5_000_000);
      return withLog(factory, clock, async (log) => {
        const model = new Model();
        const workload = new Workload(5);
        await run(log, model, workload, 10);
        clock.advance(60_000);
        const recent = log.head;
        await run(log, model, workload, 10);
        const byAge = await log.compact({ keepAgeMs: 30_000 });
        assert.equal(byAge.floor, recent + 1);
        const all = await log.compact({ keepUpdates: 0 });
        assert.equal(all.floor, log.head + 1);
        await rejectsWithCode(log.readTail('cluster', 0), LogErrorCode.HISTORY_COMPACTED);
        assert.deepEqual((await log.readTail('cluster', log.scopeHead('cluster'))).entries, []);
        const heads = new Map(workload.nodes.map((n) => [n, log.scopeHead(n)]));
        const batch = await log.commit(workload.nextBatch(4));
        for (const [scope, entries] of batch.byScope) {
          if (scope !== 'cluster') assert.equal(entries[0]?.prevVersion, heads.get(scope), `${scope} chains on its stored head`);
        }
        const { state } = await bootstrap(log, 'cluster');
        model.apply(batch);
        assert.deepEqual(plain(state), plain(model.expected('cluster')));
      });
    });

    it('keeps storage bounded under endless churn with compaction', () => {
      const clock = new ManualClock(9_000_000);
      return withLog(factory, clock, async (log, store) => {
        const workload = new Workload(21, { nodes: 6, maxLive: 60 });
        const model = new Model();
        const keys: number[] = [];
        const sizes: number[] = [];
        let collected = 0;
        for (let round = 0; round < 30; round++) {
          await run(log, model, workload, 30, 20);
          clock.advance(10_000);
          collected += (await log.compact({ keepUpdates: 500, tombstoneRetentionMs: 20_000 })).pinnedCollected;
          keys.push(await countKeys(store));
          sizes.push(await store.sizeBytes());
        }
        assert.ok(collected > 0, 'pinned history of objects that changed later was collected');
        const settled = Math.max(...keys.slice(10, 15));
        assert.ok(Math.max(...keys.slice(15)) <= settled * 1.3, `key count stays flat: ${keys.join(',')}`);
        assert.ok(sizes.at(-1)! <= Math.max(...sizes.slice(10, 15)) * 1.5, `size stays flat: ${sizes.join(',')}`);
        const cutoff = clock.now() - 20_000;
        for (const scope of ['cluster', ...workload.nodes]) {
          const { state } = await bootstrap(log, scope);
          assert.deepEqual(plain(state), plain(model.expected(scope, cutoff)), `${scope} after endless churn`);
        }
      });
    });
  });
}
