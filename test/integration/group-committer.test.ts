// The service's group committer over a real UpdateLog on LMDB, with a store wrapper that takes
// small commits (as etcd does) and fails one of them: the committed prefix of a split batch is
// published at once and only the rest is committed again, so no update is committed twice.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { UpdateLog, openLmdbStore, type CommittedBatch } from '../../src/log/index.ts';
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

test('a split batch whose later part fails: the prefix is published once, the rest retried, nothing committed twice', async () => {
  const inner = await openLmdbStore({ path: join(tmp.path, 'store') });
  const store = new FaultyStore(inner, { maxOpsPerCommit: 24 });
  const log = await UpdateLog.open(store);
  const published: CommittedBatch[] = [];
  const committer = new GroupCommitter({ log, maxUpdates: 100, lingerMs: 20, onCommitted: (b) => published.push(b) });
  store.failAfter(1); // the second store commit of the first batch fails
  for (let i = 0; i < 12; i++) await committer.add(projection(i), 'Pod', String(i + 1));
  await committer.close();
  const keys = published.flatMap((b) => b.updates.map((u) => u.objectKey));
  assert.equal(keys.length, 12, `every update published exactly once (got ${keys.length})`);
  assert.equal(new Set(keys).size, 12);
  assert.ok(published.length >= 2, 'the prefix and the rest were published separately');
  const versions = published.flatMap((b) => b.updates.map((u) => u.version));
  assert.deepEqual(versions, Array.from({ length: 12 }, (_, i) => i + 1), 'versions 1..12 in order, none skipped or reused');
  assert.equal(log.head, 12);
  assert.deepEqual(log.resourceVersions(), { Pod: '12' });
  await log.close();
  await inner.close();
});
