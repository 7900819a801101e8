import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTempDir } from '../testing/index.ts';
import { decodeState } from './record-codec.ts';
import { StateSpool } from './state-spool.ts';
import { prefixRange, type StoreOp } from './store.ts';
import { openLmdbStore } from './stores/lmdb-store.ts';
import { UpdateLog } from './update-log.ts';
import type { PendingUpdate, SnapshotEntry } from './types.ts';

const upsert = (uid: string, scopes = ['cluster', 'node/n1'], payload = [1]): PendingUpdate => ({
  objectKey: `Pod/${uid}`, kind: 'Pod', scopes, state: 'upsert', payload: new Uint8Array(payload),
});

type Store = Awaited<ReturnType<typeof openLmdbStore>>;

async function withStore(fn: (store: Store, path: string) => Promise<void>): Promise<void> {
  const dir = await makeTempDir('state-spool');
  const store = await openLmdbStore({ path: dir.path });
  try {
    await fn(store, dir.path);
  } finally {
    await store.close();
    await dir.remove();
  }
}

async function snapshot(log: UpdateLog, scope: string): Promise<Array<[string, number, boolean]>> {
  const reader = await log.openSnapshot(scope);
  const out: SnapshotEntry[] = [];
  for await (const chunk of reader.chunks()) out.push(...chunk);
  reader.close();
  return out.map((e) => [e.objectKey, e.version, e.deleted]);
}

const stateKeys = async (store: Store): Promise<string[]> =>
  [...(await store.scan(prefixRange('c/'))), ...(await store.scan(prefixRange('o/')))].map(([k]) => k);

test('the spool gives its entries in key order across commits, the last value of a key winning', () => {
  const spool = new StateSpool();
  const c = (scope: string, uid: string, version: number, more: { deletedAtMs?: number; removed?: boolean } = {}) => ({ prefix: `c/${scope}/`, suffix: `Pod/${uid}`, version, ...more });
  spool.add([c('node-10', 'b', 1), c('node-1', 'z', 2), c('node-1', 'a', 3), { prefix: 'o/', suffix: 'Pod/a', version: 3 }]);
  spool.add([c('node-1', 'a', 4, { removed: true }), c('node-10', 'b', 5, { deletedAtMs: 1_000 }), c('node-1', 'a', 6), c('node-1', 'm', 7, { removed: true })]);
  spool.add([], [{ type: 'put', key: 'm/rv/Pod', value: new Uint8Array([1]) }, { type: 'delete', key: 'm/x/marker' }]);
  assert.equal(spool.size, 8);
  const chunks = [...spool.ops(2)];
  const keys = chunks.map((ops: StoreOp[]) => ops.map((op) => (op.type === 'deleteRange' ? op.type : `${op.type} ${op.key}`)));
  // 'c/node-1/' sorts before 'c/node-10/' as whole keys do; two per commit; resourceVersions
  // and meta ride with the last one.
  assert.deepEqual(keys, [
    ['put c/node-1/Pod/a', 'delete c/node-1/Pod/m'],
    ['put c/node-1/Pod/z', 'put c/node-10/Pod/b'],
    ['put o/Pod/a', 'put m/rv/Pod', 'delete m/x/marker'],
  ]);
  const flat = chunks.flat();
  const sorted = flat.slice(0, 5).map((op) => (op.type === 'deleteRange' ? '' : op.key));
  assert.deepEqual(sorted, [...sorted].sort(), 'the state entries are in key order');
  const value = (key: string) => {
    const op = flat.find((o) => o.type === 'put' && o.key === key);
    return op?.type === 'put' ? decodeState(op.value, key) : undefined;
  };
  assert.deepEqual(value('c/node-1/Pod/a'), { version: 6, deleted: false, deletedAtMs: 0 });
  assert.deepEqual(value('c/node-10/Pod/b'), { version: 5, deleted: true, deletedAtMs: 1_000 });
  spool.clear();
  assert.equal(spool.pending, false);
  assert.deepEqual([...spool.ops(2)], []);
});

test('commits as state hold current state and resourceVersions until raiseFloor writes them in one go', () =>
  withStore(async (store) => {
    const log = await UpdateLog.open(store);
    await log.commit([upsert('a'), upsert('b')], { history: false, resourceVersions: { Pod: '10' } });
    await log.commit([upsert('a', ['cluster', 'node/n2'], [2]), { ...upsert('b'), state: 'tombstone' }], { history: false, resourceVersions: { Pod: '11' } });
    assert.equal(log.head, 4);
    // Held: nothing of the state is in the store, reading it is refused, compaction waits.
    assert.deepEqual(await stateKeys(store), []);
    assert.equal(await store.get('m/rv/Pod'), undefined);
    await assert.rejects(log.openSnapshot('cluster'), { code: 'LOG_STATE_PENDING' });
    await assert.rejects(log.getObject('Pod/a'), { code: 'LOG_STATE_PENDING' });
    assert.equal((await log.compact({ keepUpdates: 0 })).commits, 0);
    assert.deepEqual(log.resourceVersions(), { Pod: '11' });

    await log.raiseFloor(log.head + 1);
    assert.deepEqual(await snapshot(log, 'cluster'), [['Pod/a', 3, false], ['Pod/b', 4, true]]);
    // 'a' moved from n1 to n2 within the sync: the last state of each scope, nothing in between.
    assert.deepEqual(await snapshot(log, 'node/n1'), [['Pod/a', 1, false], ['Pod/b', 4, true]]);
    assert.deepEqual(await snapshot(log, 'node/n2'), [['Pod/a', 3, false]]);
    assert.equal((await log.getObject('Pod/a'))?.version, 3);
    assert.deepEqual((await UpdateLog.open(store)).resourceVersions(), { Pod: '11' });
  }));

test('a crash before raiseFloor leaves no resourceVersion and no state of the held commits', () =>
  withStore(async (store) => {
    const log = await UpdateLog.open(store);
    await log.commit([], { meta: { marker: new Uint8Array([1]) } });
    await log.commit([upsert('a')], { history: false, resourceVersions: { Pod: '10' }, meta: { aux: new Uint8Array([7]) } });
    // No close(): the process died. A new log on the same store sees the versions and heads
    // (never reused), the marker committed before, and no state, resourceVersion or meta.
    const reopened = await UpdateLog.open(store);
    assert.equal(reopened.head, 1);
    assert.equal(reopened.scopeHead('node/n1'), 1);
    assert.deepEqual(reopened.resourceVersions(), {});
    assert.deepEqual([...((await reopened.getMeta('marker')) ?? [])], [1]);
    assert.equal(await reopened.getMeta('aux'), undefined);
    assert.deepEqual(await snapshot(reopened, 'cluster'), []);
    const next = await reopened.commit([upsert('a')], { history: false });
    assert.equal(next.firstVersion, 2);
  }));

test('a graceful close writes the held state, so the next start goes on from it', () =>
  withStore(async (store) => {
    const log = await UpdateLog.open(store);
    await log.commit([upsert('a'), upsert('b')], { history: false, resourceVersions: { Pod: '10' } });
    await log.close();
    const reopened = await UpdateLog.open(store);
    assert.deepEqual(reopened.resourceVersions(), { Pod: '10' });
    assert.deepEqual(await snapshot(reopened, 'node/n1'), [['Pod/a', 1, false], ['Pod/b', 2, false]]);
  }));

test('commits with history are written at once, also after a sync committed as state', () =>
  withStore(async (store) => {
    const log = await UpdateLog.open(store);
    await log.commit([upsert('a')], { history: false });
    await log.raiseFloor(log.head + 1);
    await log.commit([upsert('c')]);
    assert.deepEqual((await stateKeys(store)).length, 6);
    assert.deepEqual(await snapshot(log, 'cluster'), [['Pod/a', 1, false], ['Pod/c', 2, false]]);
  }));
