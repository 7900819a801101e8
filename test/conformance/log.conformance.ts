// The UpdateLog half of the store conformance suite: versions, chains, atomicity, stream
// identity and resourceVersions (docs/design.md §1–3, §7) over any backend. Replay and compaction
// properties live in replay.conformance.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  LogErrorCode,
  PartialCommitError,
  UpdateLog,
  isStoreError,
  type CommittedBatch,
  type PendingUpdate,
  type UpdateStore,
} from '../../src/log/index.ts';
import { describeReplayConformance } from './replay.conformance.ts';
import { describeFenceConformance } from './fence.conformance.ts';
import { assertBytes, rejectsWithCode } from './assertions.ts';
import type { StoreFactory } from './store.conformance.ts';
import { FaultyStore } from './store-wrappers.ts';
import { makePayload } from './workload.ts';

const pod = (id: string, scopes: string[], state: PendingUpdate['state'] = 'upsert', n = 0): PendingUpdate => ({
  objectKey: `Pod/${id}`,
  payload: makePayload(`Pod/${id}`, state, n),
  scopes,
  state,
  kind: 'Pod',
});


/** Every update of `scope` via readTail from 0, paging with `limit`. */
export async function fullTail(log: UpdateLog, scope: string, limit = 1000): Promise<Array<{ version: number; prevVersion: number }>> {
  const out: Array<{ version: number; prevVersion: number }> = [];
  let after: number | undefined = 0;
  while (after !== undefined) {
    const page = await log.readTail(scope, after, { limit });
    out.push(...page.entries.map(({ version, prevVersion }) => ({ version, prevVersion })));
    after = page.next;
  }
  return out;
}

function assertChain(entries: ReadonlyArray<{ version: number; prevVersion: number }>, start = 0): void {
  let prev = start;
  for (const e of entries) {
    assert.equal(e.prevVersion, prev, `version ${e.version} must chain on ${prev}`);
    assert.ok(e.version > prev);
    prev = e.version;
  }
}

async function withLog(factory: StoreFactory, fn: (log: UpdateLog, store: UpdateStore) => Promise<UpdateStore | void>): Promise<void> {
  let store = await factory.open();
  try {
    const log = await UpdateLog.open(store);
    store = (await fn(log, store)) ?? store;
  } finally {
    await store.close();
  }
}

export function describeLogConformance(factory: StoreFactory): void {
  describeFenceConformance(factory);
  describe('update log', () => {
    it('assigns strictly increasing versions that are never reused across reopen', () =>
      withLog(factory, async (log, store) => {
        assert.equal(log.head, 0);
        const a = await log.commit([pod('a', ['cluster']), pod('b', ['cluster'])]);
        assert.deepEqual([a.firstVersion, a.lastVersion], [1, 2]);
        const b = await log.commit([pod('c', ['cluster'])]);
        assert.deepEqual([b.firstVersion, b.lastVersion, log.head], [3, 3, 3]);
        await log.close();
        const reopened = await factory.reopen(store);
        const again = await UpdateLog.open(reopened);
        assert.equal(again.head, 3);
        const c = await again.commit([pod('d', ['cluster'])]);
        assert.equal(c.firstVersion, 4);
        assert.deepEqual((await fullTail(again, 'cluster')).map((e) => e.version), [1, 2, 3, 4]);
        return reopened;
      }));

    it('chains prevVersion per scope, within a batch and across batches and reopen', () =>
      withLog(factory, async (log, store) => {
        const first = await log.commit([pod('a', ['cluster', 'node/x']), pod('b', ['cluster', 'node/y']), pod('a', ['cluster', 'node/x'], 'upsert', 1)]);
        assert.deepEqual(first.updates.map((u) => u.scopes), [
          [{ scope: 'cluster', prevVersion: 0 }, { scope: 'node/x', prevVersion: 0 }],
          [{ scope: 'cluster', prevVersion: 1 }, { scope: 'node/y', prevVersion: 0 }],
          [{ scope: 'cluster', prevVersion: 2 }, { scope: 'node/x', prevVersion: 1 }],
        ]);
        assert.deepEqual(first.byScope.get('node/x')?.map((e) => [e.version, e.prevVersion]), [[1, 0], [3, 1]]);
        await log.close();
        const reopened = await factory.reopen(store);
        const again = await UpdateLog.open(reopened);
        assert.deepEqual([again.scopeHead('node/x'), again.scopeHead('node/y'), again.scopeHead('nope')], [3, 2, 0]);
        const next = await again.commit([pod('c', ['node/y'])]);
        assert.deepEqual(next.byScope.get('node/y'), [{ version: 4, prevVersion: 2, payload: next.updates[0]?.payload }]);
        for (const scope of ['cluster', 'node/x', 'node/y']) assertChain(await fullTail(again, scope));
        return reopened;
      }));

    it('reads the whole stream back in version order, with scopes and prevVersions', () =>
      withLog(factory, async (log) => {
        const a = await log.commit([pod('a', ['cluster', 'node/x']), pod('b', ['cluster', 'node/y'])]);
        const b = await log.commit([pod('a', ['node/x'], 'remove', 1), pod('c', ['cluster'], 'tombstone', 2)]);
        const all = await log.readHistory(0, 10);
        const plainOf = (u: { version: number; objectKey: string; state: string; payload: Uint8Array; scopes: readonly unknown[] }) =>
          [u.version, u.objectKey, u.state, [...u.payload], u.scopes];
        assert.deepEqual(all.map(plainOf), [...a.updates, ...b.updates].map(plainOf));
        assert.deepEqual((await log.readHistory(1, 2)).map((u) => u.version), [2, 3]);
        assert.deepEqual(await log.readHistory(4, 10), []);
      }));

    it('keeps the stream id across reopen; a wiped store gets a new one', () =>
      withLog(factory, async (log, store) => {
        assert.match(log.streamId, /^[0-9a-f]{32}$/);
        await log.commit([pod('a', ['cluster'])]);
        const reopened = await factory.reopen(store);
        const same = await UpdateLog.open(reopened);
        assert.equal(same.streamId, log.streamId);
        const wiped = await factory.wipe(reopened);
        const fresh = await UpdateLog.open(wiped);
        assert.notEqual(fresh.streamId, log.streamId);
        assert.equal(fresh.head, 0);
        return wiped;
      }));

    it('changes nothing when the store commit fails, and reuses the unpublished versions next', () =>
      withLog(factory, async (_log, inner) => {
        const store = new FaultyStore(inner);
        const log = await UpdateLog.open(store);
        await log.commit([pod('a', ['cluster', 'node/x'])], { resourceVersions: { Pod: '10' } });
        store.failNext('fail');
        await rejectsWithCode(log.commit([pod('b', ['cluster', 'node/y']), pod('c', ['node/x'])], { resourceVersions: { Pod: '11' } }), LogErrorCode.COMMIT_FAILED);
        assert.deepEqual([log.head, log.scopeHead('node/x'), log.scopeHead('node/y')], [1, 1, 0]);
        assert.deepEqual(log.resourceVersions(), { Pod: '10' });
        assert.equal((await log.readTail('cluster', 0)).entries.length, 1);
        const ok = await log.commit([pod('b', ['cluster', 'node/y'])]);
        assert.deepEqual([ok.firstVersion, ok.updates[0]?.scopes[0]?.prevVersion], [2, 1]);
        assert.equal(log.stats().failedCommits, 1);
      }));

    it('never reuses a version after a commit that applied but reported failure', () =>
      withLog(factory, async (_log, inner) => {
        for (const mode of ['apply-then-fail', 'throw-plain'] as const) {
          const store = new FaultyStore(inner);
          const log = await UpdateLog.open(store);
          const base = log.head;
          store.failNext(mode);
          await assert.rejects(log.commit([pod(`amb-${mode}`, ['cluster', 'node/x'])]));
          const next = await log.commit([pod(`after-${mode}`, ['cluster', 'node/x'])]);
          const applied = mode === 'apply-then-fail';
          assert.equal(next.firstVersion, base + (applied ? 2 : 1), `${mode}: continues after what the store holds`);
          assert.equal(next.updates[0]?.scopes[0]?.prevVersion, applied ? base + 1 : base);
        }
        const log = await UpdateLog.open(inner);
        assertChain(await fullTail(log, 'cluster'));
        assertChain(await fullTail(log, 'node/x'));
      }));

    it('applies a fencing guard: a failed guard changes nothing and the log stays usable', () =>
      withLog(factory, async (log, store) => {
        const lease = new TextEncoder().encode('leader-a');
        await store.commit([{ type: 'put', key: 'lease/leader', value: lease }]);
        const guard = { key: 'lease/leader', equals: lease };
        await log.commit([pod('a', ['cluster'])], { guard });
        await store.commit([{ type: 'put', key: 'lease/leader', value: new TextEncoder().encode('leader-b') }]);
        const err = await rejectsWithCode(log.commit([pod('b', ['cluster'])], { guard }), LogErrorCode.GUARD_FAILED);
        assert.ok(isStoreError(err) && err.key === 'lease/leader');
        await rejectsWithCode(log.compact({ keepUpdates: 0, guard }), LogErrorCode.GUARD_FAILED);
        assert.equal(log.head, 1);
        assert.equal((await log.commit([pod('b', ['cluster'])])).firstVersion, 2);
      }));

    it('stops a log whose store another writer advanced', () =>
      withLog(factory, async (first, store) => {
        const second = await UpdateLog.open(store);
        await first.commit([pod('a', ['cluster'])]);
        await rejectsWithCode(second.commit([pod('b', ['cluster'])]), LogErrorCode.WRITER_CONFLICT);
        assert.equal(second.state, 'failed');
        await rejectsWithCode(second.commit([pod('c', ['cluster'])]), LogErrorCode.LOG_CLOSED);
        assert.equal((await first.commit([pod('d', ['cluster'])])).firstVersion, 2);
      }));

    it('persists resourceVersions and meta with the batch, also in a commit without updates', () =>
      withLog(factory, async (log, store) => {
        await log.commit([pod('a', ['cluster'])], { resourceVersions: { Pod: '100', Node: '7' } });
        const empty = await log.commit([], { resourceVersions: { Pod: '105' }, meta: { 'agent/n1/i1': new Uint8Array([1]), 'agent/n2/i9': new Uint8Array([2]) } });
        assert.deepEqual([empty.firstVersion, empty.lastVersion, empty.updates.length], [2, 1, 0]);
        await log.close();
        const reopened = await factory.reopen(store);
        const again = await UpdateLog.open(reopened);
        assert.deepEqual(again.resourceVersions(), { Pod: '105', Node: '7' });
        assertBytes(await again.getMeta('agent/n1/i1'), new Uint8Array([1]));
        assert.deepEqual((await again.listMeta('agent/')).entries.map((e) => e.name), ['agent/n1/i1', 'agent/n2/i9']);
        await again.commit([], { meta: { 'agent/n1/i1': null } });
        assert.equal(await again.getMeta('agent/n1/i1'), undefined);
        assert.equal(again.head, 1);
        return reopened;
      }));

    it('splits a batch that exceeds the store limits into consistent commits', () =>
      withLog(factory, async (_log, inner) => {
        const store = new FaultyStore(inner, { maxOpsPerCommit: 24 });
        const log = await UpdateLog.open(store);
        const updates = Array.from({ length: 12 }, (_, i) => pod(`s${i}`, ['cluster', `node/n${i % 3}`]));
        const batch = await log.commit(updates, { resourceVersions: { Pod: '1' } });
        assert.deepEqual([batch.firstVersion, batch.lastVersion, batch.updates.length], [1, 12, 12]);
        assert.ok(store.commits > 1, 'more than one store commit');
        assertChain(await fullTail(log, 'cluster'));
        store.failAfter(1);
        const err = await rejectsWithCode(log.commit(updates, { resourceVersions: { Pod: '2' } }), LogErrorCode.COMMIT_PARTIAL);
        const partial = (err as PartialCommitError).committed as CommittedBatch;
        assert.equal(partial.firstVersion, 13);
        assert.equal(log.head, partial.lastVersion, 'the log holds exactly the committed prefix');
        assert.equal((err as PartialCommitError).remaining, 12 - partial.updates.length);
        assert.deepEqual(log.resourceVersions(), { Pod: '1' }, 'resourceVersions move only with the last part');
        const rest = await log.commit(updates.slice(partial.updates.length));
        assert.equal(rest.firstVersion, partial.lastVersion + 1);
        assertChain(await fullTail(log, 'cluster'));
        await rejectsWithCode(
          log.commit([pod('wide', Array.from({ length: 30 }, (_, i) => `node/w${i}`))]),
          LogErrorCode.UPDATE_TOO_LARGE,
        );
      }));

    it('serializes concurrent commits in call order and bounds the queue', () =>
      withLog(factory, async (_log, store) => {
        const log = await UpdateLog.open(store, { maxQueuedCommits: 3 });
        const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => log.commit([pod(`q${i}`, ['cluster'])])));
        const ok = results.filter((r): r is PromiseFulfilledResult<CommittedBatch> => r.status === 'fulfilled');
        const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.ok(refused.length > 0 && refused.every((r) => (r.reason as { code: string }).code === LogErrorCode.COMMIT_QUEUE_FULL));
        assert.deepEqual(ok.map((r) => r.value.firstVersion), ok.map((_, i) => i + 1));
        const controller = new AbortController();
        const slow = log.commit([pod('slow', ['cluster'])]);
        const aborted = log.commit([pod('aborted', ['cluster'])], { signal: controller.signal });
        controller.abort();
        await rejectsWithCode(aborted, 'CORE_ABORTED');
        await slow;
        assert.equal((await log.commit([pod('after', ['cluster'])])).firstVersion, log.head);
      }));

    it('refuses bad input before queueing, and commits after close', () =>
      withLog(factory, async (log) => {
        const bad: PendingUpdate[] = [
          { ...pod('a', ['cluster']), scopes: [] },
          { ...pod('a', ['cluster']), scopes: ['cluster', 'cluster'] },
          { ...pod('a', ['cluster']), objectKey: '' },
          { ...pod('a', ['cluster']), state: 'gone' as never },
          { ...pod('a', ['cluster']), payload: 'text' as never },
        ];
        for (const u of bad) await rejectsWithCode(log.commit([u]), 'CORE_INVALID_ARGUMENT');
        assert.equal(log.head, 0);
        await log.close();
        await rejectsWithCode(log.commit([pod('a', ['cluster'])]), LogErrorCode.LOG_CLOSED);
      }));

    it('keeps the latest state per object; a scope exit does not change it', () =>
      withLog(factory, async (log) => {
        await log.commit([pod('a', ['cluster', 'node/x'], 'upsert', 1), pod('b', ['cluster'], 'upsert', 2)]);
        await log.commit([pod('a', ['node/x'], 'remove', 3)]);
        const a = await log.getObject('Pod/a');
        assert.deepEqual([a?.version, a?.deleted], [1, false]);
        await log.commit([pod('b', ['cluster'], 'tombstone', 4)]);
        const b = await log.getObject('Pod/b');
        assert.deepEqual([b?.version, b?.deleted, typeof b?.deletedAtMs], [4, true, 'number']);
        const page = await log.readObjects('Pod/', { limit: 1 });
        assert.deepEqual([page.objects.map((o) => o.objectKey), page.next], [['Pod/a'], 'Pod/a']);
        const rest = await log.readObjects('Pod/', { after: page.next ?? '', limit: 5 });
        assert.deepEqual([rest.objects.map((o) => o.objectKey), rest.next], [['Pod/b'], undefined]);
        assert.equal(await log.getObject('Pod/none'), undefined);
      }));
  });
  describeReplayConformance(factory);
}
