import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../core/index.ts';
import { timeNsFromMs } from '../schema/index.ts';
import type { Change } from './changes.ts';
import { ClusterClient } from './cluster-client.ts';
import { NodeAgentClient, type NodeAgentClientOptions } from './node-agent.ts';
import type { Status } from './status.ts';
import { FakeBus, FakeKubemeta, container, pod, scopeExit, service } from '../testing/index.ts';

const NODE = 'n1';
const SCOPES = ['cluster', `node/${NODE}`];

async function world() {
  const bus = new FakeBus();
  const server = new FakeKubemeta(bus, 'prod');
  const clock = new ManualClock(1_800_000_000_000);
  const dir = await mkdtemp(join(tmpdir(), 'kubemeta-sdk-'));
  const connect = (extra: Partial<NodeAgentClientOptions> = {}): Promise<NodeAgentClient> =>
    NodeAgentClient.connect({ nc: bus.connect(), cluster: 'prod', node: NODE, agentInstanceId: 'agent-a', clock, random: () => 0.5, ...extra });
  let n = 0;
  /** A running pod with one container on n1; returns its uid and container id. */
  const runPod = (): { uid: string; cid: string } => {
    const i = ++n;
    const uid = `pod-${i}`;
    const cid = `cid-${i}`;
    server.commit([
      { update: pod({ uid, name: `web-${i}`, node: NODE, ip: `10.244.0.${i}`, containers: [{ name: 'app', id: cid }] }), scopes: SCOPES },
      { update: container({ id: cid, name: 'app', podUid: uid, podName: `web-${i}` }), scopes: SCOPES },
    ]);
    return { uid, cid };
  };
  const stopPod = (uid: string, cid: string): void => {
    const i = uid.slice(4);
    const stopNs = timeNsFromMs(clock.now());
    server.commit([
      { update: pod({ uid, name: `web-${i}`, node: NODE, ip: `10.244.0.${i}`, containers: [{ name: 'app', id: cid }], stopNs }), scopes: SCOPES },
      { update: container({ id: cid, name: 'app', podUid: uid, podName: `web-${i}`, stopNs }), scopes: SCOPES },
    ]);
  };
  const cleanup = async (): Promise<void> => {
    await rm(dir, { recursive: true, force: true });
  };
  return { bus, server, clock, dir, connect, runPod, stopPod, cleanup };
}

function collect<T>(it: AsyncIterable<T>): T[] {
  const out: T[] = [];
  void (async () => {
    for await (const x of it) out.push(x);
  })();
  return out;
}

test('an agent registers, bootstraps by snapshot and hydrates the UPIDs of its processes', async () => {
  const w = await world();
  const { uid, cid } = w.runPod();
  const agent = await w.connect();
  const statuses = collect(agent.status());
  await agent.whenInSync();
  assert.equal(agent.asid, 1);
  assert.equal(agent.state.pods().length, 1);
  agent.registerProcess(4321, 99_000, cid);
  const h = agent.hydrate({ asid: agent.asid, pid: 4321, startTimeTicks: 99_000 });
  assert.deepEqual([h?.podUid, h?.podName, h?.containerName, h?.node], [uid, 'web-1', 'app', NODE]);
  assert.equal(agent.resolveIp('10.244.0.1')?.uid, uid);
  assert.equal(agent.head, w.server.head);
  assert.equal(agent.lag, 0);
  await agent.close();
  assert.equal(await agent.closed, undefined);
  assert.equal(agent.lifecycle, 'closed');
  await w.bus.settle();
  assert.ok(statuses.some((s: Status) => s.type === 'inSync'));
  await w.cleanup();
});

test('the same agent gets its ASID back; changes() streams the applied updates', async () => {
  const w = await world();
  const a = await w.connect();
  const changes = collect(a.changes());
  await a.whenInSync();
  w.runPod();
  await w.bus.settle();
  assert.deepEqual(changes.filter((c: Change) => c.type !== 'snapshot').map((c) => (c.type === 'added' ? `${c.type} ${c.kind}` : c.type)), ['added Pod', 'added Container']);
  await a.close();
  const b = await w.connect();
  const other = await w.connect({ agentInstanceId: 'agent-b' });
  assert.equal(b.asid, a.asid);
  assert.notEqual(other.asid, a.asid);
  await Promise.all([b.close(), other.close()]);
  await w.cleanup();
});

test('a NATS reconnect triggers a tail replay that recovers what was published meanwhile', async () => {
  const w = await world();
  const agent = await w.connect();
  const statuses = collect(agent.status());
  await agent.whenInSync();
  w.bus.statusEvent('disconnect');
  await w.bus.settle();
  assert.equal(agent.inSync, false);
  w.bus.dropFilter = () => true;
  w.runPod();
  w.bus.dropFilter = undefined;
  w.bus.statusEvent('reconnect');
  await w.bus.settle();
  assert.equal(agent.inSync, true);
  assert.equal(agent.state.pods().length, 1);
  assert.deepEqual(statuses.map((s) => s.type).filter((t) => ['disconnect', 'reconnect', 'gap', 'replayStarted'].includes(t)), ['disconnect', 'reconnect', 'gap', 'replayStarted']);
  await agent.close();
  await w.cleanup();
});

test('with persistDir a restart resumes with a tail replay after the saved version, processes included', async () => {
  const w = await world();
  const first = w.runPod();
  const a = await w.connect({ persistDir: w.dir });
  await a.whenInSync();
  a.registerProcess(100, 1000, first.cid);
  const savedAt = a.head;
  await a.close(); // saves
  const second = w.runPod();
  const requests = w.server.requests.length;
  const b = await w.connect({ persistDir: w.dir });
  assert.equal(b.state.pods().length, 1, 'the persisted state is there before any answer');
  await b.whenInSync();
  const request = w.server.requests[requests];
  assert.deepEqual([request?.after, request?.knownStreamId], [savedAt, w.server.streamId]);
  assert.equal(b.stats().snapshots, 0);
  assert.deepEqual(b.state.pods().map((p) => p.uid).sort(), [first.uid, second.uid]);
  assert.equal(b.hydrate({ asid: b.asid, pid: 100, startTimeTicks: 1000 })?.podUid, first.uid, 'processes survive the restart');
  await b.close();
  await w.cleanup();
});

test('a persisted state from a wiped store (another stream id) is discarded: snapshot, not duplicates', async () => {
  const w = await world();
  w.runPod();
  w.runPod();
  const a = await w.connect({ persistDir: w.dir });
  await a.whenInSync();
  await a.close();
  const oldStream = w.server.streamId;
  w.server.wipe();
  const fresh = w.runPod(); // version 1 of the new stream, below the saved position
  const b = await w.connect({ persistDir: w.dir });
  await b.whenInSync();
  assert.notEqual(b.streamId, oldStream);
  assert.deepEqual(b.state.pods().map((p) => p.uid), [fresh.uid]);
  assert.equal(b.stats().snapshots, 1);
  assert.equal(b.stats().streamResets, 1, 'reported as a stream reset');
  await b.close();
  const saved = JSON.parse(await readFile(join(w.dir, 'kubemeta-prod-node%2Fn1.json'), 'utf8')) as { streamId: string };
  assert.equal(saved.streamId, w.server.streamId);
  await w.cleanup();
});

test('a corrupt state file is reported and ignored', async () => {
  const w = await world();
  await writeFile(join(w.dir, 'kubemeta-prod-node%2Fn1.json'), '{not json');
  w.runPod();
  const a = await w.connect({ persistDir: w.dir });
  await a.whenInSync();
  assert.equal(a.state.pods().length, 1);
  await a.close();
  await w.cleanup();
});

test('an agent away longer than the history window converges by snapshot, deletions included', async () => {
  const w = await world();
  const keep = w.runPod();
  const gone = w.runPod();
  w.server.commit([{ update: service({ uid: 'svc', name: 'web', podUids: [keep.uid, gone.uid], nodes: [NODE] }), scopes: SCOPES }]);
  const a = await w.connect({ persistDir: w.dir });
  await a.whenInSync();
  await a.close();
  w.stopPod(gone.uid, gone.cid);
  w.server.commit([{ update: scopeExit('Service', 'svc'), scopes: [`node/${NODE}`] }]);
  const added = w.runPod();
  w.server.compact(w.server.head); // history the agent needs is gone
  const b = await w.connect({ persistDir: w.dir });
  await b.whenInSync();
  assert.equal(b.stats().snapshots, 1);
  assert.deepEqual(b.state.pods().map((p) => p.uid).sort(), [keep.uid, added.uid].sort());
  assert.equal(b.state.service('svc'), undefined, 'left the scope while away');
  assert.equal(b.state.pod(gone.uid, { includeStopped: true })?.stopTimeNs !== 0n, true, 'the deletion is known');
  await b.close();
  await w.cleanup();
});

test('drain lets the client finish and resolves closed; asyncDispose closes', async () => {
  const w = await world();
  w.runPod();
  const a = await w.connect();
  const changes = a.changes();
  await a.drain();
  assert.equal(a.lifecycle, 'closed');
  for await (const _ of changes); // ends once the client is closed
  {
    await using b = await w.connect();
    await b.whenInSync();
  }
  await assert.rejects(a.whenInSync(), { code: 'SDK_CLOSED' });
  await w.cleanup();
});

test('drain(signal) stops waiting for a replay in flight when the signal aborts', async () => {
  const w = await world();
  w.server.answering = false; // the bootstrap replay never ends
  const client = await ClusterClient.connect({ nc: w.bus.connect(), cluster: 'prod', clock: w.clock, drainTimeoutMs: 60_000 });
  const ac = new AbortController();
  const draining = client.drain(ac.signal);
  assert.equal(client.lifecycle, 'draining');
  ac.abort();
  await draining;
  assert.equal(client.lifecycle, 'closed');
  assert.equal(await client.closed, undefined);
  await w.cleanup();
});

test('connect refuses bad options with the option\'s name', async () => {
  const w = await world();
  await assert.rejects(NodeAgentClient.connect({ nc: w.bus.connect(), cluster: 'prod', node: 'Bad_Node', agentInstanceId: 'a' }), { code: 'SCHEMA_INVALID_SCOPE' });
  await assert.rejects(NodeAgentClient.connect({ nc: w.bus.connect(), cluster: 'prod', node: 'n1', agentInstanceId: '' }), { code: 'SDK_INVALID_ARGUMENT', message: /agentInstanceId/ });
  await assert.rejects(NodeAgentClient.connect({ cluster: 'prod', node: 'n1', agentInstanceId: 'a' }), { code: 'SDK_INVALID_ARGUMENT', message: /servers/ });
  await assert.rejects(NodeAgentClient.connect({ nc: w.bus.connect(), cluster: 'prod', node: 'n1', agentInstanceId: 'a', retentionMs: -1 }), { message: /retentionMs/ });
  await assert.rejects(NodeAgentClient.connect({ nc: w.bus.connect(), cluster: 'prod', node: 'n1', agentInstanceId: 'a', bogus: 1 } as never), { message: /bogus/ });
  await w.cleanup();
});

test('registration waits for the service and stops when the signal aborts', async () => {
  const w = await world();
  w.server.answering = false;
  const ac = new AbortController();
  const pending = w.connect({ signal: ac.signal, registerTimeoutMs: 20 });
  await new Promise((r) => setTimeout(r, 60));
  ac.abort(new Error('shutting down'));
  w.clock.advance(60_000);
  await assert.rejects(pending, /shutting down/);
  await w.cleanup();
});

test('the cluster client sees every scope\'s objects and routes queries', async () => {
  const w = await world();
  w.runPod();
  w.server.commit([{ update: pod({ uid: 'far', name: 'db-0', namespace: 'data', node: 'n9' }), scopes: ['cluster', 'node/n9'] }]);
  const client = await ClusterClient.connect({ nc: w.bus.connect(), cluster: 'prod', clock: w.clock });
  await client.whenInSync();
  assert.equal(client.state.pods().length, 2);
  assert.deepEqual([...client.routeQuery({ namespace: 'data' })], ['n9']);
  assert.equal(client.resolveIp('10.244.0.1')?.kind, 'Pod');
  await client.close();
  await w.cleanup();
});
