// The store conformance suite (style.md §11, Pixie's TestDatastore): one suite that every
// backend runs — LMDB and etcd. The first half checks the backend contract of
// src/log/store.ts; the second half (log.conformance.ts) checks the UpdateLog's guarantees
// (docs/design.md §1–4, §7) over that backend, with faults injected by store wrappers.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  KEYSPACE,
  LogErrorCode,
  isStoreError,
  keyAfter,
  prefixRange,
  type StoreErrorCode,
  type StoreOp,
  type UpdateStore,
} from '../../src/log/index.ts';
import { assertBytes, rejectsWithCode } from './assertions.ts';
import { describeLogConformance } from './log.conformance.ts';
import { seededRandom } from './workload.ts';

export interface StoreFactory {
  /** A new, empty store. */
  open(): Promise<UpdateStore>;
  /** Closes `store` and opens the same data again (a process restart). */
  reopen(store: UpdateStore): Promise<UpdateStore>;
  /** Closes `store`, destroys its data, and opens an empty store in its place. */
  wipe(store: UpdateStore): Promise<UpdateStore>;
  /** Removes everything the factory created. */
  cleanup(): Promise<void>;
}

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const put = (key: string, value: Uint8Array | string): StoreOp => ({ type: 'put', key, value: typeof value === 'string' ? text(value) : value });

async function keysOf(store: Pick<UpdateStore, 'scan'>, prefix = ''): Promise<string[]> {
  return (await store.scan(prefixRange(prefix))).map(([k]) => k);
}

/** Writes test data in as many commits as the backend's per-commit op limit needs (etcd: --max-txn-ops). */
async function commitInParts(store: UpdateStore, ops: readonly StoreOp[]): Promise<void> {
  const size = Math.max(1, Math.min(ops.length, store.limits.maxOpsPerCommit));
  for (let i = 0; i < ops.length; i += size) await store.commit(ops.slice(i, i + size));
}

async function withStore(factory: StoreFactory, fn: (store: UpdateStore) => Promise<UpdateStore | void>): Promise<void> {
  let store = await factory.open();
  try {
    store = (await fn(store)) ?? store;
  } finally {
    await store.close();
  }
}

function describeBackendSemantics(factory: StoreFactory): void {
  describe('backend contract', () => {
    it('puts, gets and deletes byte-exact values, empty ones included', () =>
      withStore(factory, async (store) => {
        await store.commit([put('a/1', bytes(0, 1, 255)), put('a/2', bytes()), put('a/3', new Uint8Array([9, 8, 7, 6]).subarray(1, 3))]);
        assertBytes(await store.get('a/1'), bytes(0, 1, 255));
        assertBytes(await store.get('a/2'), bytes());
        assertBytes(await store.get('a/3'), bytes(8, 7));
        assert.equal(await store.get('a/4'), undefined);
        await store.commit([{ type: 'delete', key: 'a/1' }, { type: 'delete', key: 'never/there' }]);
        assert.equal(await store.get('a/1'), undefined);
        assert.deepEqual((await store.getMany(['a/3', 'a/1', 'a/2'])).map((v) => v && [...v]), [[8, 7], undefined, []]);
      }));

    it('scans [start, end) in byte order, with limit and reverse', () =>
      withStore(factory, async (store) => {
        const random = seededRandom(7);
        const keys = new Set<string>();
        while (keys.size < 300) {
          let k = 'r/';
          const len = 1 + Math.floor(random() * 6);
          for (let i = 0; i < len; i++) k += String.fromCharCode(0x20 + Math.floor(random() * 95));
          keys.add(k);
        }
        await commitInParts(store, [...keys].map((k) => put(k, k)));
        const sorted = [...keys].sort();
        assert.deepEqual(await keysOf(store, 'r/'), sorted);
        const start = sorted[50] as string;
        const end = sorted[120] as string;
        assert.deepEqual((await store.scan({ start, end })).map(([k]) => k), sorted.slice(50, 120));
        assert.deepEqual((await store.scan({ start, end, limit: 7 })).map(([k]) => k), sorted.slice(50, 57));
        assert.deepEqual((await store.scan({ start, end, limit: 7, reverse: true })).map(([k]) => k), sorted.slice(113, 120).reverse());
        assert.deepEqual((await store.scan({ start: keyAfter(start), end })).map(([k]) => k), sorted.slice(51, 120));
        assert.deepEqual(await store.scan({ start: end, end: start }), []);
        const all = await store.scan({ ...KEYSPACE, reverse: true });
        assert.deepEqual(all.map(([k]) => k), [...sorted].reverse());
        for (const [k, v] of all) assert.equal(new TextDecoder().decode(v), k, 'values stay intact after later reads');
      }));

    it('applies a commit atomically: puts, deletes and deleteRange together', () =>
      withStore(factory, async (store) => {
        await store.commit(Array.from({ length: 20 }, (_, i) => put(`h/${String(i).padStart(2, '0')}`, `v${i}`)));
        await store.commit([
          { type: 'deleteRange', start: 'h/05', end: 'h/15' },
          { type: 'delete', key: 'h/19' },
          put('h/20', 'new'),
          put('m/floor', '15'),
        ]);
        assert.deepEqual(await keysOf(store, 'h/'), ['h/00', 'h/01', 'h/02', 'h/03', 'h/04', 'h/15', 'h/16', 'h/17', 'h/18', 'h/20']);
        assertBytes(await store.get('m/floor'), text('15'));
      }));

    it('applies nothing of a commit whose guard does not hold', () =>
      withStore(factory, async (store) => {
        await store.commit([put('lease', 'leader-1'), put('x', 'old')]);
        await store.commit([put('x', 'new-1')], [{ key: 'lease', equals: text('leader-1') }]);
        assertBytes(await store.get('x'), text('new-1'));
        const attempt = store.commit(
          [put('x', 'new-2'), put('y', 'y'), { type: 'deleteRange', start: 'lea', end: 'leb' }],
          [{ key: 'absent', equals: undefined }, { key: 'lease', equals: text('leader-2') }],
        );
        await assert.rejects(attempt, (err: unknown) => isStoreError(err, LogErrorCode.GUARD_FAILED) && err.key === 'lease');
        assertBytes(await store.get('x'), text('new-1'));
        assert.equal(await store.get('y'), undefined);
        assertBytes(await store.get('lease'), text('leader-1'));
        await rejectsWithCode(store.commit([put('x', 'z')], [{ key: 'x', equals: undefined }]), LogErrorCode.GUARD_FAILED);
        await store.commit([put('fresh', 'f')], [{ key: 'fresh', equals: undefined }]);
        assertBytes(await store.get('fresh'), text('f'));
      }));

    it('refuses commits that break the portable op contract, applying nothing', () =>
      withStore(factory, async (store) => {
        const invalid: StoreOp[][] = [
          [put('k', 'a'), put('k', 'b')],
          [put('k/5', 'a'), { type: 'deleteRange', start: 'k/', end: 'k0' }],
          [put('bad\nkey', 'a')],
          [put('', 'a')],
          [put('x'.repeat(1025), 'a')],
          [{ type: 'deleteRange', start: 'b', end: 'a' }],
        ];
        for (const ops of invalid) {
          await rejectsWithCode(store.commit([put('ok', 'should not land'), ...ops]), LogErrorCode.COMMIT_INVALID);
        }
        assert.equal(await store.get('ok'), undefined);
      }));

    it('keeps a read view at its point in time while later commits land', () =>
      withStore(factory, async (store) => {
        await store.commit([put('v/1', 'one'), put('v/2', 'two'), put('v/3', 'three')]);
        const view = await store.readView();
        await store.commit([put('v/1', 'ONE'), { type: 'delete', key: 'v/2' }, { type: 'deleteRange', start: 'v/3', end: 'v/4' }, put('v/9', 'nine')]);
        assertBytes(await view.get('v/1'), text('one'));
        assert.deepEqual((await view.getMany(['v/2', 'v/9'])).map((v) => v && new TextDecoder().decode(v)), ['two', undefined]);
        assert.deepEqual((await view.scan(prefixRange('v/'))).map(([k]) => k), ['v/1', 'v/2', 'v/3']);
        assert.deepEqual(await keysOf(store, 'v/'), ['v/1', 'v/9']);
        view.close();
        view.close();
        await rejectsWithCode(view.get('v/1'), LogErrorCode.STORE_CLOSED);
      }));

    it('applies concurrent commits each atomically', () =>
      withStore(factory, async (store) => {
        await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.commit([put(`c/${i}/a`, `${i}`), put(`c/${i}/b`, `${i}`)], [{ key: `c/${i}/a`, equals: undefined }])),
        );
        assert.equal((await keysOf(store, 'c/')).length, 40);
      }));

    it('keeps committed data across reopen; a wipe leaves an empty store', () =>
      withStore(factory, async (first) => {
        await first.commit([put('d/1', 'kept')]);
        const second = await factory.reopen(first);
        assertBytes(await second.get('d/1'), text('kept'));
        const third = await factory.wipe(second);
        assert.deepEqual(await third.scan(KEYSPACE), []);
        return third;
      }));

    it('reports its size, and refuses use after close', async () => {
      const store = await factory.open();
      const empty = await store.sizeBytes();
      await commitInParts(store, Array.from({ length: 200 }, (_, i) => put(`z/${i}`, new Uint8Array(1000))));
      assert.ok((await store.sizeBytes()) > empty, 'size grows with data');
      await store.close();
      await store.close();
      const code: StoreErrorCode = LogErrorCode.STORE_CLOSED;
      await rejectsWithCode(store.commit([put('a', 'b')]), code);
      await rejectsWithCode(store.get('a'), code);
    });
  });
}

/** Registers the whole conformance suite for one backend. */
export function describeStoreConformance(name: string, factory: StoreFactory): void {
  describe(`store conformance: ${name}`, () => {
    after(() => factory.cleanup());
    describeBackendSemantics(factory);
    describeLogConformance(factory);
  });
}
