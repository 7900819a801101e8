// SDK benchmark: UPID hydration throughput (10,000-row batches on a 110-pod node, with a warm
// cache and with the state changing between batches), node agent heap at 110 pods (while the
// cluster has 0 and 150,000 other pods: it must not grow with the cluster), and snapshot apply
// time (decode + atomic apply) for a 110-pod node scope and a 150,000-pod cluster scope.
// Median of 3 runs; writes bench/results/sdk-hydration.json.
// Run: node --expose-gc --import tsx bench/sdk-hydration.ts   (machine-dependent numbers)
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { ManualClock } from '../src/core/index.ts';
import { decodeResourceUpdate, encodeResourceUpdate, newStreamId, updateIdentity, type ResourceUpdate, type Upid } from '../src/schema/index.ts';
import { LocalState, NodeAgentClient, type AppliedUpdate } from '../src/sdk/index.ts';
import { FakeBus, FakeKubemeta, container, namespace, node, pod, service, workload } from '../src/testing/index.ts';

const RUNS = 3;
const NODE_PODS = 110;
const CONTAINERS_PER_POD = 3;
const PROCESSES_PER_CONTAINER = 10;
const ROWS = 10_000;
const CLUSTER_PODS = 150_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc --import tsx bench/sdk-hydration.ts');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}
const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** The updates of one node scope with `pods` workload pods (3 containers each), as the projector shapes them. */
function nodeScopeUpdates(nodeName: string, pods: number, prefix = nodeName): ResourceUpdate[] {
  const out: ResourceUpdate[] = [
    node({ uid: `uid-${nodeName}`, name: nodeName, ip: '10.0.0.1' }),
    namespace({ uid: 'ns-shop', name: 'shop' }),
    workload({ kind: 'Deployment', uid: 'dep-checkout', name: 'checkout', namespace: 'shop' }),
    workload({ kind: 'ReplicaSet', uid: 'rs-checkout', name: 'checkout-7d9f8b6c5d', namespace: 'shop', owner: { kind: 'Deployment', name: 'checkout', uid: 'dep-checkout' } }),
  ];
  const podUids: string[] = [];
  for (let p = 0; p < pods; p++) {
    const uid = `${prefix}-pod-${p}`;
    podUids.push(uid);
    const name = `checkout-7d9f8b6c5d-${prefix}-${p}`;
    const cs = ['init-config', 'istio-proxy', 'checkout'].slice(0, CONTAINERS_PER_POD).map((c, k) => ({ name: c, id: `${prefix}-${p}-${k}`.padEnd(64, 'c') }));
    out.push(pod({
      uid, name, namespace: 'shop', node: nodeName, ip: `10.${(p >> 16) & 255}.${(p >> 8) & 255}.${p & 255}`,
      labels: { app: 'checkout', 'pod-template-hash': '7d9f8b6c5d', team: 'payments' }, owner: { kind: 'ReplicaSet', name: 'checkout-7d9f8b6c5d', uid: 'rs-checkout' }, containers: cs,
    }));
    for (const c of cs) out.push(container({ id: c.id, name: c.name, podUid: uid, podName: name, namespace: 'shop' }));
  }
  out.push(service({ uid: `svc-${prefix}`, name: 'checkout', namespace: 'shop', clusterIp: '10.96.0.10', podUids, nodes: [nodeName] }));
  return out;
}

/** Snapshot entries as a client receives them: encoded payloads, decoded on apply. */
function encoded(updates: ResourceUpdate[]): Array<{ version: number; payload: Uint8Array }> {
  return updates.map((u, i) => ({ version: i + 1, payload: encodeResourceUpdate(u) }));
}

function applySnapshot(entries: Array<{ version: number; payload: Uint8Array }>): { ms: number; state: LocalState } {
  const state = new LocalState({ clock: new ManualClock(1_800_000_000_000), retentionMs: 3_600_000 });
  const start = process.hrtime.bigint();
  const decoded: AppliedUpdate[] = entries.map((e) => {
    const update = decodeResourceUpdate(e.payload);
    return { version: e.version, update, identity: updateIdentity(update) };
  });
  state.applySnapshot(decoded, entries.length, newStreamId());
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, state };
}

async function agentHeap(otherPods: number): Promise<{ bytes: number; pods: number; objects: number }> {
  const bus = new FakeBus();
  const server = new FakeKubemeta(bus, 'bench');
  const scopes = ['cluster', 'node/n1'];
  const updates = nodeScopeUpdates('n1', NODE_PODS);
  server.commit(updates.map((u) => ({ update: u, scopes })), false);
  for (let i = 0; i < otherPods; i += 5_000) {
    const n = `other-${i / 5_000}`;
    const batch = nodeScopeUpdates(n, Math.min(5_000, otherPods - i)).map((u) => ({ update: u, scopes: ['cluster', `node/${n}`] }));
    server.commit(batch, false);
  }
  gc!();
  gc!();
  const before = process.memoryUsage().heapUsed;
  const agent = await NodeAgentClient.connect({ nc: bus.connect(), cluster: 'bench', node: 'n1', agentInstanceId: 'bench', clock: new ManualClock(1_800_000_000_000) });
  await agent.whenInSync();
  let pid = 1;
  for (const c of agent.state.containers()) for (let k = 0; k < PROCESSES_PER_CONTAINER; k++) agent.registerProcess(++pid, 1000 + pid, c.containerId);
  await bus.settle(5);
  gc!();
  gc!();
  const after = process.memoryUsage().heapUsed;
  const counts = agent.state.counts();
  await agent.close();
  server.close();
  return { bytes: after - before, pods: counts.pods, objects: counts.pods + counts.containers + counts.services + counts.workloads + counts.namespaces + counts.nodes };
}

async function main(): Promise<void> {
  // Hydration on a 110-pod node: 330 containers, 3,300 processes, 10,000-row batches.
  const bus = new FakeBus();
  const server = new FakeKubemeta(bus, 'bench');
  server.commit(nodeScopeUpdates('n1', NODE_PODS).map((u) => ({ update: u, scopes: ['cluster', 'node/n1'] })));
  const agent = await NodeAgentClient.connect({ nc: bus.connect(), cluster: 'bench', node: 'n1', agentInstanceId: 'bench', clock: new ManualClock(1_800_000_000_000) });
  await agent.whenInSync();
  const procs: Upid[] = [];
  let pid = 1;
  for (const c of agent.state.containers()) for (let k = 0; k < PROCESSES_PER_CONTAINER; k++) {
    agent.registerProcess(++pid, 1000 + pid, c.containerId);
    procs.push({ asid: agent.asid, pid, startTimeTicks: 1000 + pid });
  }
  let seed = 1;
  const rows: Upid[] = Array.from({ length: ROWS }, () => procs[(seed = (seed * 1103515245 + 12345) & 0x7fffffff) % procs.length] as Upid);
  const out = new Array(ROWS);
  for (let i = 0; i < 50; i++) agent.hydrateBatch(rows, out); // warm up the JIT
  const warm: number[] = [];
  const changing: number[] = [];
  const BATCHES = 200;
  for (let r = 0; r < RUNS; r++) {
    let start = process.hrtime.bigint();
    for (let b = 0; b < BATCHES; b++) agent.hydrateBatch(rows, out);
    warm.push((BATCHES * ROWS) / (Number(process.hrtime.bigint() - start) / 1e9));
    start = process.hrtime.bigint();
    for (let b = 0; b < BATCHES; b++) {
      // One update between batches: the per-container cache is recomputed for every batch.
      server.commit([{ update: pod({ uid: `churn-${r}-${b}`, name: 'x', namespace: 'shop', node: 'n1' }), scopes: ['cluster', 'node/n1'] }]);
      await bus.settle(1);
      agent.hydrateBatch(rows, out);
    }
    changing.push((BATCHES * ROWS) / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  if (out.filter(Boolean).length !== ROWS) throw new Error('hydration missed rows');
  await agent.close();
  server.close();

  const nodeApply: number[] = [];
  const nodeEntries = encoded(nodeScopeUpdates('n1', NODE_PODS));
  for (let i = 0; i < 20; i++) applySnapshot(nodeEntries); // warm up
  for (let r = 0; r < RUNS; r++) nodeApply.push(applySnapshot(nodeEntries).ms);

  const clusterEntries = encoded(Array.from({ length: CLUSTER_PODS / 5_000 }, (_, i) => nodeScopeUpdates(`node-${i}`, 5_000)).flat());
  const clusterApply: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    gc!();
    clusterApply.push(applySnapshot(clusterEntries).ms);
  }

  const heapSmall: number[] = [];
  for (let r = 0; r < RUNS; r++) heapSmall.push((await agentHeap(0)).bytes);
  const heapLarge: number[] = [];
  let large = { bytes: 0, pods: 0, objects: 0 };
  for (let r = 0; r < RUNS; r++) {
    large = await agentHeap(CLUSTER_PODS);
    heapLarge.push(large.bytes);
  }

  const results = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((l) => round(l, 2)), node: process.version },
    hydration: {
      rowsPerBatch: ROWS, podsOnNode: NODE_PODS, containers: NODE_PODS * CONTAINERS_PER_POD, processes: procs.length,
      warmCacheRowsPerSec: Math.round(median(warm)),
      stateChangingRowsPerSec: Math.round(median(changing)),
      warmCacheMsPerBatch: round((ROWS / median(warm)) * 1000, 3),
    },
    nodeAgentHeap: {
      podsOnNode: NODE_PODS, processes: NODE_PODS * CONTAINERS_PER_POD * PROCESSES_PER_CONTAINER, objects: large.objects,
      clusterOtherPods0Bytes: median(heapSmall),
      clusterOtherPods150kBytes: median(heapLarge),
      bytesPerPod: Math.round(median(heapSmall) / NODE_PODS),
    },
    snapshotApply: {
      nodeScope110PodsMs: round(median(nodeApply), 2),
      clusterScope150kPodsMs: Math.round(median(clusterApply)),
      clusterScopeObjects: clusterEntries.length,
    },
    runs: RUNS,
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/sdk-hydration.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
}

await main();
