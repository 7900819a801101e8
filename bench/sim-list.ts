/**
 * Sim scale benchmark: 150,000 realistic pods on 5,000 nodes (Kubernetes' published
 * scalability limits) loaded into a ClusterModel, then served as a paginated LIST
 * (limit=500) over HTTP, the way a client's initial sync reads them.
 *
 *   node --expose-gc --import tsx bench/sim-list.ts [--pods N] [--nodes N] [--runs N]
 *
 * The LIST client runs in a worker thread (its own event loop, like a separate process) and
 * only counts bytes: this measures what the sim serves, not JSON parsing in the client.
 * Prints a table and writes bench/results/sim-list.json.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { startSimApiServer } from '../src/sim/http/api-server.ts';
import { ClusterModel } from '../src/sim/model/cluster-model.ts';
import type { KubeObjectInput } from '../src/sim/model/objects.ts';

const { values } = parseArgs({ options: { pods: { type: 'string', default: '150000' }, nodes: { type: 'string', default: '5000' }, runs: { type: 'string', default: '3' } } });
const PODS = Number(values.pods);
const NODES = Number(values.nodes);
const RUNS = Number(values.runs);
const NAMESPACES = 50;
const PAGE = 500;

function hex(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

function uid(seed: string): string {
  const h = hex(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function node(i: number): KubeObjectInput {
  const name = `node-${String(i).padStart(5, '0')}`;
  const ip = `10.${Math.floor(i / 250)}.${i % 250}.10`;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'topology.kubernetes.io/zone': `zone-${i % 3}`, 'node.kubernetes.io/instance-type': 'm5.2xlarge' } },
    spec: { podCIDR: `100.${Math.floor(i / 256)}.${i % 256}.0/24`, podCIDRs: [`100.${Math.floor(i / 256)}.${i % 256}.0/24`], providerID: `aws:///zone-${i % 3}/i-${hex(name).slice(0, 17)}` },
    status: {
      addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }],
      capacity: { cpu: '8', memory: '32386524Ki', pods: '110' },
      allocatable: { cpu: '7910m', memory: '31369692Ki', pods: '110' },
      conditions: ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'].map((type) => ({
        type,
        status: type === 'Ready' ? 'True' : 'False',
        lastHeartbeatTime: '2025-01-01T00:00:00Z',
        lastTransitionTime: '2025-01-01T00:00:00Z',
        reason: type === 'Ready' ? 'KubeletReady' : `KubeletHasNo${type}`,
        message: type === 'Ready' ? 'kubelet is posting ready status' : `kubelet has no ${type}`,
      })),
      nodeInfo: { kubeletVersion: 'v1.32.0', kubeProxyVersion: 'v1.32.0', osImage: 'Ubuntu 22.04.4 LTS', kernelVersion: '6.5.0-1022-aws', containerRuntimeVersion: 'containerd://1.7.24', architecture: 'amd64', operatingSystem: 'linux', machineID: hex(`m${i}`).slice(0, 32), systemUUID: uid(`s${i}`), bootID: uid(`b${i}`) },
    },
  };
}

function container(name: string, image: string, app: string, port: number): Record<string, unknown> {
  return {
    name,
    image,
    ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
    env: [{ name: 'APP', value: app }],
    resources: { requests: { cpu: '100m', memory: '128Mi' } },
  };
}

function containerStatus(name: string, image: string, seed: string, init: boolean): Record<string, unknown> {
  const state = init ? { terminated: { exitCode: 0, reason: 'Completed', startedAt: '2025-01-01T00:00:01Z', finishedAt: '2025-01-01T00:00:02Z', containerID: `containerd://${hex(seed)}` } } : { running: { startedAt: '2025-01-01T00:00:03Z' } };
  return { name, image, imageID: `docker.io/library/${image.split(':')[0]}@sha256:${hex(image)}`, containerID: `containerd://${hex(seed)}`, ready: !init, started: !init, restartCount: 0, state };
}

function pod(i: number): KubeObjectInput {
  const ns = `ns-${String(i % NAMESPACES).padStart(2, '0')}`;
  const app = `app-${Math.floor(i / 10) % 1000}`;
  const rsHash = hex(app).slice(0, 10);
  const name = `${app}-${rsHash}-${hex(`p${i}`).slice(0, 5)}`;
  const nodeName = `node-${String(i % NODES).padStart(5, '0')}`;
  const ip = `100.${Math.floor((i % NODES) / 256)}.${(i % NODES) % 256}.${Math.floor(i / NODES) + 2}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      labels: { app, 'pod-template-hash': rsHash, tier: i % 2 === 0 ? 'web' : 'worker', team: `team-${i % 7}` },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app}-${rsHash}`, uid: uid(`rs${ns}${app}`), controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      nodeName,
      initContainers: [{ name: 'init-config', image: 'busybox:1.36', command: ['sh', '-c', 'cp /config/* /work/'] }],
      containers: [container('app', `registry.example.com/${app}:1.4.2`, app, 8080), container('sidecar', 'envoyproxy/envoy:v1.31.0', app, 15001)],
      restartPolicy: 'Always',
      serviceAccountName: 'default',
      schedulerName: 'default-scheduler',
    },
    status: {
      phase: 'Running',
      hostIP: `10.${Math.floor((i % NODES) / 250)}.${(i % NODES) % 250}.10`,
      podIP: ip,
      podIPs: [{ ip }],
      startTime: '2025-01-01T00:00:00Z',
      qosClass: 'Burstable',
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastTransitionTime: '2025-01-01T00:00:03Z' })),
      initContainerStatuses: [containerStatus('init-config', 'busybox:1.36', `i${i}`, true)],
      containerStatuses: [containerStatus('app', `registry.example.com/${app}:1.4.2`, `a${i}`, false), containerStatus('sidecar', 'envoyproxy/envoy:v1.31.0', `s${i}`, false)],
    },
  };
}

function memory(): { heapUsedMB: number; rssMB: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heapUsedMB: round(m.heapUsed / 1e6), rssMB: round(m.rss / 1e6) };
}

function round(n: number, digits = 1): number {
  return Math.round(n * 10 ** digits) / 10 ** digits;
}

/** The LIST client, run in a worker: pages through /api/v1/pods and counts bytes. */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { base, limit } = workerData;
  const started = performance.now();
  let token = '', pages = 0, bytes = 0, firstPageMs = 0;
  do {
    const res = await fetch(base + '/api/v1/pods?limit=' + limit + (token ? '&continue=' + encodeURIComponent(token) : ''));
    if (res.status !== 200) throw new Error('LIST page ' + pages + ' answered ' + res.status + ': ' + await res.text());
    const body = Buffer.from(await res.arrayBuffer());
    if (pages === 0) firstPageMs = performance.now() - started;
    pages++;
    bytes += body.length;
    const m = /"continue":"([^"]*)"/.exec(body.subarray(0, 4096).toString('latin1'));
    token = m ? m[1] : '';
  } while (token);
  parentPort.postMessage({ ms: performance.now() - started, pages, bytes, firstPageMs });
})().catch((err) => { throw err; });
`;

function listOnce(base: string): Promise<{ ms: number; pages: number; bytes: number; firstPageMs: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(CLIENT, { eval: true, workerData: { base, limit: PAGE } });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function main(): Promise<void> {
  // What building the inputs costs on its own, so the model's share of the load time is known.
  const factoryStart = performance.now();
  for (let i = 0; i < NODES; i++) node(i);
  for (let i = 0; i < PODS; i++) pod(i);
  const factoryMs = performance.now() - factoryStart;

  const model = new ClusterModel({ historyPerKind: 20_000 });
  const before = memory();
  const loadStart = performance.now();
  for (let i = 0; i < NAMESPACES; i++) model.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${String(i).padStart(2, '0')}` }, status: { phase: 'Active' } });
  for (let i = 0; i < NODES; i++) model.create(node(i));
  for (let i = 0; i < PODS; i++) model.create(pod(i));
  model.list('Pod'); // the first LIST sorts the keys; count it as part of loading
  const loadMs = performance.now() - loadStart;
  const afterLoad = memory();
  const sample = model.list('Pod').items[0];
  const podBytes = Buffer.byteLength(sample?.json ?? '');

  const sim = await startSimApiServer(model);
  const runs: Array<{ ms: number; pages: number; bytes: number; firstPageMs: number; objects: number }> = [];
  for (let r = 0; r < RUNS; r++) {
    const objectsBefore = sim.counters.listObjects;
    const result = await listOnce(sim.url);
    runs.push({ ...result, objects: sim.counters.listObjects - objectsBefore });
  }
  const afterList = memory();
  await sim.close();

  const ms = median(runs.map((r) => r.ms));
  const run = runs.find((r) => r.ms === ms) ?? runs[0];
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    pods: PODS,
    nodes: NODES,
    namespaces: NAMESPACES,
    podJsonBytes: podBytes,
    load: { ms: Math.round(loadMs), podsPerSecond: Math.round(PODS / (loadMs / 1000)), inputFactoryMs: Math.round(factoryMs), modelMs: Math.round(loadMs - factoryMs) },
    memory: { beforeLoad: before, afterLoad, afterList },
    list: {
      pageSize: PAGE,
      runs: runs.map((r) => ({ ms: Math.round(r.ms), pages: r.pages, objects: r.objects, MB: round(r.bytes / 1e6) })),
      median: {
        ms: Math.round(ms),
        pages: run?.pages,
        objects: run?.objects,
        MB: round((run?.bytes ?? 0) / 1e6),
        objectsPerSecond: Math.round((run?.objects ?? 0) / (ms / 1000)),
        MBPerSecond: round((run?.bytes ?? 0) / 1e6 / (ms / 1000)),
        firstPageMs: round(run?.firstPageMs ?? 0),
      },
    },
  };
  console.table({
    'model load': { value: `${result.load.ms} ms`, detail: `${result.load.podsPerSecond} pods/s, ${PODS} pods + ${NODES} nodes, ${podBytes} B/pod` },
    '  of which model': { value: `${result.load.modelMs} ms`, detail: `(building the inputs alone: ${result.load.inputFactoryMs} ms)` },
    'memory after load': { value: `${afterLoad.heapUsedMB} MB heap`, detail: `${afterLoad.rssMB} MB RSS (before: ${before.heapUsedMB} MB heap)` },
    'paginated LIST (median)': { value: `${result.list.median.ms} ms`, detail: `${result.list.median.pages} pages of ${PAGE}, ${result.list.median.objects} objects, ${result.list.median.MB} MB` },
    throughput: { value: `${result.list.median.objectsPerSecond} objects/s`, detail: `${result.list.median.MBPerSecond} MB/s; first page ${result.list.median.firstPageMs} ms` },
    'memory after LISTs': { value: `${afterList.heapUsedMB} MB heap`, detail: `${afterList.rssMB} MB RSS` },
  });
  await mkdir(new URL('results/', import.meta.url), { recursive: true });
  await writeFile(new URL('results/sim-list.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
}

await main();
