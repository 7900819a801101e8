// Writer fencing (issue 5, HA) on every backend: a leader claims the store with its term and
// every commit of its log carries the claim; once a newer term claims the store, the old log
// commits nothing more (updates or compaction), and the new one continues the same versions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LogErrorCode, UpdateLog, claimWriterFence, type PendingUpdate } from '../../src/log/index.ts';
import { rejectsWithCode } from './assertions.ts';
import type { StoreFactory } from './store.conformance.ts';
import { makePayload } from './workload.ts';

const pod = (id: string, n = 0): PendingUpdate => ({
  objectKey: `Pod/${id}`,
  payload: makePayload(`Pod/${id}`, 'upsert', n),
  scopes: ['cluster', 'node/a'],
  state: 'upsert',
  kind: 'Pod',
});

export function describeFenceConformance(factory: StoreFactory): void {
  describe('writer fencing', () => {
    it('a claimed empty store opens as a new log; a newer claim deposes the old writer, and versions continue', async () => {
      const store = await factory.open();
      try {
        const fenceA = await claimWriterFence(store, { term: 1, identity: 'a' });
        const a = await UpdateLog.open(store, { fence: fenceA });
        await a.commit([pod('1'), pod('2')]);
        const fenceB = await claimWriterFence(store, { term: 2, identity: 'b' });
        // The deposed writer: its commits and its compaction are refused, and it stops.
        await rejectsWithCode(a.commit([pod('3')]), LogErrorCode.WRITER_FENCED);
        assert.equal(a.state, 'failed');
        const b = await UpdateLog.open(store, { fence: fenceB });
        assert.equal(b.streamId, a.streamId, 'the same stream: consumers see no reset');
        assert.equal(b.head, 2, "nothing of the deposed writer's refused commit is there");
        const next = await b.commit([pod('3')]);
        assert.equal(next.firstVersion, 3, 'the new leader continues the version sequence');
        assert.deepEqual(next.updates[0]?.scopes, [{ scope: 'cluster', prevVersion: 2 }, { scope: 'node/a', prevVersion: 2 }]);
      } finally {
        await store.close();
      }
    });

    it('a deposed writer cannot compact either', async () => {
      const store = await factory.open();
      try {
        const a = await UpdateLog.open(store, { fence: await claimWriterFence(store, { term: 5, identity: 'a' }) });
        for (let i = 0; i < 5; i++) await a.commit([pod(String(i % 2), i)]);
        await claimWriterFence(store, { term: 6, identity: 'b' });
        await rejectsWithCode(a.compact({ keepUpdates: 1 }), LogErrorCode.WRITER_FENCED);
      } finally {
        await store.close();
      }
    });

    it('refuses a claim older than the stored one (a leader that lost the election it thought it won)', async () => {
      const store = await factory.open();
      try {
        await claimWriterFence(store, { term: 7, identity: 'new' });
        await rejectsWithCode(claimWriterFence(store, { term: 6, identity: 'old' }), LogErrorCode.WRITER_FENCED);
        // The same term again (a leader re-claiming after its own restart) is allowed.
        await claimWriterFence(store, { term: 7, identity: 'new' });
      } finally {
        await store.close();
      }
    });
  });
}
