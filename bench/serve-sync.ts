// Initial sync of a large cluster through `kubemeta serve` (issue 3, 7, 13): the simulator with
// N nodes × P pods per node in a process of its own (bench/lib/sim-process.ts), a real
// nats-server, and `kubemeta serve` as a child process with its LMDB store on local disk. Measures time to ready (spawn → /readyz 200), updates/s,
// serve's peak RSS, and API requests. Then churn at a fixed rate: the sustained update rate and
// the latency from a sim write to the update reaching a NATS subscriber (p50/p99).
//
// In the same run, the physical floor of the sync (bench/lib/sync-floor.ts): the time to only
// download and JSON.parse the same LISTs (pages, and WatchList streams: the cheaper counts),
// and to only publish the same NATS messages (their sizes are recorded during the first sync);
// printed as "serve vs floor". The sim serializes
// every object once before serve starts (its JSON is then cached), so serve and the LIST floor
// read the same warm sim; --cold-sim leaves that to serve's first LIST, as in the runs made
// before the floor existed.
//
//   node --import tsx bench/serve-sync.ts [--nodes 5000] [--pods-per-node 30] [--runs 1]
//        [--skip-floor] [--cold-sim] [--out-dir bench/results]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { connect } from '@nats-io/transport-node';
import { clusterSubjects, decodeUpdateBatch } from '../src/schema/index.ts';
import { writeKubeconfig } from '../src/sim/index.ts';
import { serveConfigSchema } from '../src/config/index.ts';
import { freePort, makeTempDir, spawnProcess, startNatsServer } from '../src/testing/index.ts';
import { cpuSecondsOf, median, percentile, printTable, rssOf, writeResult } from './lib/report.ts';
import { atExit, killOnExit, removeOnExit } from './lib/cleanup.ts';
import { measureListFloor, PublishRecorder, rateLimitFloorMs, type NatsFloorResult } from './lib/sync-floor.ts';
import { SimProcess, wallMs } from './lib/sim-process.ts';
import type { ListFloorResult } from './lib/list-floor.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5000' },
    'pods-per-node': { type: 'string', default: '30' },
    runs: { type: 'string', default: '1' },
    'churn-rate': { type: 'string', default: '2000' },
    'churn-seconds': { type: 'string', default: '15' },
    /** Quiet time between ready and churn: the disk flushes what the initial sync wrote. */
    'settle-seconds': { type: 'string', default: '10' },
    /**
     * Node flags for the serve child (comma-separated); the default is the service image's
     * NODE_OPTIONS (Dockerfile).
     */
    'serve-node-flags': { type: 'string', default: '--max-semi-space-size=64' },
    /** Writes a CPU profile of the serve child into this directory (node --cpu-prof). */
    'serve-cpu-prof': { type: 'string' },
    /** Skip the floor measurements (the recording subscriber, the LIST and NATS floors). */
    'skip-floor': { type: 'boolean', default: false },
    /** Leave the sim's first serialization of every object to serve's LIST (not pre-warmed). */
    'cold-sim': { type: 'boolean', default: false },
    /** Where serve-sync.json goes (default bench/results). */
    'out-dir': { type: 'string' },
  },
});
const withFloor = values['skip-floor'] !== true;
const nodes = Number(values.nodes);
const podsPerNode = Number(values['pods-per-node']);

// The sim serializes an object the first time it is read and keeps the JSON: unless --cold-sim,
// its process does it for every object before it serves, so serve's LISTs and the LIST floor
// both read a warm sim.
const sim = await SimProcess.start({ nodes, podsPerNode, namespaces: 20, warm: values['cold-sim'] !== true });
const simPods = sim.info.pods;
const simSerializeMs = sim.info.serializeMs;
console.log(`sim (own process): ${simPods} pods, ${sim.info.nodes} nodes, serving after ${sim.info.populateMs} ms` + (simSerializeMs === undefined ? '' : ` (every object serialized once in ${simSerializeMs} ms; the JSON is kept)`));
const api = { url: sim.url, stats: async () => (await sim.stats()).load };
const nats = await startNatsServer();
atExit(() => void nats.kill());
const serveDefaults = serveConfigSchema.parse({});
const bin = new URL('../bin/kubemeta.js', import.meta.url).pathname;

interface Run {
  readyMs: number;
  /** Spawn → /status first answers: node and tsx loading, the store opening (polled every 50 ms). */
  httpMs: number;
  head: number;
  updatesPerSec: number;
  peakRssMb: number;
  /** serve's CPU time (all threads) until ready. */
  cpuSeconds: number;
  apiLists: number;
  apiWatches: number;
  /** Every request serve made to the API server (discovery included): each takes a rate-limiter token. */
  apiRequests: number;
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
  const before = await api.stats();
  const started = performance.now();
  const proc = spawnProcess(process.execPath, [
    '--max-old-space-size=8192',
    ...(values['serve-node-flags'] === '' ? [] : (values['serve-node-flags'] as string).split(',')),
    ...(values['serve-cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values['serve-cpu-prof']}`]),
    bin, 'serve', '--kubeconfig', kubeconfig, '--nats-urls', nats.url, '--store', `lmdb:${join(dir, 'store')}`,
    '--http', `127.0.0.1:${port}`, '--cluster', 'bench', '--log-level', 'warn',
  ]);
  killOnExit(proc.child);
  let peak = 0;
  let httpMs: number | undefined;
  for (;;) {
    const s = await status(port);
    if (s !== undefined) httpMs ??= performance.now() - started;
    if (proc.child.pid) peak = Math.max(peak, rssOf(proc.child.pid).peakMb);
    if (s?.state === 'ready') break;
    if (proc.child.exitCode !== null) throw new Error(`serve exited: ${proc.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const readyMs = performance.now() - started;
  const cpuSeconds = proc.child.pid ? cpuSecondsOf(proc.child.pid) : 0;
  const s = (await status(port)) as { head: number };
  const after = await api.stats();
  const sum = (r: Record<string, number> | undefined) => Object.values(r ?? {}).reduce((a, b) => a + b, 0);
  return {
    run: {
      readyMs: Math.round(readyMs),
      httpMs: Math.round(httpMs ?? readyMs),
      head: s.head,
      updatesPerSec: Math.round(s.head / (readyMs / 1000)),
      peakRssMb: peak,
      cpuSeconds,
      apiLists: sum(after.requests['list']) - sum(before.requests['list']),
      apiWatches: after.watchesStarted - before.watchesStarted,
      apiRequests: Object.keys(after.requests).reduce((n, verb) => n + sum(after.requests[verb]) - sum(before.requests[verb]), 0),
      listObjects: after.listObjects - before.listObjects,
    },
    port,
    stop: () => proc.stop(),
  };
}

const runs: Run[] = [];
let last: { port: number; stop: () => Promise<void>; dir: { path: string; remove: () => Promise<void> } } | undefined;
// The floor's subscriber records what serve publishes during the first sync (update subjects only).
const floorDir = await makeTempDir('bench-sync-floor');
removeOnExit(floorDir.path);
const subjects = clusterSubjects('bench');
let recorder = withFloor ? await PublishRecorder.start(nats.url, [subjects.clusterScope, subjects.allNodeScopes], floorDir.path) : undefined;
let recorded: { messages: number; bytes: number; servePublishedMessages: number | undefined } | undefined;
for (let i = 0; i < Number(values.runs); i++) {
  await last?.stop();
  await last?.dir.remove();
  const dir = await makeTempDir('bench-sync');
  removeOnExit(dir.path);
  const r = await syncOnce(dir.path);
  runs.push(r.run);
  last = { port: r.port, stop: r.stop, dir };
  console.log(`run ${i + 1}: ready in ${r.run.readyMs} ms, ${r.run.head} updates, peak RSS ${r.run.peakRssMb} MB`);
  if (i === 0 && recorder) {
    // Ready means every update is handed to NATS; give the last messages a moment to arrive.
    await new Promise((res) => setTimeout(res, 1_000));
    const served = (await fetch(`http://127.0.0.1:${r.port}/status`).then((res) => res.json())) as { publisher?: { messages: number } };
    recorded = { ...(await recorder.stop()), servePublishedMessages: served.publisher?.messages };
  }
}
printTable(`initial sync: ${nodes} nodes, ${simPods} pods`, runs.map((r, i) => ({ run: i + 1, ...r })));

// The floor, on the same sim and nats-server while serve idles (no churn yet).
let floor: SyncFloor | undefined;
if (recorder && recorded) {
  floor = await measureFloor(runs[0] as Run, recorder, recorded);
  await recorder.close();
  recorder = undefined;
}
await floorDir.remove();

// Churn: latency from the sim's write (model commit, in the sim's process, wall clock) to the
// update on the cluster subject (this process, same clock).
const nc = await connect({ servers: nats.url });
const sub = nc.subscribe(clusterSubjects('bench').clusterScope);
const latencies: number[] = [];
let received = 0;
const podWrittenAt = new Map<string, number>();
await sim.reportPodWrites((uid, at) => podWrittenAt.set(uid, at));
void (async () => {
  for await (const m of sub) {
    if (m.data.length === 0) continue;
    const now = wallMs();
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
await sim.startChurn(Number(values['churn-rate']), { tickMs: 50 });
await new Promise((r) => setTimeout(r, Number(values['churn-seconds']) * 1000));
await sim.stopChurn();
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
  // The bench process runs the subscriber (the simulator has its own process): how late its
  // event loop ran is part of every write → subscriber latency above.
  benchLoopDelayP50Ms: Math.round(loopDelay.percentile(50) / 1e5) / 10,
  benchLoopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e5) / 10,
};
printTable('churn', [churn]);
await nc.close();
await last?.stop();
await last?.dir.remove();
await sim.close();
await nats.stop();
const path = writeResult('serve-sync', {
  command: `node --import tsx bench/serve-sync.ts --nodes ${nodes} --pods-per-node ${podsPerNode} --runs ${values.runs}${withFloor ? '' : ' --skip-floor'}${values['cold-sim'] ? ' --cold-sim' : ''}`,
  cluster: { nodes, pods: simPods, populateMs: sim.info.populateReportMs, simSerializeMs, simInOwnProcess: true },
  runs,
  median: { readyMs: median(runs.map((r) => r.readyMs)), updatesPerSec: median(runs.map((r) => r.updatesPerSec)), peakRssMb: median(runs.map((r) => r.peakRssMb)) },
  floor,
  churn,
}, values['out-dir']);
console.log(`\nwrote ${path}`);
process.exit(0);

interface SyncFloor {
  /** Run 1, whose published messages were recorded. */
  serveReadyMs: number;
  /**
   * Download + JSON.parse of serve's LISTs, no rate limit (bench/lib/list-floor.ts): the cheaper
   * of the two ways the API offers (`list.mode`), each measured below.
   */
  list: ListFloorResult & { mode: 'pages' | 'watchList' };
  listPages: ListFloorResult;
  listWatchList: ListFloorResult | null;
  /** The least time serve's API client limiter (--api-qps, --api-burst; defaults) allows for serve's requests of run 1. */
  rateLimit: { requests: number; qps: number; burst: number; ms: number };
  /** What the recorder saw serve publish during run 1 (update messages; heartbeats excluded). */
  recorded: { messages: number; bytes: number; servePublishedMessages: number | undefined };
  /**
   * The same messages published again, nothing else (bench/lib/nats-floor.ts); null when serve
   * published none during the sync (a new stream's initial sync is committed as state).
   */
  nats: NatsFloorResult | null;
  /** serve's time to ready ÷ each floor. */
  ratios: { list: number; rateLimit: number | null; nats: number | null; listPlusNats: number };
}

async function measureFloor(run: Run, rec: PublishRecorder, seen: NonNullable<typeof recorded>): Promise<SyncFloor> {
  console.log(`\nfloor: downloading and parsing the same LISTs (pages of ${serveDefaults.listPageSize}) …`);
  const listPages = await measureListFloor(api.url, serveDefaults.listPageSize);
  console.log('floor: downloading and parsing the same objects as WatchList streams …');
  const listWatchList = await measureListFloor(api.url, serveDefaults.listPageSize, undefined, 'watchList').catch((err: Error) => {
    console.log(`  WatchList floor failed (${err.message}); the paginated LIST is the floor`);
    return null;
  });
  const list = listWatchList !== null && listWatchList.ms < listPages.ms ? { ...listWatchList, mode: 'watchList' as const } : { ...listPages, mode: 'pages' as const };
  let natsFloor: NatsFloorResult | null = null;
  if (seen.messages > 0) {
    console.log(`floor: publishing the ${seen.messages} messages (${Math.round(seen.bytes / 1e6)} MB) serve published, to a fresh subject …`);
    natsFloor = await rec.publishFloor(seen.messages);
  } else {
    console.log('floor: serve published no update message during the sync (committed as state): no NATS floor');
  }
  const natsMs = natsFloor?.deliveredMs ?? 0;
  const rateLimit = { requests: run.apiRequests, qps: serveDefaults.apiQps, burst: serveDefaults.apiBurst, ms: rateLimitFloorMs(run.apiRequests, serveDefaults.apiQps, serveDefaults.apiBurst) };
  const ratio = (ms: number): number => Math.round((run.readyMs / ms) * 10) / 10;
  const result: SyncFloor = {
    serveReadyMs: run.readyMs,
    list,
    listPages,
    listWatchList,
    rateLimit,
    recorded: seen,
    nats: natsFloor,
    ratios: { list: ratio(list.ms), rateLimit: rateLimit.ms > 0 ? ratio(rateLimit.ms) : null, nats: natsFloor ? ratio(natsMs) : null, listPlusNats: ratio(list.ms + natsMs) },
  };
  const mb = (b: number): number => Math.round(b / 1e5) / 10;
  printTable('serve vs floor (run 1): what the two ends of the pipeline cost alone', [
    { measure: 'serve: spawn → ready', ms: run.readyMs, detail: `${run.head} updates committed, ${run.apiRequests} API requests; process up (HTTP answering) after ${run.httpMs} ms`, 'serve ÷ this': '1' },
    { measure: 'LIST download + JSON.parse (pages)', ms: listPages.ms, detail: `${listPages.pages} pages, ${listPages.objects} objects, ${mb(listPages.bytes)} MB; JSON.parse ${listPages.parseMs} ms; ${listPages.cpuSeconds} CPU s`, 'serve ÷ this': `${ratio(listPages.ms)}×` },
    listWatchList
      ? { measure: 'WatchList download + JSON.parse', ms: listWatchList.ms, detail: `${listWatchList.pages} streams, ${listWatchList.objects} objects, ${mb(listWatchList.bytes)} MB; JSON.parse ${listWatchList.parseMs} ms; ${listWatchList.cpuSeconds} CPU s`, 'serve ÷ this': `${ratio(listWatchList.ms)}×` }
      : { measure: 'WatchList download + JSON.parse', ms: 0, detail: 'failed', 'serve ÷ this': '-' },
    { measure: `floor (the cheaper: ${list.mode})`, ms: list.ms, detail: 'serve ÷ floor is the figure of the sync target', 'serve ÷ this': `${result.ratios.list}×` },
    { measure: `API rate limit (${rateLimit.qps} QPS, burst ${rateLimit.burst})`, ms: rateLimit.ms, detail: `${rateLimit.requests} requests; a floor of serve's own client`, 'serve ÷ this': result.ratios.rateLimit === null ? '-' : `${result.ratios.rateLimit}×` },
    natsFloor
      ? { measure: 'NATS publish → last delivered', ms: natsFloor.deliveredMs, detail: `${natsFloor.messages} msgs, ${mb(natsFloor.bytes)} MB: ${natsFloor.messagesPerSec} msgs/s, ${natsFloor.mbPerSec} MB/s; received ${natsFloor.received}`, 'serve ÷ this': `${result.ratios.nats}×` }
      : { measure: 'NATS publish', ms: 0, detail: 'nothing published during the sync: committed as state, consumers take snapshots', 'serve ÷ this': '-' },
    { measure: 'LIST + NATS, one after the other', ms: list.ms + natsMs, detail: 'serve with the store, projection and encoding free, and no overlap', 'serve ÷ this': `${result.ratios.listPlusNats}×` },
  ]);
  if (seen.servePublishedMessages !== undefined && seen.servePublishedMessages !== seen.messages) {
    console.log(`  note: serve says it published ${seen.servePublishedMessages} messages, the recorder saw ${seen.messages}`);
  }
  return result;
}

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
