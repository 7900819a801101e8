// Initial sync of a large cluster through `kubemeta serve` (issue 3, 7): the simulator with
// N nodes × P pods per node, a real nats-server, and `kubemeta serve` as a child process with
// its LMDB store on local disk. Measures time to ready (spawn → /readyz 200), updates/s,
// serve's peak RSS, and API requests. Then churn at a fixed rate: the sustained update rate and
// the latency from a sim write to the update reaching a NATS subscriber (p50/p99).
//
//   node --import tsx bench/serve-sync.ts [--nodes 5000] [--pods-per-node 30] [--runs 1]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { connect } from '@nats-io/transport-node';
import { clusterSubjects, decodeUpdateBatch } from '../src/schema/index.ts';
import { ScenarioEngine, startSimApiServer, writeKubeconfig } from '../src/sim/index.ts';
import { freePort, makeTempDir, spawnProcess, startNatsServer } from '../src/testing/index.ts';
import { cpuSecondsOf, median, percentile, printTable, rssOf, writeResult } from './lib/report.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5000' },
    'pods-per-node': { type: 'string', default: '30' },
    runs: { type: 'string', default: '1' },
    'churn-rate': { type: 'string', default: '2000' },
    'churn-seconds': { type: 'string', default: '15' },
    /** Quiet time between ready and churn: the disk flushes what the initial sync wrote. */
    'settle-seconds': { type: 'string', default: '10' },
    /** Extra node flags for the serve child (comma-separated), e.g. --max-semi-space-size=64. */
    'serve-node-flags': { type: 'string', default: '' },
    /** Writes a CPU profile of the serve child into this directory (node --cpu-prof). */
    'serve-cpu-prof': { type: 'string' },
  },
});
const nodes = Number(values.nodes);
const podsPerNode = Number(values['pods-per-node']);

const t0 = performance.now();
const engine = new ScenarioEngine({ seed: 1, nodes, podsPerNode, namespaces: 20, historyPerKind: 2_000_000 });
const populate = engine.populate();
engine.controllers.start();
const api = await startSimApiServer(engine.model, { bookmarkIntervalMs: 5_000 });
console.log(`sim: ${engine.model.count('Pod')} pods, ${engine.model.count('Node')} nodes in ${Math.round(performance.now() - t0)} ms`);
const nats = await startNatsServer();
const bin = new URL('../bin/kubemeta.js', import.meta.url).pathname;

interface Run {
  readyMs: number;
  head: number;
  updatesPerSec: number;
  peakRssMb: number;
  /** serve's CPU time (all threads) until ready. */
  cpuSeconds: number;
  apiLists: number;
  apiWatches: number;
  listObjects: number;
}

async function status(port: number): Promise<{ state: string; head: number } | undefined> {
  try {
    return (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { state: string; head: number };
  } catch {
    return undefined;
  }
}

async function syncOnce(dir: string): Promise<{ run: Run; port: number; stop: () => Promise<void> }> {
  const kubeconfig = join(dir, 'kubeconfig');
  await writeKubeconfig(kubeconfig, { server: api.url });
  const port = await freePort();
  const before = api.stats();
  const started = performance.now();
  const proc = spawnProcess(process.execPath, [
    '--max-old-space-size=8192',
    ...(values['serve-node-flags'] === '' ? [] : (values['serve-node-flags'] as string).split(',')),
    ...(values['serve-cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values['serve-cpu-prof']}`]),
    bin, 'serve', '--kubeconfig', kubeconfig, '--nats-urls', nats.url, '--store', `lmdb:${join(dir, 'store')}`,
    '--http', `127.0.0.1:${port}`, '--cluster', 'bench', '--log-level', 'warn',
  ]);
  let peak = 0;
  for (;;) {
    const s = await status(port);
    if (proc.child.pid) peak = Math.max(peak, rssOf(proc.child.pid).peakMb);
    if (s?.state === 'ready') break;
    if (proc.child.exitCode !== null) throw new Error(`serve exited: ${proc.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const readyMs = performance.now() - started;
  const cpuSeconds = proc.child.pid ? cpuSecondsOf(proc.child.pid) : 0;
  const s = (await status(port)) as { head: number };
  const after = api.stats();
  const sum = (r: Record<string, number> | undefined) => Object.values(r ?? {}).reduce((a, b) => a + b, 0);
  return {
    run: {
      readyMs: Math.round(readyMs),
      head: s.head,
      updatesPerSec: Math.round(s.head / (readyMs / 1000)),
      peakRssMb: peak,
      cpuSeconds,
      apiLists: sum(after.requests['list']) - sum(before.requests['list']),
      apiWatches: after.watchesStarted - before.watchesStarted,
      listObjects: after.listObjects - before.listObjects,
    },
    port,
    stop: () => proc.stop(),
  };
}

const runs: Run[] = [];
let last: { port: number; stop: () => Promise<void>; dir: { path: string; remove: () => Promise<void> } } | undefined;
for (let i = 0; i < Number(values.runs); i++) {
  await last?.stop();
  await last?.dir.remove();
  const dir = await makeTempDir('bench-sync');
  const r = await syncOnce(dir.path);
  runs.push(r.run);
  last = { port: r.port, stop: r.stop, dir };
  console.log(`run ${i + 1}: ready in ${r.run.readyMs} ms, ${r.run.head} updates, peak RSS ${r.run.peakRssMb} MB`);
}
printTable(`initial sync: ${nodes} nodes, ${engine.model.count('Pod')} pods`, runs.map((r, i) => ({ run: i + 1, ...r })));

// Churn: latency from the sim's write (model commit) to the update on the cluster subject.
const nc = await connect({ servers: nats.url });
const sub = nc.subscribe(clusterSubjects('bench').clusterScope);
const latencies: number[] = [];
let received = 0;
const podWrittenAt = new Map<string, number>();
engine.model.subscribe((e) => {
  if (e.stored.kind === 'Pod') podWrittenAt.set(e.stored.object.metadata.uid, performance.now());
});
void (async () => {
  for await (const m of sub) {
    if (m.data.length === 0) continue;
    const now = performance.now();
    for (const u of decodeUpdateBatch(m.data).updates) {
      received++;
      if (u.update.object.case !== 'pod') continue;
      const at = podWrittenAt.get(u.update.object.value.uid);
      if (at !== undefined) {
        latencies.push(now - at);
        podWrittenAt.delete(u.update.object.value.uid);
      }
    }
  }
})();
await new Promise((r) => setTimeout(r, Number(values['settle-seconds']) * 1000));
const metricsBefore = await histograms(last!.port);
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const headBefore = (await status(last!.port))!.head;
const churnStart = performance.now();
engine.startChurn({ ratePerSecond: Number(values['churn-rate']), tickMs: 50 });
await new Promise((r) => setTimeout(r, Number(values['churn-seconds']) * 1000));
await engine.stopChurn();
const churnSeconds = (performance.now() - churnStart) / 1000;
const headAfter = (await status(last!.port))!.head;
loopDelay.disable();
const metricsAfter = await histograms(last!.port);
const inServe = (name: string, q: number): number => Math.round(quantileOfDelta(metricsBefore.get(name), metricsAfter.get(name), q) * 1e4) / 10;
const churn = {
  churnActionsPerSec: Number(values['churn-rate']),
  seconds: Math.round(churnSeconds),
  committedUpdatesPerSec: Math.round((headAfter - headBefore) / churnSeconds),
  receivedPerSec: Math.round(received / churnSeconds),
  podLatencyP50Ms: Math.round(percentile(latencies, 50) * 10) / 10,
  podLatencyP99Ms: Math.round(percentile(latencies, 99) * 10) / 10,
  podLatencyMaxMs: Math.round(Math.max(...latencies) * 10) / 10,
  samples: latencies.length,
  // Inside serve (upper bucket bounds, ms): a watch event's wait until its updates are handed to
  // NATS (batching, store commit, publish), and the store commit per batch.
  serveEventToPublishP50Ms: inServe('kubemeta_event_to_publish_seconds', 0.5),
  serveEventToPublishP99Ms: inServe('kubemeta_event_to_publish_seconds', 0.99),
  serveCommitP50Ms: inServe('kubemeta_commit_duration_seconds', 0.5),
  serveCommitP99Ms: inServe('kubemeta_commit_duration_seconds', 0.99),
  // The bench process runs the simulator, its controllers and the subscriber: how late its
  // event loop ran is part of every write → subscriber latency above.
  benchLoopDelayP50Ms: Math.round(loopDelay.percentile(50) / 1e5) / 10,
  benchLoopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e5) / 10,
};
printTable('churn', [churn]);
await nc.close();
await last?.stop();
await last?.dir.remove();
await api.close();
engine.controllers.close();
await nats.stop();
const path = writeResult('serve-sync', {
  command: `node --import tsx bench/serve-sync.ts --nodes ${nodes} --pods-per-node ${podsPerNode} --runs ${values.runs}`,
  cluster: { nodes, pods: engine.model.count('Pod'), populateMs: Math.round(populate.durationMs) },
  runs,
  median: { readyMs: median(runs.map((r) => r.readyMs)), updatesPerSec: median(runs.map((r) => r.updatesPerSec)), peakRssMb: median(runs.map((r) => r.peakRssMb)) },
  churn,
});
console.log(`\nwrote ${path}`);
process.exit(0);

/** Cumulative bucket counts of serve's latency histograms, from /metrics. */
async function histograms(port: number): Promise<Map<string, Map<number, number>>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, Map<number, number>>();
  for (const m of text.matchAll(/^(\w+)_bucket\{le="([^"]+)"\} (\d+(?:\.\d+)?)$/gm)) {
    const name = m[1] as string;
    let buckets = out.get(name);
    if (!buckets) out.set(name, (buckets = new Map()));
    buckets.set(m[2] === '+Inf' ? Infinity : Number(m[2]), Number(m[3]));
  }
  return out;
}

/** The q-quantile (upper bucket bound, seconds) of what a histogram observed between two reads. */
function quantileOfDelta(before: Map<number, number> | undefined, after: Map<number, number> | undefined, q: number): number {
  if (!after) return NaN;
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before?.get(Infinity) ?? 0);
  if (total <= 0) return NaN;
  for (const le of bounds) if ((after.get(le) ?? 0) - (before?.get(le) ?? 0) >= q * total) return le;
  return Infinity;
}
