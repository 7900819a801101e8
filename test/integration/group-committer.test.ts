// The service's group committer over a real UpdateLog on LMDB, with a store wrapper that takes
// small commits (as etcd does): a batch is split between events, never inside one, so a leader
// fenced between two store commits leaves every event whole or absent; and when one event alone
// needs several store commits and a later one fails, the committed prefix is published at once
// and only the rest is committed again, so no update is committed twice.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BatchTooLargeError, UpdateLog, claimWriterFence, openLmdbStore, type CommitGuard, type CommittedBatch, type StoreOp } from '../../src/log/index.ts';
import type { Projection } from '../../src/project/index.ts';
import { GroupCommitter } from '../../src/service/group-committer.ts';
import { makeTempDir } from '../../src/testing/index.ts';
import { FaultyStore } from '../conformance/store-wrappers.ts';
import { makePayload } from '../conformance/workload.ts';

const tmp = await makeTempDir('committer');
after(() => tmp.remove());

const projection = (i: number): Projection =>
  ({
    updates: [{ objectKey: `Pod/p${i}`, payload: makePayload(`Pod/p${i}`, 'upsert', i), scopes: ['cluster', `node/n${i % 3}`], state: 'upsert', kind: 'Pod' }],
    aux: [],
  }) as unknown as Projection;

/** Event `i`: a pod on a node plus `extra` objects entering that node's scope with it. */
const event = (i: number, extra: number): Projection =>
  ({
    updates: [
      { objectKey: `Pod/p${i}`, payload: makePayload(`Pod/p${i}`, 'upsert', i), scopes: ['cluster', `node/n${i % 3}`], state: 'upsert', kind: 'Pod' },
      ...Array.from({ length: extra }, (_, j) => ({
        objectKey: `ReplicaSet/rs${i}-${j}`,
        payload: makePayload(`ReplicaSet/rs${i}-${j}`, 'upsert', i),
        scopes: [`node/n${i % 3}`],
        state: 'upsert',
        kind: 'ReplicaSet',
      })),
    ],
    aux: [],
  }) as unknown as Projection;

/** Takes small commits, and lets a successor claim the store just before the `deposeAt`-th one. */
class DeposingStore extends FaultyStore {
  deposeAt = Number.POSITIVE_INFINITY;
  override async commit(ops: readonly StoreOp[], guards?: readonly CommitGuard[]): Promise<void> {
    if (this.commits + 1 === this.deposeAt) await claimWriterFence(this.inner, { term: 2, identity: 'successor' });
    return super.commit(ops, guards);
  }
}

test('a leader fenced between two store commits of a big batch leaves every event whole or absent', async () => {
  const inner = await openLmdbStore({ path: join(tmp.path, 'fenced') });
  const store = new DeposingStore(inner, { maxOpsPerCommit: 40 });
  const fence = await claimWriterFence(store, { term: 1, identity: 'leader' });
  const log = await UpdateLog.open(store, { fence });
  const published: CommittedBatch[] = [];
  let fatal: Error | undefined;
  const committer = new GroupCommitter({ log, maxUpdates: 1_000, lingerMs: 20, onCommitted: (b) => published.push(b), onFatal: (err) => (fatal = err) });
  store.deposeAt = store.commits + 4; // the successor claims the store before the 4th data commit
  for (let i = 0; i < 20; i++) await committer.add(event(i, 3), 'Pod', String(i + 1));
  await committer.flush();
  assert.equal((fatal as { code?: string } | undefined)?.code, 'LOG_WRITER_FENCED', 'the committer stopped on the fence');
  await log.close().catch(() => undefined);

  // What the successor finds in the store: per event, all four updates or none.
  const successor = await UpdateLog.open(inner);
  const stored = await successor.readHistory(0, 10_000);
  const perEvent = new Map<string, number>();
  for (const u of stored) {
    const i = /(\d+)(?:-\d+)?$/.exec(u.objectKey)?.[1] as string;
    perEvent.set(i, (perEvent.get(i) ?? 0) + 1);
  }
  assert.ok(stored.length > 0 && stored.length < 80, `some events committed before the fence, not all (${stored.length} updates)`);
  for (const [i, n] of perEvent) assert.equal(n, 4, `event ${i} has ${n} of its 4 updates in the store`);
  assert.deepEqual(
    published.flatMap((b) => b.updates.map((u) => u.version)),
    stored.map((u) => u.version),
    'exactly what is stored was published',
  );
  const rv = Number(successor.resourceVersions()['Pod']);
  assert.equal(rv, stored.length / 4, "the stored resourceVersion claims exactly the events that are stored");
  await successor.close();
  await inner.close();
});

test('one event bigger than a store commit is committed in parts; a failed later part: the prefix is published once, the rest retried', async () => {
  const inner = await openLmdbStore({ path: join(tmp.path, 'store') });
  const store = new FaultyStore(inner, { maxOpsPerCommit: 24 });
  const log = await UpdateLog.open(store);
  const published: CommittedBatch[] = [];
  const split: number[] = [];
  const committer = new GroupCommitter({ log, maxUpdates: 100, lingerMs: 20, onCommitted: (b) => published.push(b), onEventSplit: (n) => split.push(n) });
  store.failAfter(1); // the second store commit of the big event fails
  await committer.add(event(0, 11), 'Pod', '1');
  for (let i = 1; i < 4; i++) await committer.add(event(i, 0), 'Pod', String(i + 1));
  await committer.close();
  const keys = published.flatMap((b) => b.updates.map((u) => u.objectKey));
  assert.equal(keys.length, 15, `every update published exactly once (got ${keys.length})`);
  assert.equal(new Set(keys).size, 15);
  assert.ok(published.length >= 3, 'the prefix, the rest of the big event and the small events were published separately');
  assert.deepEqual(split, [12], 'the one split event was reported');
  const versions = published.flatMap((b) => b.updates.map((u) => u.version));
  assert.deepEqual(versions, Array.from({ length: 15 }, (_, i) => i + 1), 'versions 1..15 in order, none skipped or reused');
  assert.equal(log.head, 15);
  assert.deepEqual(log.resourceVersions(), { Pod: '4' });
  await log.close();
  await inner.close();
});

test('many small events on a store with small commits: each store commit holds whole events, all committed once', async () => {
  const inner = await openLmdbStore({ path: join(tmp.path, 'small') });
  const store = new FaultyStore(inner, { maxOpsPerCommit: 40 });
  const log = await UpdateLog.open(store);
  const published: CommittedBatch[] = [];
  const split: number[] = [];
  // Every update handed to the log counts, refused tries included: each chunk should be planned
  // about once, not the whole remainder again after every commit (quadratic for a big batch).
  let planned = 0;
  const commit = log.commit.bind(log);
  log.commit = (updates, options) => {
    planned += updates.length;
    return commit(updates, options);
  };
  const committer = new GroupCommitter({ log, maxUpdates: 500, lingerMs: 20, onCommitted: (b) => published.push(b), onEventSplit: (n) => split.push(n) });
  for (let i = 0; i < 200; i++) await committer.add(projection(i), 'Pod', String(i + 1));
  await committer.close();
  assert.ok(planned <= 3 * 200, `${planned} updates planned for 200 committed`);
  assert.deepEqual(
    published.flatMap((b) => b.updates.map((u) => u.version)),
    Array.from({ length: 200 }, (_, i) => i + 1),
  );
  assert.deepEqual(split, [], 'no event was split');
  assert.ok(published.length > 1 && published.length < 200, `batched into several store commits (${published.length})`);
  assert.deepEqual(log.resourceVersions(), { Pod: '200' });
  await log.close();
  await inner.close();
});

test('an atomic commit that needs several store commits is refused before anything is written', async () => {
  const inner = await openLmdbStore({ path: join(tmp.path, 'atomic') });
  const store = new FaultyStore(inner, { maxOpsPerCommit: 24 });
  const log = await UpdateLog.open(store);
  const updates = event(0, 11).updates.map((u) => ({ ...u, viewOnly: false }));
  const commitsBefore = store.commits;
  await assert.rejects(log.commit(updates, { atomic: true, resourceVersions: { Pod: '1' } }), (err: unknown) => {
    assert.ok(err instanceof BatchTooLargeError);
    assert.equal(err.code, 'LOG_BATCH_TOO_LARGE');
    assert.equal(err.updates, 12);
    assert.ok(err.fits >= 1 && err.fits < 12, `the first store commit would hold ${err.fits} updates`);
    assert.match(err.message, /nothing was committed/);
    return true;
  });
  assert.equal(store.commits, commitsBefore, 'no store commit was attempted');
  assert.equal(log.head, 0);
  assert.deepEqual(log.resourceVersions(), {});
  const batch = await log.commit(updates.slice(0, 2), { atomic: true });
  assert.deepEqual(batch.updates.map((u) => u.version), [1, 2], 'a batch that fits commits as usual');
  await log.close();
  await inner.close();
});
