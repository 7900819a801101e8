import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planBatch, type PlanInput } from './commit-plan.ts';
import type { StoreLimits } from './store.ts';
import type { PendingUpdate } from './types.ts';

const unlimited: StoreLimits = { maxOpsPerCommit: Infinity, maxBytesPerCommit: Infinity, maxValueBytes: Infinity };
const up = (key: string, scopes: string[], state: PendingUpdate['state'] = 'upsert'): PendingUpdate => ({ objectKey: key, scopes, state, payload: new Uint8Array(10) });

function input(updates: PendingUpdate[], limits = unlimited, heads: Record<string, number> = {}, current: Record<string, number> = {}): PlanInput {
  return {
    head: 10,
    floor: 6,
    scopeHead: (s) => heads[s] ?? 0,
    currentVersion: (key) => current[key],
    updates,
    committedAtMs: 1000,
    resourceVersions: { Pod: '5' },
    meta: undefined,
    limits,
  };
}

test('assigns versions after the head and chains each scope, within the batch too', () => {
  const [part, ...rest] = planBatch(input([up('Pod/a', ['cluster', 'node/x']), up('Pod/b', ['cluster']), up('Pod/a', ['node/x'], 'remove')], unlimited, { cluster: 10, 'node/x': 7 }));
  assert.equal(rest.length, 0);
  assert.ok(part);
  assert.deepEqual(part.updates.map((u) => [u.version, u.scopes.map((s) => `${s.scope}<-${s.prevVersion}`)]), [
    [11, ['cluster<-10', 'node/x<-7']],
    [12, ['cluster<-11']],
    [13, ['node/x<-11']],
  ]);
  assert.deepEqual([part.head, [...part.scopeHeads]], [13, [['cluster', 12], ['node/x', 13]]]);
  const keys = part.ops.map((op) => (op.type === 'deleteRange' ? op.start : op.key));
  assert.equal(new Set(keys).size, keys.length, 'every key once per commit');
  const state = part.ops.filter((op) => op.type !== 'deleteRange' && op.key === 'c/node%2Fx/Pod/a');
  assert.deepEqual(state.map((op) => op.type), ['delete'], 'the later remove of the same object wins');
  assert.ok(part.ops.some((op) => op.type === 'put' && op.key === 'm/rv/Pod'));
});

test('splits at update boundaries to fit the store limits, resourceVersions in the last part', () => {
  const updates = Array.from({ length: 10 }, (_, i) => up(`Pod/${i}`, ['cluster', 'node/x']));
  const parts = planBatch(input(updates, { ...unlimited, maxOpsPerCommit: 20 }));
  assert.ok(parts.length > 1);
  assert.ok(parts.every((p) => p.ops.length <= 20));
  assert.deepEqual(parts.flatMap((p) => p.updates.map((u) => u.version)), Array.from({ length: 10 }, (_, i) => 11 + i));
  assert.deepEqual(parts.map((p) => p.resourceVersions), [...parts.slice(1).map(() => undefined), { Pod: '5' }]);
  for (const p of parts) assert.ok(p.ops.some((op) => op.type === 'put' && op.key === 'm/head'), 'each part moves the head');
  assert.throws(() => planBatch(input([up('Ns/a', Array.from({ length: 20 }, (_, i) => `node/${i}`))], { ...unlimited, maxOpsPerCommit: 20 })), {
    code: 'LOG_UPDATE_TOO_LARGE',
  });
});

test('a tombstone writes the tombstone index and the object table; a remove leaves the object table', () => {
  const [part] = planBatch(input([up('Pod/a', ['cluster'], 'tombstone'), up('Pod/b', ['node/y'], 'remove')]));
  const keys = part?.ops.map((op) => (op.type === 'deleteRange' ? '' : op.key)) ?? [];
  assert.ok(keys.some((k) => k.startsWith('t/')));
  assert.ok(keys.includes('o/Pod/a'));
  assert.ok(!keys.includes('o/Pod/b'));
});

test('marks pinned history below the floor when state that pointed at it moves on', () => {
  const current = { 'c/cluster/Pod/a': 3, 'o/Pod/a': 3, 'c/node%2Fx/Pod/a': 2, 'c/cluster/Pod/b': 8 };
  const [part] = planBatch(input([up('Pod/a', ['cluster', 'node/x']), up('Pod/a', ['cluster', 'node/x']), up('Pod/b', ['cluster'])], unlimited, {}, current));
  const markers = part?.ops.filter((op) => op.type === 'put' && op.key.startsWith('g/')).map((op) => (op as { key: string }).key).sort();
  // 3 and 2 are below the floor (6): marked once each; 8 is still in history (compaction checks it there).
  assert.deepEqual(markers, ['g/0000000000000002', 'g/0000000000000003']);
});

test('a view-only update moves its scopes\' state but not the object table', () => {
  const view = { ...up('Namespace/n', ['node/x']), viewOnly: true };
  const [part] = planBatch(input([view, up('Namespace/m', ['cluster'])]));
  const keys = part?.ops.map((op) => (op.type === 'deleteRange' ? '' : op.key)) ?? [];
  assert.ok(keys.includes('c/node%2Fx/Namespace/n'));
  assert.ok(keys.includes('s/node%2Fx/000000000000000b'));
  assert.ok(!keys.includes('o/Namespace/n'), 'the object table keeps the cluster update');
  assert.ok(keys.includes('o/Namespace/m'));
});
