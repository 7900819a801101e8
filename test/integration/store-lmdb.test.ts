// Runs the store conformance suite (test/conformance/store.conformance.ts) on the LMDB backend,
// one fresh store directory per test under one temporary root.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LogErrorCode, UpdateLog, openLmdbStore, type UpdateStore } from '../../src/log/index.ts';
import { makeTempDir } from '../../src/testing/processes.ts';
import { describeStoreConformance } from '../conformance/store.conformance.ts';

const root = await makeTempDir('lmdb-conformance');
const paths = new WeakMap<UpdateStore, string>();
let next = 0;

async function openAt(path: string): Promise<UpdateStore> {
  const store = await openLmdbStore({ path, mapSize: 16 * 1024 * 1024 });
  paths.set(store, path);
  return store;
}

function pathOf(store: UpdateStore): string {
  const path = paths.get(store);
  if (!path) throw new Error('store was not opened by this factory');
  return path;
}

describeStoreConformance('lmdb', {
  open: () => openAt(join(root.path, `store-${next++}`)),
  async reopen(store) {
    const path = pathOf(store);
    await store.close();
    return openAt(path);
  },
  async wipe(store) {
    const path = pathOf(store);
    await store.close();
    await rm(path, { recursive: true, force: true });
    return openAt(path);
  },
  cleanup: () => root.remove(),
});

describe('lmdb store specifics', () => {
  it('opens a directory whose name has an extension (the default lmdb:./.data/kubemeta.lmdb) and reopens it', async () => {
    const dir = await makeTempDir('lmdb-ext');
    try {
      const path = join(dir.path, 'kubemeta.lmdb');
      let store = await openLmdbStore({ path });
      await store.commit([{ type: 'put', key: 'k', value: new Uint8Array([7]) }]);
      await store.close();
      store = await openLmdbStore({ path });
      assert.deepEqual([...((await store.get('k')) ?? [])], [7]);
      await store.close();
    } finally {
      await dir.remove();
    }
  });

  it('fails to open with LOG_STORE_OPEN_FAILED, saying what to check, when the directory cannot be made', async () => {
    const dir = await makeTempDir('lmdb-open');
    try {
      await writeFile(join(dir.path, 'file'), 'x');
      await assert.rejects(openLmdbStore({ path: join(dir.path, 'file', 'store') }), (err: Error & { code?: string }) => {
        assert.equal(err.code, LogErrorCode.STORE_OPEN_FAILED);
        assert.match(err.message, /is a directory \(or can be created\) and that this user may write it/);
        return true;
      });
    } finally {
      await dir.remove();
    }
  });

  it('fails to open with LOG_STORE_OPEN_FAILED when the directory is not writable', { skip: process.getuid?.() === 0 && 'root may write anywhere' }, async () => {
    const dir = await makeTempDir('lmdb-ro');
    try {
      await chmod(dir.path, 0o500);
      await assert.rejects(openLmdbStore({ path: dir.path }), (err: Error & { code?: string }) => {
        assert.equal(err.code, LogErrorCode.STORE_OPEN_FAILED);
        assert.match(err.message, /not writable/);
        return true;
      });
    } finally {
      await chmod(dir.path, 0o700);
      await dir.remove();
    }
  });

  it('reports LOG_STORE_FULL when the disk is full, applies nothing, and works once space is freed', async (t) => {
    const dir = await makeTempDir('lmdb-full');
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir.path]).status === 0;
    if (!mounted) {
      t.skip('cannot mount a small tmpfs here (needs root)');
      await dir.remove();
      return;
    }
    try {
      const store = await openLmdbStore({ path: join(dir.path, 'store'), mapSize: 1024 * 1024 });
      const log = await UpdateLog.open(store);
      await writeFile(join(dir.path, 'filler'), new Uint8Array(1024 * 1024));
      const big = (i: number) => ({ objectKey: `Pod/${i}`, scopes: ['cluster'], state: 'upsert' as const, payload: new Uint8Array(60_000) });
      let error: unknown;
      for (let i = 0; i < 100 && !error; i++) await log.commit([big(i)]).catch((err: unknown) => (error = err));
      assert.equal((error as { code?: string }).code, LogErrorCode.STORE_FULL);
      const head = log.head;
      assert.equal((await log.readTail('cluster', 0, { limit: 1000 })).scopeHead, head, 'nothing of the failed commit is visible');
      await rm(join(dir.path, 'filler'));
      assert.equal((await log.commit([big(1000)])).firstVersion, head + 1);
      await store.close();
      const reopened = await openLmdbStore({ path: join(dir.path, 'store') });
      assert.equal((await UpdateLog.open(reopened)).head, head + 1);
      await reopened.close();
    } finally {
      spawnSync('umount', ['-l', dir.path]);
      await dir.remove();
    }
  });
});
