import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLogger } from '../core/index.ts';
import { makeTempDir } from '../testing/index.ts';
import { HEAD_KEY, META_FORMAT_KEY } from './keys.ts';
import { encodeNumber } from './record-codec.ts';
import { openLmdbStore } from './stores/lmdb-store.ts';
import { UpdateLog } from './update-log.ts';
import type { PendingUpdate } from './types.ts';

const update = (key: string, kind = 'Pod'): PendingUpdate => ({ objectKey: `${kind}/${key}`, kind, scopes: ['cluster'], state: 'upsert', payload: new Uint8Array([1]) });

async function withStore(fn: (store: Awaited<ReturnType<typeof openLmdbStore>>) => Promise<void>): Promise<void> {
  const dir = await makeTempDir('log-unit');
  const store = await openLmdbStore({ path: dir.path });
  try {
    await fn(store);
  } finally {
    await store.close();
    await dir.remove();
  }
}

test('refuses versions past Number.MAX_SAFE_INTEGER and changes nothing', () =>
  withStore(async (store) => {
    await UpdateLog.open(store);
    await store.commit([{ type: 'put', key: HEAD_KEY, value: encodeNumber(Number.MAX_SAFE_INTEGER - 1) }]);
    const log = await UpdateLog.open(store);
    const last = await log.commit([update('a')]);
    assert.equal(last.firstVersion, Number.MAX_SAFE_INTEGER);
    await assert.rejects(log.commit([update('b')]), { code: 'LOG_VERSION_EXHAUSTED' });
    assert.equal(log.head, Number.MAX_SAFE_INTEGER);
  }));

test('refuses a store that holds something else, or a newer log format', () =>
  withStore(async (store) => {
    await store.commit([{ type: 'put', key: 'foreign', value: new Uint8Array([1]) }]);
    await assert.rejects(UpdateLog.open(store), { code: 'LOG_STORE_UNRECOGNIZED' });
    await store.commit([{ type: 'delete', key: 'foreign' }]);
    await UpdateLog.open(store);
    await store.commit([{ type: 'put', key: META_FORMAT_KEY, value: encodeNumber(99) }]);
    await assert.rejects(UpdateLog.open(store), (err: Error & { code?: string }) => err.code === 'LOG_STORE_UNRECOGNIZED' && err.message.includes('format 99'));
  }));

test('logs creation and reopening with the stream id, and counts updates per kind', () =>
  withStore(async (store) => {
    const logger = new MemoryLogger();
    const log = await UpdateLog.open(store, { logger });
    await log.commit([update('a'), update('b'), update('n', 'Node')]);
    await UpdateLog.open(store, { logger });
    assert.deepEqual(logger.records.map((r) => [r.msg, r.fields.module, r.fields.streamId]), [
      ['new log created (new stream id)', 'log', log.streamId],
      ['log opened', 'log', log.streamId],
    ]);
    const stats = log.stats();
    assert.deepEqual([stats.head, stats.commits, stats.updatesCommitted, stats.updatesByKind], [3, 1, 3, { Pod: 2, Node: 1 }]);
  }));
