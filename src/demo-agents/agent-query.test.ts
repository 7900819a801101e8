import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Upid } from '../schema/index.ts';
import type { Hydration } from '../sdk/index.ts';
import { newQueryScratch, runAgentQuery } from './agent-query.ts';
import type { AgentQueryRequest } from '../telemetry/index.ts';
import { seededRandom } from './random.ts';
import { TelemetryRing } from './telemetry-ring.ts';

function hydration(over: Partial<Hydration>): Hydration {
  return Object.freeze({
    containerId: 'c', containerName: 'app', containerType: undefined, podUid: 'uid', podName: 'p', namespace: 'ns', node: 'n1', podIp: '',
    services: [], replicaSet: undefined, deployment: undefined, statefulSet: undefined, daemonSet: undefined, job: undefined, cronJob: undefined,
    owners: [], labels: {}, stopped: false, ...over,
  });
}

// Three containers of this node, and one process nobody knows.
const byPid = new Map<number, Hydration>([
  [1, hydration({ podName: 'a', namespace: 'shop', services: ['api', 'web'], deployment: 'front', labels: { tier: 'api' } })],
  [2, hydration({ podName: 'b', namespace: 'shop', containerName: 'db', labels: { tier: 'db' } })],
  [3, hydration({ podName: 'c', namespace: 'other', services: ['api'] })],
]);
const upids = [1, 2, 3, 4].map((pid): Upid => Object.freeze({ asid: 7, pid, startTimeTicks: 100 }));
const hydrate = (rows: readonly Upid[], out: Array<Hydration | undefined>): Array<Hydration | undefined> => {
  out.length = rows.length;
  rows.forEach((u, i) => (out[i] = byPid.get(u.pid)));
  return out;
};

function ringWithRows(n: number): TelemetryRing {
  const r = seededRandom(3);
  const ring = new TelemetryRing(n);
  for (let i = 0; i < n; i++) ring.push(upids[r.between(0, 3)] as Upid, 1_000 + i, r.float() * 100, r.float() < 0.2 ? 500 : 200);
  return ring;
}

const request = (over: Partial<AgentQueryRequest>): AgentQueryRequest => ({ v: 1, fromMs: 0, toMs: 1e12, filter: {}, groupBy: [], histogram: false, maxGroups: 100, ...over });

test('rows are hydrated, filtered and folded per group; a pod behind two services counts in both', () => {
  const ring = ringWithRows(2_000);
  const r = runAgentQuery(ring, hydrate, request({ filter: { namespace: 'shop' }, groupBy: ['service'], histogram: true }), newQueryScratch());
  const rows = ring.rows();
  const of = (pid: number) => rows.filter((x) => x.upid.pid === pid);
  const expect = (pid: number) => ({ count: of(pid).length, errors: of(pid).filter((x) => x.status >= 500).length, max: Math.max(...of(pid).map((x) => x.latencyMs)) });
  const groups = new Map(r.groups.map((g) => [JSON.stringify(g.key), g]));
  assert.deepEqual([...groups.keys()].sort(), ['["shop/api"]', '["shop/web"]', '[null]']);
  for (const [key, pid] of [['["shop/api"]', 1], ['["shop/web"]', 1], ['[null]', 2]] as const) {
    const g = groups.get(key)!;
    assert.deepEqual({ count: g.count, errors: g.errors, max: g.max }, expect(pid), key);
    assert.equal(g.hist!.filter((_, i) => i % 2 === 1).reduce((a, b) => a + b, 0), g.count, 'the histogram holds every row');
  }
  assert.equal(r.scanned, 2_000);
  assert.equal(r.unhydrated, of(4).length);
  assert.equal(r.matched, of(1).length + of(2).length);
});

test('filters: label selector, deployment, container, pod; the window bounds (from, to]', () => {
  const ring = ringWithRows(1_000);
  const scratch = newQueryScratch();
  const count = (over: Partial<AgentQueryRequest>): number => runAgentQuery(ring, hydrate, request(over), scratch).matched;
  const rows = ring.rows();
  const pids = (...p: number[]) => rows.filter((x) => p.includes(x.upid.pid)).length;
  assert.equal(count({ filter: { labelSelector: 'tier=api' } }), pids(1));
  assert.equal(count({ filter: { labelSelector: 'tier!=api' } }), pids(2, 3));
  assert.equal(count({ filter: { deployment: 'front' } }), pids(1));
  assert.equal(count({ filter: { container: 'db' } }), pids(2));
  assert.equal(count({ filter: { pod: 'c', service: 'api' } }), pids(3));
  assert.equal(runAgentQuery(ring, hydrate, request({ fromMs: 1_099, toMs: 1_199 }), scratch).scanned, 100);
});

test('groups beyond maxGroups are dropped and flagged', () => {
  const r = runAgentQuery(ringWithRows(500), hydrate, request({ groupBy: ['pod'], maxGroups: 2 }), newQueryScratch());
  assert.equal(r.groups.length, 2);
  assert.equal(r.groupsTruncated, true);
});

test('the ring keeps the newest rows, oldest first', () => {
  const ring = new TelemetryRing(3);
  for (let i = 1; i <= 5; i++) ring.push(upids[0] as Upid, i, i, 200);
  assert.deepEqual(ring.rows().map((r) => r.timestampMs), [3, 4, 5]);
  assert.equal(ring.recorded, 5);
  assert.equal(ring.size, 3);
});
