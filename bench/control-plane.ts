// Control-plane cost (issue 7, item 1): what node agents cost the API server, kubemeta against
// the naive design, side by side in one run against the simulated API server.
//
//   (a) kubemeta: one `kubemeta serve` (child process, LMDB store in a temp dir) lists and
//       watches the API server; N node agents (SDK NodeAgentClient) and one ClusterClient get
//       their metadata from it over NATS.
//   (b) naive: N node agents each run their own @kubernetes/client-node informers: pods of
//       their node (fieldSelector=spec.nodeName=<node>), services, namespaces, replicasets and
//       deployments cluster-wide.
//
// The sim runs in this process (its load counters and process CPU are the API server's cost);
// serve and the agents run in child processes (bench/lib/*-agents.ts, many agents each), so
// their CPU is not counted as API-server CPU. For each N and design, three phases are measured
// on the sim: startup until every agent is in sync, churn for a fixed time, and a simultaneous
// restart of every agent (the thundering herd), until all are in sync again.
//
//   node --import tsx bench/control-plane.ts [--nodes 1113] [--pods-per-node 10] [--agents 10,100,1000]
//        [--churn-seconds 20] [--churn-rate 20] [--agents-per-process 100] [--out-dir bench/results]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ScenarioEngine, startSimApiServer, writeKubeconfig, type LoadStats } from '../src/sim/index.ts';
import { freePort, makeTempDir, spawnProcess, startNatsServer, type SpawnedProcess } from '../src/testing/index.ts';
import type { KubemetaAgentsConfig, KubemetaAgentsSynced } from './lib/kubemeta-agents.ts';
import type { NaiveAgentsConfig, NaiveAgentsSynced } from './lib/naive-agents.ts';
import { cpuSecondsOf, machine, printTable, rssOf } from './lib/report.ts';
import { fmt, svgChart, type Series } from './lib/svg-chart.ts';

const { values } = parseArgs({
  options: {
    /** Cluster nodes (default: enough that every agent has its node while churn removes some). */
    nodes: { type: 'string' },
    'pods-per-node': { type: 'string', default: '10' },
    agents: { type: 'string', default: '10,100,1000' },
    'churn-seconds': { type: 'string', default: '20' },
    /** Churn actions per second (each is several API writes: pods, ReplicaSets, statuses, endpoints). */
    'churn-rate': { type: 'string', default: '5' },
    'agents-per-process': { type: 'string', default: '100' },
    designs: { type: 'string', default: 'kubemeta,naive' },
    /** Where control-plane.json and control-plane.svg go. */
    'out-dir': { type: 'string', default: new URL('./results/', import.meta.url).pathname },
    /** Give up when the agents of a process are not in sync after this long. */
    'sync-timeout-seconds': { type: 'string', default: '900' },
    /** Seconds of churn with no clients at all first: the sim's own CPU for the churn (0 to skip). */
    'baseline-seconds': { type: 'string' },
  },
});
const agentCounts = (values.agents as string).split(',').map(Number).sort((a, b) => a - b);
// Churn removes up to a tenth of the nodes: by default the cluster keeps at least one node per agent.
const nodes = Number(values.nodes ?? Math.ceil(Math.max(...agentCounts) / 0.9) + 1);
const podsPerNode = Number(values['pods-per-node']);
const churnSeconds = Number(values['churn-seconds']);
const churnRate = Number(values['churn-rate']);
const perProcess = Number(values['agents-per-process']);
const baselineSeconds = Number(values['baseline-seconds'] ?? churnSeconds);
const syncTimeoutSeconds = Number(values['sync-timeout-seconds']);
const designs = (values.designs as string).split(',') as Design[];
if (agentCounts.some((n) => !(n >= 1)) || Math.max(...agentCounts) > nodes) {
  throw new Error(`--agents must be positive and at most --nodes (${nodes}): each agent runs on its own node`);
}
type Design = 'kubemeta' | 'naive';
type PhaseName = 'startup' | 'churn' | 'restart';
const PHASES: PhaseName[] = ['startup', 'churn', 'restart'];

// ---- the simulated cluster and NATS, in this process --------------------------------------
const t0 = performance.now();
const engine = new ScenarioEngine({ seed: 7, nodes, podsPerNode, namespaces: 20, historyPerKind: 200_000 });
engine.populate();
engine.controllers.start();
// Bookmarks about once a minute, as a real API server sends them.
const api = await startSimApiServer(engine.model, { bookmarkIntervalMs: 60_000 });
const objects = Object.fromEntries(['Pod', 'Node', 'Namespace', 'Service', 'ReplicaSet', 'Deployment'].map((k) => [k, engine.model.count(k)]));
console.log(`sim: ${JSON.stringify(objects)} in ${Math.round(performance.now() - t0)} ms`);
const nats = await startNatsServer();
const tmp = await makeTempDir('bench-control-plane');
const kubeconfig = join(tmp.path, 'kubeconfig');
await writeKubeconfig(kubeconfig, { server: api.url });
const bin = new URL('../bin/kubemeta.js', import.meta.url).pathname;
const CLUSTER = 'bench';

// ---- measurement ----------------------------------------------------------------------------
/** What one phase cost, on the sim (the API server) unless named otherwise. */
interface Phase {
  ms: number;
  requests: number;
  lists: number;
  watches: number;
  otherRequests: number;
  /** Watches open at the end of the phase. */
  openWatches: number;
  listObjects: number;
  listBytes: number;
  watchEvents: number;
  watchBytes: number;
  /** Watches the sim closed because their client did not keep up (it resumes with a new watch). */
  slowWatchDrops: number;
  /** 410 Gone answers (a client resumed from a resourceVersion too old). */
  gone410: number;
  /** CPU of the sim's process (user + system): the API server's CPU time. */
  apiCpuSeconds: number;
  /** Writes the sim's churn and controllers made meanwhile. */
  simWrites: number;
  /** CPU of `kubemeta serve` (kubemeta only). */
  serveCpuSeconds: number;
  /** CPU of all agent processes. */
  agentCpuSeconds: number;
  /**
   * Errors the agents saw until in sync (naive: informer errors, each retried after 5 s; most are
   * connections reset in the sim's full accept queue, which never reach its request counters).
   */
  agentErrors: number;
}
const METRICS = ['requests', 'lists', 'watches', 'listObjects', 'listBytes', 'watchEvents', 'watchBytes', 'apiCpuSeconds'] as const;

interface Mark {
  at: number;
  stats: LoadStats;
  cpu: NodeJS.CpuUsage;
  writes: number;
  serveCpu: number;
  agentCpu: number;
}

const sum = (r: Record<string, number> | undefined): number => Object.values(r ?? {}).reduce((a, b) => a + b, 0);
const round = (v: number, digits = 2): number => Math.round(v * 10 ** digits) / 10 ** digits;

function mark(serveCpu = 0, agentCpu = 0): Mark {
  return { at: performance.now(), stats: api.stats(), cpu: process.cpuUsage(), writes: engine.stats().writes, serveCpu, agentCpu };
}

function phaseOf(a: Mark, b: Mark): Phase {
  const req = (verb: string) => sum(b.stats.requests[verb]) - sum(a.stats.requests[verb]);
  const total = Object.keys(b.stats.requests).reduce((n, verb) => n + req(verb), 0);
  const cpuAt = b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system;
  return {
    ms: Math.round(b.at - a.at),
    requests: total,
    lists: req('list'),
    watches: req('watch'),
    otherRequests: total - req('list') - req('watch'),
    openWatches: b.stats.openWatches,
    listObjects: b.stats.listObjects - a.stats.listObjects,
    listBytes: b.stats.listBytes - a.stats.listBytes,
    watchEvents: b.stats.watchEvents - a.stats.watchEvents,
    watchBytes: b.stats.watchBytes - a.stats.watchBytes,
    slowWatchDrops: b.stats.watchesClosed.slow - a.stats.watchesClosed.slow,
    gone410: b.stats.gone410 - a.stats.gone410,
    apiCpuSeconds: round(cpuAt / 1e6, 3),
    simWrites: b.writes - a.writes,
    serveCpuSeconds: round(b.serveCpu - a.serveCpu),
    agentCpuSeconds: round(b.agentCpu - a.agentCpu),
    agentErrors: 0,
  };
}

// ---- child processes --------------------------------------------------------------------------
interface Worker {
  readonly child: ChildProcess;
  readonly synced: Promise<NaiveAgentsSynced | KubemetaAgentsSynced>;
  /** CPU seconds used so far (the last value read once the process is gone). */
  cpu(): number;
  kill(): Promise<void>;
}

function spawnWorker(script: string, config: NaiveAgentsConfig | KubemetaAgentsConfig): Worker {
  const child = spawn(process.execPath, ['--max-old-space-size=4096', '--import', 'tsx', new URL(script, import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, BENCH_AGENTS: JSON.stringify(config) },
  });
  let output = '';
  const append = (chunk: Buffer): void => void (output = (output + chunk.toString('utf8')).slice(-8192));
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  // Progress and errors of the agents, as they come.
  child.stderr?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') console.log(`  [${child.pid}] ${line}`);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let lastCpu = 0;
  const alive = (): boolean => child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  const synced = new Promise<NaiveAgentsSynced | KubemetaAgentsSynced>((resolve, reject) => {
    child.on('message', (m: { type?: string }) => {
      if (m.type === 'synced') resolve(m as NaiveAgentsSynced | KubemetaAgentsSynced);
    });
    child.once('exit', (code, signal) => reject(new Error(`${script} exited (${code ?? signal}) before it was in sync:\n${output}`)));
    setTimeout(() => reject(new Error(`${script} [${child.pid}] not in sync after ${syncTimeoutSeconds} s:\n${output}`)), syncTimeoutSeconds * 1000).unref();
  });
  synced.catch(() => undefined);
  return {
    child,
    synced,
    cpu() {
      if (alive()) {
        try {
          lastCpu = cpuSecondsOf(child.pid as number);
        } catch {
          // gone meanwhile: keep the last value
        }
      }
      return lastCpu;
    },
    async kill() {
      this.cpu();
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The first N live nodes, in groups of agents-per-process. */
function agentGroups(n: number): string[][] {
  const names = engine.model.list('Node').items.map((s) => s.object.metadata.name).slice(0, n);
  if (names.length < n) console.warn(`  only ${names.length} nodes left: ${names.length} agents instead of ${n} (raise --nodes)`);
  const groups: string[][] = [];
  for (let i = 0; i < names.length; i += perProcess) groups.push(names.slice(i, i + perProcess));
  return groups;
}

async function waitUntil(what: string, check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) {
      console.warn(`  (gave up waiting for ${what} after ${timeoutMs} ms)`);
      return false;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

async function startServe(dir: string): Promise<{ proc: SpawnedProcess; port: number }> {
  const port = await freePort();
  const proc = spawnProcess(process.execPath, [
    '--max-old-space-size=4096', bin, 'serve', '--kubeconfig', kubeconfig, '--nats-urls', nats.url, '--store', `lmdb:${join(dir, 'store')}`,
    '--http', `127.0.0.1:${port}`, '--cluster', CLUSTER, '--log-level', 'warn',
  ]);
  // Polled with node:http, not fetch: this process is the API server, keep its own work small.
  const ready = (): Promise<boolean> =>
    new Promise((resolve) => {
      const req = get(`http://127.0.0.1:${port}/readyz`, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
    });
  for (;;) {
    if (await ready()) return { proc, port };
    if (proc.child.exitCode !== null) throw new Error(`serve exited: ${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- one design at one N ---------------------------------------------------------------------
interface DesignRun {
  /** Agents run (N, unless churn left fewer nodes). */
  agents: number;
  processes: number;
  phases: Record<PhaseName, Phase>;
  total: Phase;
  /** What the agent processes reported at their first sync. */
  synced: { objects: number; snapshots: number };
  /** Resident memory after the first sync (MB): all agent processes, and serve. */
  agentRssMb: number;
  serveRssMb: number;
}

async function runDesign(design: Design, n: number): Promise<DesignRun> {
  const groups = agentGroups(n);
  const dir = await makeTempDir(`bench-cp-${design}`);
  let serve: SpawnedProcess | undefined;
  let serveCpuLast = 0;
  const serveCpu = (): number => {
    if (serve?.child.pid !== undefined && serve.child.exitCode === null) {
      try {
        serveCpuLast = cpuSecondsOf(serve.child.pid);
      } catch {
        // gone meanwhile
      }
    }
    return serveCpuLast;
  };
  let workers: Worker[] = [];
  let deadAgentCpu = 0;
  const agentCpu = (): number => deadAgentCpu + workers.reduce((s, w) => s + w.cpu(), 0);
  const m = (): Mark => mark(serveCpu(), agentCpu());
  const spawnAll = (): Worker[] =>
    groups.map((nodesOfGroup, i) =>
      design === 'naive'
        ? spawnWorker('./lib/naive-agents.ts', { kubeconfig, nodes: nodesOfGroup } satisfies NaiveAgentsConfig)
        : spawnWorker('./lib/kubemeta-agents.ts', { natsUrl: nats.url, cluster: CLUSTER, nodes: nodesOfGroup, clusterClient: i === 0 } satisfies KubemetaAgentsConfig),
    );
  const killAll = async (): Promise<void> => {
    const ws = workers;
    workers = [];
    for (const w of ws) await w.kill();
    deadAgentCpu += ws.reduce((s, w) => s + w.cpu(), 0);
  };
  const first = { objects: 0, snapshots: 0 };
  const errorsOf = (all: Array<NaiveAgentsSynced | KubemetaAgentsSynced>): number => all.reduce((n, s) => n + ('errors' in s ? s.errors : 0), 0);
  try {
    // 1. startup: (serve until ready, then) every agent at once, until all are in sync.
    const a = m();
    if (design === 'kubemeta') serve = (await startServe(dir.path)).proc;
    workers = spawnAll();
    const startupSynced = await Promise.all(workers.map((w) => w.synced));
    for (const s of startupSynced) {
      first.objects += s.objects;
      if ('snapshots' in s) first.snapshots += s.snapshots;
    }
    const b = m();
    console.log(`  startup: every agent in sync after ${Math.round(b.at - a.at)} ms; churn for ${churnSeconds} s …`);
    const agentRssMb = workers.reduce((t, w) => t + (w.child.pid ? rssOf(w.child.pid).rssMb : 0), 0);
    const serveRssMb = serve?.child.pid ? rssOf(serve.child.pid).rssMb : 0;
    // 2. churn for a fixed time (events still in flight a second later are counted).
    engine.startChurn({ ratePerSecond: churnRate, tickMs: 50 });
    await new Promise((r) => setTimeout(r, churnSeconds * 1000));
    await engine.stopChurn();
    await engine.controllers.settle();
    await new Promise((r) => setTimeout(r, 1000));
    const c = m();
    console.log(`  churn: ${c.writes - b.writes} sim writes; restarting every agent at once …`);
    // 3. the thundering herd: every agent killed at once and started again.
    // Only serve's watches stay open (kubemeta agents have none).
    const floor = design === 'kubemeta' ? api.openWatches : 0;
    await killAll();
    await waitUntil('the killed agents\' watches to close', () => api.openWatches <= floor, 30_000);
    workers = spawnAll();
    const restartSynced = await Promise.all(workers.map((w) => w.synced));
    const d = m();
    const phases = {
      startup: { ...phaseOf(a, b), agentErrors: errorsOf(startupSynced) },
      churn: phaseOf(b, c),
      restart: { ...phaseOf(c, d), agentErrors: errorsOf(restartSynced) },
    };
    return { agents: groups.flat().length, processes: groups.length, phases, total: totalOf(phases), synced: first, agentRssMb, serveRssMb };
  } finally {
    await killAll();
    await serve?.stop();
    await waitUntil('every watch to close', () => api.openWatches === 0, 30_000);
    await dir.remove();
  }
}

function totalOf(phases: Record<PhaseName, Phase>): Phase {
  const t = { ...phases.startup };
  for (const p of [phases.churn, phases.restart]) {
    for (const k of Object.keys(t) as Array<keyof Phase>) t[k] = round(t[k] + p[k], 3);
  }
  t.openWatches = Math.max(...PHASES.map((p) => phases[p].openWatches));
  return t;
}

/**
 * naive ÷ kubemeta per metric; null where kubemeta's figure is 0 (unbounded, or 0 ÷ 0). With
 * `perWrite`, each figure is divided by the sim writes of its own phase first: the churn is
 * random, so two churn phases of the same length differ a little in writes.
 */
function ratios(naive: Phase, kubemeta: Phase, perWrite = false): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const k of [...METRICS, 'openWatches'] as const) {
    const v = perWrite && k !== 'openWatches' ? naive[k] / Math.max(1, naive.simWrites) : naive[k];
    const kv = perWrite && k !== 'openWatches' ? kubemeta[k] / Math.max(1, kubemeta.simWrites) : kubemeta[k];
    out[k] = kv === 0 ? null : round(v / kv, 1);
  }
  return out;
}

// ---- the run -------------------------------------------------------------------------------------
let baseline: { seconds: number; apiCpuSeconds: number; simWrites: number } | undefined;
if (baselineSeconds > 0) {
  const a = mark();
  engine.startChurn({ ratePerSecond: churnRate, tickMs: 50 });
  await new Promise((r) => setTimeout(r, baselineSeconds * 1000));
  await engine.stopChurn();
  await engine.controllers.settle();
  const p = phaseOf(a, mark());
  baseline = { seconds: baselineSeconds, apiCpuSeconds: p.apiCpuSeconds, simWrites: p.simWrites };
  console.log(`baseline: ${baselineSeconds} s of churn with no clients: ${p.simWrites} sim writes, sim CPU ${p.apiCpuSeconds} s`);
}

interface Row {
  agents: number;
  kubemeta?: DesignRun;
  naive?: DesignRun;
  ratio?: Record<PhaseName | 'total', Record<string, number | null>>;
}
const rows: Row[] = [];
try {
  for (const n of agentCounts) {
    const row: Row = { agents: n };
    for (const design of designs) {
      const started = performance.now();
      console.log(`\nN=${n} ${design}: ${Math.ceil(n / perProcess)} agent process(es) …`);
      const r = await runDesign(design, n);
      row[design] = r;
      console.log(`  done in ${Math.round((performance.now() - started) / 1000)} s: startup ${r.phases.startup.ms} ms, restart ${r.phases.restart.ms} ms, ${r.total.requests} API requests`);
    }
    if (row.kubemeta && row.naive) {
      const k = row.kubemeta;
      const v = row.naive;
      row.ratio = {
        startup: ratios(v.phases.startup, k.phases.startup),
        churn: ratios(v.phases.churn, k.phases.churn, true),
        restart: ratios(v.phases.restart, k.phases.restart),
        total: ratios(v.total, k.total),
      };
    }
    rows.push(row);
  }
} finally {
  await api.close();
  engine.controllers.close();
  await nats.stop();
  await tmp.remove();
}

// ---- report -----------------------------------------------------------------------------------
const mb = (b: number): string => `${round(b / 1e6, 1)}`;
const tableRows: Array<Record<string, string | number>> = [];
for (const row of rows) {
  for (const phase of [...PHASES, 'total'] as const) {
    for (const design of designs) {
      const r = row[design];
      if (!r) continue;
      const p = phase === 'total' ? r.total : r.phases[phase];
      tableRows.push({
        N: row.agents, phase, design, ms: p.ms, requests: p.requests, lists: p.lists, watches: p.watches, openWatches: p.openWatches,
        listObjects: p.listObjects, listMB: mb(p.listBytes), watchEvents: p.watchEvents, watchMB: mb(p.watchBytes), slowDrops: p.slowWatchDrops, agentErrors: p.agentErrors, apiCpuS: p.apiCpuSeconds,
        serveCpuS: p.serveCpuSeconds, agentCpuS: p.agentCpuSeconds,
      });
    }
  }
}
printTable(`control-plane cost: ${nodes} nodes, ${objects['Pod']} pods; churn ${churnRate} actions/s for ${churnSeconds} s; CPU in seconds, bytes in MB`, tableRows);
const ratioRows = rows.flatMap((row) =>
  row.ratio
    ? (Object.entries(row.ratio) as Array<[string, Record<string, number | null>]>).map(([phase, r]) => ({
        N: row.agents,
        phase,
        ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v !== null ? `${v}×` : phaseMetric(row.naive, phase, k) === 0 ? '-' : '∞ (kubemeta 0)'])),
      }))
    : [],
);
if (ratioRows.length > 0) printTable('naive ÷ kubemeta (from the same run; churn: per sim write)', ratioRows);
function phaseMetric(r: DesignRun | undefined, phase: string, metric: string): number {
  const p = phase === 'total' ? r?.total : r?.phases[phase as PhaseName];
  return (p as unknown as Record<string, number> | undefined)?.[metric] ?? 0;
}
const herd = rows.filter((r) => r.kubemeta).map((r) => `N=${r.agents}: ${r.kubemeta?.phases.restart.requests} API requests`);
if (herd.length > 0) console.log(`\nkubemeta agent restart (thundering herd): ${herd.join(', ')} — agents bootstrap again from kubemeta over NATS`);

const outDir = values['out-dir'] as string;
mkdirSync(outDir, { recursive: true });
const command = `node --import tsx bench/control-plane.ts --nodes ${nodes} --pods-per-node ${podsPerNode} --agents ${agentCounts.join(',')} --churn-seconds ${churnSeconds} --churn-rate ${churnRate} --agents-per-process ${perProcess}`;
const jsonPath = join(outDir, 'control-plane.json');
writeFileSync(
  jsonPath,
  JSON.stringify(
    {
      at: new Date().toISOString(),
      machine: machine(),
      command,
      cluster: { nodes, podsPerNode, objects },
      churn: { actionsPerSecond: churnRate, seconds: churnSeconds },
      notes: [
        'The sim (API server) runs in the bench process: apiCpuSeconds is that process\'s CPU, which includes the sim\'s own churn and controllers (see baseline).',
        'serve and agents run in child processes; their CPU is serveCpuSeconds and agentCpuSeconds.',
        'Ratios are naive ÷ kubemeta from the same run; null where kubemeta\'s figure is 0. Churn ratios compare figures per sim write (each design\'s churn phase makes slightly different writes).',
        'The sim speaks plain HTTP here: TLS handshakes and encryption, a large part of a real thundering herd, are not counted.',
      ],
      baseline,
      results: rows,
    },
    null,
    2,
  ) + '\n',
);

const color = { naive: '#d62728', kubemeta: '#1f77b4' };
const seriesOf = (metric: 'requests' | 'listBytes'): Series[] => {
  const out: Series[] = [];
  for (const design of designs) {
    const points = rows.filter((r) => r[design]).map((r) => [r.agents, (r[design] as DesignRun).total[metric]] as const);
    out.push({ name: `${design}: startup + churn + restart`, color: color[design], points });
    const herdPoints = rows.filter((r) => r[design]).map((r) => [r.agents, (r[design] as DesignRun).phases.restart[metric]] as const);
    out.push({ name: `${design}: restart of all agents`, color: color[design], dash: '6 4', points: herdPoints });
  }
  // A series of zeros has nothing to draw on a log scale (the note says so).
  return out.filter((s) => s.points.some(([, y]) => y > 0));
};
const kubemetaHerdZero = rows.every((r) => !r.kubemeta || r.kubemeta.phases.restart.requests === 0);
const note = kubemetaHerdZero ? 'kubemeta restart of all agents: 0 requests, 0 bytes (not drawn on a log scale)' : undefined;
const svg = svgChart(`API server load vs node agents (${nodes} nodes, ${fmt(objects['Pod'] as number)} pods, sim)`, [
  { title: 'API requests', xLabel: 'node agents (N)', yLabel: 'requests', logX: true, logY: true, series: seriesOf('requests'), note },
  { title: 'LIST bytes served', xLabel: 'node agents (N)', yLabel: 'bytes', logX: true, logY: true, series: seriesOf('listBytes'), note },
]);
const svgPath = join(outDir, 'control-plane.svg');
writeFileSync(svgPath, svg);
console.log(`\nwrote ${jsonPath} and ${svgPath}`);
process.exit(0);
