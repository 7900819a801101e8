// The SDK's clients against the real service parts (docs/design.md §3, §4, §7, §8, §11; wire protocol
// §6–§8): a real nats-server, an UpdateLog on LMDB, the ScopePublisher, ReplayServer,
// AgentRegistry and ScopeHeartbeat. Every test compares the clients' live objects with the
// log's current state of their scope (the truth) after the churn stops.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from '../../src/core/index.ts';
import { decodeResourceUpdate, timeNsFromMs } from '../../src/schema/index.ts';
import { ClusterClient, NodeAgentClient, type Status, type NodeAgentClientOptions } from '../../src/sdk/index.ts';
import { startNatsServer, type NatsServer } from '../../src/testing/nats-server.ts';
import { makeTempDir } from '../../src/testing/processes.ts';
import { Workload, diff, held, startService, truth, type ServiceHarness } from '../helpers/sdk-harness.ts';

let nats: NatsServer;
let tmp: { path: string; remove: () => Promise<void> };
let clusters = 0;
const closers: Array<() => Promise<unknown>> = [];

/** A deterministic random source (an LCG), so a failing run can be repeated. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

async function service(cluster: string, dirName = cluster): Promise<ServiceHarness> {
  const s = await startService({ servers: nats.url, cluster, dir: join(tmp.path, dirName), random: seeded(7), heartbeatMs: 300 });
  closers.push(() => s.stop().catch(() => undefined));
  return s;
}

async function agent(cluster: string, node: string, extra: Partial<NodeAgentClientOptions> = {}): Promise<NodeAgentClient> {
  const a = await NodeAgentClient.connect({ servers: nats.url, cluster, node, agentInstanceId: `agent-${node}`, replayTimeoutMs: 3_000, ...extra });
  closers.push(() => a.close());
  return a;
}

async function clusterClient(cluster: string): Promise<ClusterClient> {
  const c = await ClusterClient.connect({ servers: nats.url, cluster, replayTimeoutMs: 3_000 });
  closers.push(() => c.close());
  return c;
}

function collect(it: AsyncIterable<Status>): Status[] {
  const out: Status[] = [];
  void (async () => {
    for await (const s of it) out.push(s);
  })();
  return out;
}

/** Waits until the client's live objects equal the log's state of its scope and it is in sync. */
async function converged(client: NodeAgentClient | ClusterClient, svc: ServiceHarness, scope: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const want = await truth(svc.log, scope);
    last = diff(want, held(client.state));
    if (last === '' && client.inSync && client.head === svc.log.scopeHead(scope)) return;
    await sleep(50);
  }
  assert.fail(`${scope} did not converge within ${timeoutMs} ms (inSync ${client.inSync}, head ${client.head} vs ${svc.log.scopeHead(scope)}): ${last}`);
}

async function churn(svc: ServiceHarness, workload: Workload, steps: number, perBatch = 4): Promise<void> {
  for (let i = 0; i < steps; i += perBatch) {
    const updates = [];
    for (let k = 0; k < perBatch; k++) updates.push(...workload.step(timeNsFromMs(Date.now())));
    await svc.commit(updates);
  }
}

before(async () => {
  nats = await startNatsServer();
  tmp = await makeTempDir('sdk-it');
});

after(async () => {
  for (const close of closers.reverse()) await close();
  await nats?.stop();
  await tmp?.remove();
});

describe('SDK clients against the real service', () => {
  it('new agents and a cluster client bootstrap by snapshot, then follow live updates', async () => {
    const name = `sdk-${++clusters}`;
    const svc = await service(name);
    const work = new Workload(['n1', 'n2', 'n3'], seeded(1));
    await churn(svc, work, 60);
    const agents = await Promise.all(['n1', 'n2', 'n3'].map((n) => agent(name, n)));
    const cluster = await clusterClient(name);
    const gapsSeen = collect(cluster.status());
    for (const [i, a] of agents.entries()) await converged(a, svc, `node/n${i + 1}`);
    await converged(cluster, svc, 'cluster');
    await churn(svc, work, 60);
    for (const [i, a] of agents.entries()) await converged(a, svc, `node/n${i + 1}`);
    await converged(cluster, svc, 'cluster');
    for (const a of [...agents, cluster]) {
      assert.equal(a.stats().snapshots, 1, 'one snapshot, then the live stream');
      assert.equal(a.stats().gaps, 0, JSON.stringify(a.stats()));
    }
    assert.deepEqual(new Set(agents.map((a) => a.asid)).size, 3, 'each agent has its own ASID');
    assert.ok(cluster.state.pods().length > agents[0]!.state.pods().length, 'an agent holds only its node');
    assert.ok(agents.every((a) => a.inSync && a.lag === 0));
    assert.deepEqual(gapsSeen.filter((s) => s.type === 'gap' || s.type === 'error'), [], 'no gap, no error');
  });

  it('converges through replay when a fraction of the live publishes is dropped', async () => {
    const name = `sdk-${++clusters}`;
    const svc = await service(name);
    const work = new Workload(['n1', 'n2'], seeded(2));
    await churn(svc, work, 20);
    const a = await agent(name, 'n1');
    const cluster = await clusterClient(name);
    await converged(a, svc, 'node/n1');
    await converged(cluster, svc, 'cluster');
    svc.dropRate = 0.3;
    await churn(svc, work, 300, 3);
    svc.dropRate = 0;
    assert.ok(svc.dropped > 10, `dropped ${svc.dropped} batches`);
    await converged(a, svc, 'node/n1');
    await converged(cluster, svc, 'cluster');
    assert.ok(a.stats().gaps > 0 && a.stats().replays > 1, 'gaps were detected and replayed');
    assert.ok(cluster.stats().gaps > 0);
    assert.equal(cluster.stats().snapshots, 1, 'gaps are filled by tails, not snapshots');
  });

  it('an agent away longer than the history window converges by snapshot, deletions included', async () => {
    const name = `sdk-${++clusters}`;
    const svc = await service(name);
    const work = new Workload(['n1'], seeded(3));
    const persistDir = join(tmp.path, `${name}-agent`);
    const kept = work.create('n1');
    const doomed = work.create('n1');
    await svc.commit([...kept.updates, ...doomed.updates]);
    const first = await agent(name, 'n1', { persistDir });
    await converged(first, svc, 'node/n1');
    await first.close();
    await svc.commit(work.delete(doomed.uid, timeNsFromMs(Date.now())));
    await churn(svc, work, 80);
    await svc.log.compact({ keepUpdates: 10 });
    // What the restarted agent loads first (checked on disk: the answer may already be in by the
    // time connect() returns, so the live state cannot show it reliably).
    const saved = JSON.parse(await readFile(join(persistDir, (await readdir(persistDir))[0] as string), 'utf8')) as { objects: Array<{ p: string }> };
    const savedUids = saved.objects.map((o) => decodeResourceUpdate(new Uint8Array(Buffer.from(o.p, 'base64'))).object.value as { uid?: string });
    assert.ok(savedUids.some((v) => v.uid === doomed.uid), 'the persisted state still has the pod deleted while away');
    const second = await agent(name, 'n1', { persistDir });
    await converged(second, svc, 'node/n1');
    assert.equal(second.stats().snapshots, 1, 'a snapshot, since the tail was compacted');
    assert.equal(second.state.pod(doomed.uid), undefined, 'deleted while away: not live');
  });

  it('agents killed and restarted during churn converge, with and without persistence', async () => {
    const name = `sdk-${++clusters}`;
    const svc = await service(name);
    const work = new Workload(['n1', 'n2'], seeded(4));
    await churn(svc, work, 40);
    const persistDir = join(tmp.path, `${name}-agent`);
    let persisted = await agent(name, 'n1', { persistDir });
    let plain = await agent(name, 'n2');
    await converged(persisted, svc, 'node/n1');
    await persisted.save();
    const file = join(persistDir, (await readdir(persistDir))[0] as string);
    const stale = `${file}.stale`;
    await copyFile(file, stale); // what a crash leaves: an older save
    let tailResumes = 0;
    for (let round = 0; round < 3; round++) {
      const churning = churn(svc, work, 60, 2);
      await sleep(30);
      await persisted.close();
      await copyFile(stale, file);
      await plain.close();
      await sleep(20);
      persisted = await agent(name, 'n1', { persistDir });
      plain = await agent(name, 'n2');
      await churning;
      await converged(persisted, svc, 'node/n1');
      await converged(plain, svc, 'node/n2');
      if (persisted.stats().snapshots === 0) tailResumes++;
      assert.equal(plain.stats().snapshots, 1);
      await persisted.save();
      await copyFile(file, stale);
    }
    assert.equal(tailResumes, 3, 'each restart with persistence resumed with a tail replay');
  });

  it('a wiped store (new stream id) makes every client bootstrap again instead of dropping updates as duplicates', async () => {
    const name = `sdk-${++clusters}`;
    const svc = await service(name, `${name}-a`);
    const work = new Workload(['n1'], seeded(5));
    await churn(svc, work, 120);
    const a = await agent(name, 'n1');
    const cluster = await clusterClient(name);
    const statuses = collect(a.status());
    await converged(a, svc, 'node/n1');
    await converged(cluster, svc, 'cluster');
    const oldHead = a.head;
    const oldStream = a.streamId;
    await svc.stop();
    const fresh = await service(name, `${name}-b`); // a new, empty store: new stream id, versions from 1
    const newWork = new Workload(['n1'], seeded(6));
    await churn(fresh, newWork, 8);
    assert.ok(fresh.log.head < oldHead, 'the new stream\'s versions are below the old position');
    await converged(a, fresh, 'node/n1');
    await converged(cluster, fresh, 'cluster');
    assert.notEqual(a.streamId, oldStream);
    assert.ok(statuses.some((s) => s.type === 'streamReset' && s.from === oldStream));
    await churn(fresh, newWork, 8);
    await converged(a, fresh, 'node/n1');
  });

  it('an IP reused by a new pod resolves by time, in the cluster client and the node agent', async () => {
    const name = `sdk-${++clusters}`;
    const svc = await service(name);
    const work = new Workload(['n1'], seeded(8));
    const now = Date.now();
    const minute = 60_000;
    const old = work.create('n1', '10.244.9.9', timeNsFromMs(now - 10 * minute));
    await svc.commit(old.updates);
    await svc.commit(work.delete(old.uid, timeNsFromMs(now - 5 * minute)));
    const reused = work.create('n1', '10.244.9.9', timeNsFromMs(now - 4 * minute));
    await svc.commit(reused.updates);
    const a = await agent(name, 'n1');
    const cluster = await clusterClient(name);
    await converged(a, svc, 'node/n1');
    await converged(cluster, svc, 'cluster');
    for (const client of [cluster, a]) {
      const then = client.resolveIp('10.244.9.9', timeNsFromMs(now - 7 * minute));
      const nowOwner = client.resolveIp('10.244.9.9');
      assert.equal(then?.kind === 'Pod' ? then.pod?.name : undefined, old.uid, 'a connection seen 7 minutes ago belongs to the old pod');
      assert.equal(nowOwner?.kind === 'Pod' ? nowOwner.pod?.name : undefined, reused.uid);
    }
  });

  it('clients survive a NATS server restart and catch up on what was committed during the outage', async () => {
    const name = `sdk-${++clusters}`;
    const svc = await service(name);
    const work = new Workload(['n1'], seeded(9));
    await churn(svc, work, 20);
    const a = await agent(name, 'n1');
    const statuses = collect(a.status());
    await converged(a, svc, 'node/n1');
    await nats.kill();
    await churn(svc, work, 20); // committed while nobody can publish: the publisher catches up later
    await nats.start();
    await converged(a, svc, 'node/n1', 30_000);
    assert.ok(statuses.some((s) => s.type === 'reconnect'));
    assert.equal(a.stats().snapshots, 1);
  });

  it('clients survive a service restart: replay waits for it, no stream reset', async () => {
    const name = `sdk-${++clusters}`;
    let svc = await service(name);
    const work = new Workload(['n1'], seeded(10));
    await churn(svc, work, 20);
    const a = await agent(name, 'n1');
    await converged(a, svc, 'node/n1');
    const stream = a.streamId;
    await svc.stop();
    svc = await service(name); // the same store: the same stream, history intact
    await churn(svc, work, 20);
    await converged(a, svc, 'node/n1');
    assert.equal(a.streamId, stream);
    assert.equal(a.stats().streamResets, 0);
  });
});
