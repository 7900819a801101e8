// Restart of `kubemeta serve` on its own store (issue 7): what a restart costs the API server and
// how long until serve is ready again, after a graceful stop (SIGTERM) and after kill -9.
//
// The simulator (its own process, bench/lib/sim-process.ts) holds N nodes × P pods and does not
// change during the bench (no churn): serve syncs it once, then is stopped and started again on the same LMDB store,
// `--runs` times per way of stopping. A restart with valid stored resourceVersions must not
// LIST (docs/design.md §6): it rebuilds its projector state from the store, then watches every kind
// from where it stopped. Per restart:
//
//   stopMs          SIGTERM → the process exited (graceful: it drains first); kill -9: ~0.
//   storeOpenedMs   spawn → serve logs 'store opened' (node and tsx loaded, LMDB open).
//   restoredMs      spawn → serve logs that its projector state is rebuilt (restoredObjects: the
//                   live objects; restoredFrom: 'image' — the projector image the last stop or
//                   the periodic writer left, plus `replayed` updates of history after it — or
//                   'store', every object read back from the store).
//   readyMs         spawn → /status says 'ready' (every kind resumed, everything received
//                   committed; serve checks readiness every 50 ms).
// (The step times come from serve's own log at --log-level info, its pino `time` field.)
// For scale, cliLoadMs: the wall time of `kubemeta serve --help` (node and tsx loading the CLI's
// modules, nothing else), median of 3: part of every start, before serve does anything.
//   watchingMs      spawn → as many watches open on the sim as before the stop.
//   apiLists        LIST requests during the restart (target 0), apiWatches watches started,
//                   apiOther other requests (discovery, version), gone410 expired resumes.
//   committed       updates committed from the stop to ready (serve's head; ~0 with no churn).
//   serveCpuSeconds CPU of the new serve process until ready.
//
//   node --max-old-space-size=8192 --import tsx bench/serve-restart.ts [--nodes 5000] [--pods-per-node 30]
//        [--runs 3] [--out-dir bench/results]
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeKubeconfig, type LoadStats } from '../src/sim/index.ts';
import { makeTempDir, spawnProcess, startNatsServer } from '../src/testing/index.ts';
import { atExit, removeOnExit } from './lib/cleanup.ts';
import { median, printTable, writeResult } from './lib/report.ts';
import { spawnServe, type ServeProcess } from './lib/serve-process.ts';
import { SimProcess } from './lib/sim-process.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5000' },
    'pods-per-node': { type: 'string', default: '30' },
    runs: { type: 'string', default: '3' },
    /** Quiet time after the first sync (the disk flushes what it wrote) and between restarts. */
    'settle-seconds': { type: 'string', default: '10' },
    /** A graceful stop that takes longer than this is finished with SIGKILL (and reported). */
    'stop-grace-seconds': { type: 'string', default: '120' },
    /** How many times to time `kubemeta serve --help` (cliLoadMs is their median; 0 skips it). */
    'cli-load-runs': { type: 'string', default: '3' },
    'out-dir': { type: 'string' },
    /** Writes CPU profiles of the restarted serve processes into this directory (node --cpu-prof). */
    'serve-cpu-prof': { type: 'string' },
  },
});
const nodes = Number(values.nodes);
const podsPerNode = Number(values['pods-per-node']);
const runs = Number(values.runs);
const settleMs = Number(values['settle-seconds']) * 1000;
const graceMs = Number(values['stop-grace-seconds']) * 1000;
const CLUSTER = 'bench';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// No controllers (nothing changes), every object serialized once (warm), as in serve-sync.
const sim = await SimProcess.start({ seed: 5, nodes, podsPerNode, namespaces: 20, controllers: false });
console.log(`sim (own process): ${sim.info.pods} pods, ${sim.info.nodes} nodes, serving after ${sim.info.populateMs} ms`);
const api = { url: sim.url, stats: async (): Promise<LoadStats> => (await sim.stats()).load, openWatches: async (): Promise<number> => (await sim.stats()).openWatches };
const nats = await startNatsServer();
atExit(() => void nats.kill());
const dir = await makeTempDir('bench-serve-restart');
removeOnExit(dir.path);
const kubeconfig = join(dir.path, 'kubeconfig');
await writeKubeconfig(kubeconfig, { server: api.url });
const profileDir = values['serve-cpu-prof'];
const start = (profile = false): Promise<ServeProcess> =>
  spawnServe({
    kubeconfig, natsUrl: nats.url, dir: dir.path, cluster: CLUSTER, logLevel: 'info',
    ...(profile && profileDir !== undefined ? { nodeFlags: ['--max-old-space-size=8192', '--max-semi-space-size=64', '--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
  });
// serve's log messages for the steps of a start (src/service/metadata-service.ts).
const STORE_OPENED = 'store opened';
const RESTORED = 'restored projector state from the store';

type Mode = 'graceful' | 'kill9';
interface Restart {
  mode: Mode;
  run: number;
  stopMs: number;
  /** Size of the projector image on disk when the new process started (MB; 0: none). */
  imageMb: number;
  /** Exit code of the stopped process (graceful: 0 expected), or the signal. */
  exit: string;
  storeOpenedMs: number;
  restoredMs: number;
  restoredObjects: number;
  /** Where the projector state came from ('image': the projector image plus the history after it) and how many updates were replayed. */
  restoredFrom: string;
  replayed: number;
  readyMs: number;
  watchingMs: number;
  apiLists: number;
  apiWatches: number;
  apiOther: number;
  gone410: number;
  listObjects: number;
  committed: number;
  serveCpuSeconds: number;
  peakRssMb: number;
}

const sum = (r: Record<string, number> | undefined): number => Object.values(r ?? {}).reduce((a, b) => a + b, 0);
const requestsOf = (a: LoadStats, b: LoadStats, verb: string): number => sum(b.requests[verb]) - sum(a.requests[verb]);

async function headOf(s: ServeProcess): Promise<number> {
  const status = await s.status();
  if (!status) throw new Error('serve /status did not answer');
  return status.head;
}

/** Waits (up to 60 s) until `count` watches are open on the sim; ms since `since`, or NaN. */
async function watchesOpen(count: number, since: number): Promise<number> {
  const deadline = performance.now() + 60_000;
  while ((await api.openWatches()) < count) {
    if (performance.now() > deadline) return NaN;
    await sleep(10);
  }
  return Math.round(performance.now() - since);
}

async function restart(serve: ServeProcess, mode: Mode, run: number): Promise<{ serve: ServeProcess; result: Restart }> {
  const watches = await api.openWatches();
  const before = await api.stats();
  const head = await headOf(serve);
  const stopStarted = performance.now();
  if (mode === 'graceful') await serve.proc.stop(graceMs);
  else await serve.proc.kill();
  const stopMs = Math.round(performance.now() - stopStarted);
  const imageFile = join(dir.path, 'store', 'projector.image');
  const imageMb = existsSync(imageFile) ? Math.round(statSync(imageFile).size / 1e5) / 10 : 0;
  const { exitCode, signalCode } = serve.proc.child;
  if (mode === 'graceful' && signalCode === 'SIGKILL') {
    console.warn(`  graceful stop did not finish in ${graceMs} ms; killed. serve's last output:\n${serve.proc.output().slice(-3000)}`);
  }
  // The old process's watches close as its sockets do.
  const closeDeadline = performance.now() + 30_000;
  while ((await api.openWatches()) > 0 && performance.now() < closeDeadline) await sleep(10);
  const spawned = performance.now();
  const next = await start(true);
  const times = await next.whenReady();
  const restored = next.loggedAt(RESTORED);
  const watchingMs = await watchesOpen(watches, spawned);
  const serveCpuSeconds = next.cpuSeconds();
  const after = await api.stats();
  const result: Restart = {
    mode,
    run,
    stopMs,
    imageMb,
    exit: signalCode ?? String(exitCode),
    storeOpenedMs: next.loggedAt(STORE_OPENED)?.ms ?? NaN,
    restoredMs: restored?.ms ?? NaN,
    restoredObjects: Number(restored?.fields['objects'] ?? NaN),
    restoredFrom: String(restored?.fields['from'] ?? '?'),
    replayed: Number(restored?.fields['replayed'] ?? 0),
    readyMs: times.readyMs,
    watchingMs,
    apiLists: requestsOf(before, after, 'list'),
    apiWatches: after.watchesStarted - before.watchesStarted,
    apiOther: Object.keys(after.requests).reduce((n, verb) => n + requestsOf(before, after, verb), 0) - requestsOf(before, after, 'list') - requestsOf(before, after, 'watch'),
    gone410: after.gone410 - before.gone410,
    listObjects: after.listObjects - before.listObjects,
    committed: (await headOf(next)) - head,
    serveCpuSeconds,
    peakRssMb: times.peakRssMb,
  };
  return { serve: next, result };
}

let serve = await start();
const first = await serve.whenReady();
const firstHead = await headOf(serve);
const initial = { readyMs: first.readyMs, head: firstHead, serveCpuSeconds: serve.cpuSeconds(), peakRssMb: first.peakRssMb, apiLists: sum((await api.stats()).requests['list']) };
console.log(`initial sync: ready in ${initial.readyMs} ms, ${initial.head} updates, ${initial.apiLists} LIST requests; settling ${settleMs / 1000} s …`);
await sleep(settleMs);

const cliLoads: number[] = [];
for (let i = 0; i < Number(values['cli-load-runs']); i++) {
  const t = performance.now();
  await spawnProcess(process.execPath, [new URL('../bin/kubemeta.js', import.meta.url).pathname, 'serve', '--help']).exited;
  cliLoads.push(Math.round(performance.now() - t));
}
const cliLoadMs = cliLoads.length > 0 ? median(cliLoads) : null;
console.log(`kubemeta serve --help: ${cliLoadMs} ms (node and tsx loading the CLI)`);

const results: Restart[] = [];
try {
  for (const mode of ['graceful', 'kill9'] as const) {
    for (let run = 1; run <= runs; run++) {
      const r = await restart(serve, mode, run);
      serve = r.serve;
      results.push(r.result);
      const x = r.result;
      console.log(`  ${mode} #${run}: stop ${x.stopMs} ms (exit ${x.exit}); ready in ${x.readyMs} ms (restored at ${x.restoredMs}), watching at ${x.watchingMs} ms; ${x.apiLists} LISTs, ${x.apiWatches} watches, ${x.committed} updates committed`);
      await sleep(Math.min(settleMs, 5_000));
    }
  }
} finally {
  await serve.proc.stop(graceMs);
  await sim.close();
  await nats.stop();
  await dir.remove();
}

const METRICS = ['stopMs', 'imageMb', 'storeOpenedMs', 'restoredMs', 'restoredObjects', 'replayed', 'readyMs', 'watchingMs', 'apiLists', 'apiWatches', 'apiOther', 'gone410', 'listObjects', 'committed', 'serveCpuSeconds', 'peakRssMb'] as const;
const medians = Object.fromEntries(
  (['graceful', 'kill9'] as const).map((mode) => {
    const rs = results.filter((r) => r.mode === mode);
    return [mode, Object.fromEntries(METRICS.map((m) => [m, Math.round(median(rs.map((r) => r[m])) * 100) / 100]))];
  }),
) as Record<Mode, Record<(typeof METRICS)[number], number>>;
printTable(`serve restart on its store: ${nodes} nodes, ${sim.info.pods} pods, ${initial.head} updates in the store; no churn`, results.map((r) => ({ ...r })));
printTable(`median of ${runs}`, (['graceful', 'kill9'] as const).map((mode) => ({ mode, ...medians[mode] })));
const path = writeResult('serve-restart', {
  command: `node --max-old-space-size=8192 --import tsx bench/serve-restart.ts --nodes ${nodes} --pods-per-node ${podsPerNode} --runs ${runs}`,
  cluster: { nodes, podsPerNode, pods: sim.info.pods },
  notes: [
    'No churn: the stored resourceVersions stay valid, so a restart should make no LIST request and commit nothing.',
    'Times are ms from spawning the new process: readyMs polled on /status every 25 ms (serve checks readiness every 50 ms), storeOpenedMs and restoredMs from serve\'s log, watchingMs from the sim\'s open watches.',
    'graceful = SIGTERM (serve drains, then exits); kill9 = SIGKILL with no warning.',
  ],
  initial,
  cliLoadMs,
  restarts: results,
  median: medians,
}, values['out-dir']);
console.log(`\nwrote ${path}`);
process.exit(0);
