import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../core/index.ts';
import { CHURN_ACTIONS, type ChurnAction } from './churn.ts';
import type { KubeObject, ModelEvent } from '../model/objects.ts';
import { ScenarioEngine } from './scenario.ts';

type Json = Record<string, unknown>;
const START = Date.parse('2025-03-01T12:00:00Z');

function populated(clock = new ManualClock(START)): ScenarioEngine {
  const e = new ScenarioEngine({ seed: 21, nodes: 8, namespaces: 2, podsPerNode: 15, statefulSets: 1, cronJobs: 1, clock });
  e.populate();
  return e;
}

function record(e: ScenarioEngine): ModelEvent[] {
  const events: ModelEvent[] = [];
  e.model.subscribe((ev) => events.push(ev));
  return events;
}

/** The JSON with the given fields' values blanked, to compare everything else. */
function masked(o: KubeObject, fields: readonly string[]): string {
  let json = JSON.stringify(o);
  for (const f of [...fields, 'resourceVersion']) json = json.replace(new RegExp(`"${f}":"[^"]*"`, 'g'), `"${f}":"…"`);
  return json;
}

test('step(n) performs n actions and reports them by type', () => {
  const e = populated();
  const start = e.model.resourceVersion;
  const report = e.step(400);
  const done = CHURN_ACTIONS.reduce((n, a) => n + report.actions[a], 0);
  assert.equal(done + report.skipped, 400);
  for (const a of CHURN_ACTIONS) assert.ok(report.actions[a] > 0, `${a} happened`);
  assert.ok(report.writes > 400 && report.reconciles > 0);
  e.step(100, { mix: { podRestart: 1 } });
  const stats = e.stats();
  assert.equal(stats.actions.podRestart, report.actions.podRestart + 100);
  assert.equal(stats.writes, e.model.resourceVersion - start);
  assert.equal(stats.skipped, report.skipped);
  assert.equal(e.controllers.pending, 0, 'the controllers settle after every action');
});

test('a heartbeat changes only lastHeartbeatTime of the node and renewTime of its lease', () => {
  const clock = new ManualClock(START);
  const e = populated(clock);
  const events = record(e);
  clock.advance(10_000);
  const report = e.step(3, { mix: { heartbeat: 1 } });
  assert.equal(report.actions.heartbeat, 3);
  assert.equal(report.writes, 6, 'one node write and one lease write each');
  assert.ok(events.every((ev) => ev.type === 'MODIFIED'));
  const nodes = events.filter((ev) => ev.stored.kind === 'Node').map((ev) => ev.stored.object);
  const leases = events.filter((ev) => ev.stored.kind === 'Lease').map((ev) => ev.stored.object);
  assert.equal(nodes.length, 3);
  assert.equal(leases.length, 3);
  const fresh = populated();
  for (const node of nodes) {
    const original = fresh.model.get('Node', undefined, node.metadata.name)?.object as KubeObject;
    assert.notEqual(JSON.stringify(node), JSON.stringify(original));
    assert.equal(masked(node, ['lastHeartbeatTime']), masked(original, ['lastHeartbeatTime']));
    const beats = ((node['status'] as Json)['conditions'] as Json[]).map((c) => c['lastHeartbeatTime']);
    assert.ok(beats.every((t) => t === '2025-03-01T12:00:10Z'));
  }
  for (const lease of leases) {
    const original = fresh.model.get('Lease', 'kube-node-lease', lease.metadata.name)?.object as KubeObject;
    assert.equal(masked(lease, ['renewTime']), masked(original, ['renewTime']));
    assert.equal((lease['spec'] as Json)['renewTime'], '2025-03-01T12:00:10.000000Z');
  }
});

function onlyAction(action: ChurnAction): { e: ScenarioEngine; events: ModelEvent[] } {
  const e = populated();
  const events = record(e);
  const report = e.step(1, { mix: { [action]: 1 } });
  assert.equal(report.actions[action], 1, `${action} was done`);
  return { e, events };
}

test('a pod restart bumps one restartCount and gives the container a new id and start time', () => {
  const clock = new ManualClock(START);
  const e = populated(clock);
  const events = record(e);
  clock.advance(60_000);
  e.step(1, { mix: { podRestart: 1 } });
  assert.equal(events.length, 1);
  const pod = events[0]?.stored.object as KubeObject;
  const restarted = ((pod['status'] as Json)['containerStatuses'] as Json[]).find((c) => c['restartCount'] === 1) as Json;
  assert.ok(restarted, 'one container restarted');
  const last = (restarted['lastState'] as { terminated: Json }).terminated;
  assert.notEqual(last['containerID'], restarted['containerID']);
  assert.match(restarted['containerID'] as string, /^containerd:\/\/[0-9a-f]{64}$/);
  assert.equal((restarted['state'] as { running: Json }).running['startedAt'], '2025-03-01T12:01:00Z');
});

test('a pod deletion is followed by a replacement from the same owner', () => {
  const { events } = onlyAction('podDelete');
  const deleted = events.find((ev) => ev.type === 'DELETED' && ev.stored.kind === 'Pod')?.stored.object as KubeObject;
  const added = events.find((ev) => ev.type === 'ADDED' && ev.stored.kind === 'Pod')?.stored.object as KubeObject;
  assert.equal(added.metadata.ownerReferences?.[0]?.uid, deleted.metadata.ownerReferences?.[0]?.uid);
  const running = events.filter((ev) => ev.stored.kind === 'Pod' && ev.stored.object.metadata.uid === added.metadata.uid).at(-1)?.stored.object as KubeObject;
  assert.equal((running['status'] as Json)['phase'], 'Running');
});

test('a scale action changes one Deployment and the controllers follow it', () => {
  const { e, events } = onlyAction('scale');
  const d = events.find((ev) => ev.stored.kind === 'Deployment')?.stored.object as KubeObject;
  const now = e.model.get('Deployment', d.metadata.namespace, d.metadata.name)?.object as KubeObject;
  const replicas = (now['spec'] as Json)['replicas'] as number;
  assert.equal(((now['status'] as Json)['readyReplicas'] as number | undefined) ?? 0, replicas);
});

test('a rolling update replaces a Deployment\'s pods through a new ReplicaSet', () => {
  const { events } = onlyAction('rollingUpdate');
  assert.ok(events.some((ev) => ev.type === 'ADDED' && ev.stored.kind === 'ReplicaSet'));
  assert.ok(events.some((ev) => ev.type === 'DELETED' && ev.stored.kind === 'Pod'));
});

test('a pod label change and a service selector change each write what they say', () => {
  const label = onlyAction('podLabel');
  assert.equal(label.events[0]?.stored.kind, 'Pod');
  assert.ok(label.events[0]?.stored.object.metadata.labels?.['tier']);
  const selector = onlyAction('serviceSelector');
  const svc = selector.events[0]?.stored.object as KubeObject;
  assert.equal(svc.kind, 'Service');
  assert.ok(selector.events.some((ev) => ev.stored.kind === 'Endpoints'), 'the membership follows the new selector');
});

test('node removal and addition keep the cluster within bounds', () => {
  const e = populated();
  const nodes = e.model.count('Node');
  const pods = e.model.count('Pod');
  e.step(1, { mix: { nodeRemove: 1 } });
  assert.equal(e.model.count('Node'), nodes - 1);
  e.step(1, { mix: { nodeAdd: 1 } });
  assert.equal(e.model.count('Node'), nodes);
  const perNode = new Map<string, number>();
  for (const p of e.model.list('Pod').items) {
    const n = (p.object['spec'] as Json)['nodeName'] as string;
    perNode.set(n, (perNode.get(n) ?? 0) + 1);
  }
  assert.equal(perNode.size, nodes, 'every node runs pods');
  assert.ok(e.model.count('Pod') <= pods && e.model.count('Pod') >= pods - 1, 'pods came back (a finished Job pod may not)');
  for (let i = 0; i < 40; i++) e.step(1, { mix: { nodeRemove: 1 } });
  assert.ok(e.model.count('Node') >= nodes - 1, 'removal stops at the lower bound');
});

test('startChurn churns at its rate on the scenario clock until stopped', async () => {
  const clock = new ManualClock(START);
  const e = populated(clock);
  e.startChurn({ ratePerSecond: 50, tickMs: 100, mix: { podLabel: 1 } });
  assert.equal(e.stats().churning, true);
  for (let i = 0; i < 10; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    clock.advance(100);
  }
  await new Promise<void>((resolve) => setImmediate(resolve));
  await e.stopChurn();
  const done = e.stats().actions.podLabel;
  assert.ok(done >= 45 && done <= 50, `${done} actions in one second at 50/s`);
  clock.advance(1000);
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(e.stats().actions.podLabel, done, 'nothing after stopChurn');
  assert.equal(e.stats().churning, false);
});
