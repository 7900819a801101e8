// Steady churn under rising load (issue 7): how fast `kubemeta serve` keeps node agents up to
// date as the cluster changes faster, and what it costs.
//
// The simulator (its own process, bench/lib/sim-process.ts) holds N nodes × P pods; `kubemeta serve` (child process,
// LMDB store on local disk, a real nats-server) syncs it; A node agents (SDK NodeAgentClient,
// one per node, in one child process: bench/lib/churn-agents.ts) follow their nodes. Then the
// simulator churns at rising rates, each for a fixed time. Per step:
//
//   - latency, sim write → the agent's state shows it, two ways:
//       probe  the bench writes a label (a sequence number) on a pod of an agent's node every
//              `1000 / probe-rate` ms; the agent reports when a change carrying that value is
//              applied to its state. Exact: one write, one change, no ambiguity.
//       churn  every churn write to a pod of an agent's node, matched as bench/serve-sync.ts
//              does: a change of the pod is charged to its latest write before the change. When
//              a pod is written again before the agent sees the first write, the earlier write
//              is charged from the later one, so this is a lower bound under backlog.
//   - committed updates/s (serve's head over the churn window), serve's CPU seconds per second
//     (from /proc) and per 1,000 committed updates/s, the churn the simulator actually made
//     (actions/s and model writes/s: the simulator can fall behind the offered rate), and this
//     process's event-loop delay (the probe's; part of every latency above).
//
// Stepping stops when a p99 (probe or churn writes) exceeds --max-p99-ms, or the committed rate rises less than
// 10 % while the offered rate doubled (saturation). The highest sustained rate is the highest
// committed rate of a step within the p99 limit. Writes churn-latency.json and .svg.
//
//   node --max-old-space-size=8192 --import tsx bench/churn-latency.ts [--nodes 1000] [--pods-per-node 30]
//        [--agents 20] [--rates 25,50,100,200,400,800] [--step-seconds 15] [--probe-rate 20]
//        [--max-p99-ms 5000] [--settle-seconds 15] [--out-dir bench/results]
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { writeKubeconfig } from '../src/sim/index.ts';
import { makeTempDir, startNatsServer } from '../src/testing/index.ts';
import { atExit, killOnExit, removeOnExit } from './lib/cleanup.ts';
import type { ChurnAgentsConfig, ChurnAgentsMessage, PodChangeRow } from './lib/churn-agents.ts';
import { cpuSecondsOf, percentile, printTable, writeResult } from './lib/report.ts';
import { spawnServe } from './lib/serve-process.ts';
import { fmt, svgChart } from './lib/svg-chart.ts';
import { SimProcess } from './lib/sim-process.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    'pods-per-node': { type: 'string', default: '30' },
    agents: { type: 'string', default: '20' },
    /** Offered churn, actions/s (each action is several model writes: pods, ReplicaSets, endpoints …). */
    rates: { type: 'string', default: '25,50,100,200,400,800' },
    'step-seconds': { type: 'string', default: '15' },
    /** Probe writes per second (spread over the agents' nodes). */
    'probe-rate': { type: 'string', default: '20' },
    'max-p99-ms': { type: 'string', default: '5000' },
    /** Quiet time after the sync: the disk flushes what the sync wrote before the first step. */
    'settle-seconds': { type: 'string', default: '15' },
    /** After a step, wait at most this long for serve and the agents to catch up. */
    'drain-timeout-seconds': { type: 'string', default: '60' },
    'out-dir': { type: 'string' },
  },
});
const nodes = Number(values.nodes);
const podsPerNode = Number(values['pods-per-node']);
const agentCount = Number(values.agents);
const rates = (values.rates as string).split(',').map(Number);
const stepSeconds = Number(values['step-seconds']);
const probeRate = Number(values['probe-rate']);
const maxP99Ms = Number(values['max-p99-ms']);
const drainTimeoutMs = Number(values['drain-timeout-seconds']) * 1000;
if (!(agentCount >= 1 && agentCount <= nodes * 0.9)) throw new Error('--agents must be from 1 to 90 % of --nodes (churn removes up to a tenth of the nodes)');
if (rates.some((r) => !(r > 0))) throw new Error('--rates must be positive numbers');

const CLUSTER = 'bench';
const PROBE_LABEL = 'bench.kubemeta.io/probe';
const now = (): number => performance.timeOrigin + performance.now();
const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

// ---- the cluster, serve, and the agents ----------------------------------------------------
const sim = await SimProcess.start({ seed: 3, nodes, podsPerNode, namespaces: 20 });
const api = { url: sim.url };
console.log(`sim (own process): ${sim.info.pods} pods, ${sim.info.nodes} nodes, serving after ${sim.info.populateMs} ms`);
const nats = await startNatsServer();
atExit(() => void nats.kill());
const dir = await makeTempDir('bench-churn-latency');
removeOnExit(dir.path);
const kubeconfig = join(dir.path, 'kubeconfig');
await writeKubeconfig(kubeconfig, { server: api.url });
const serve = await spawnServe({ kubeconfig, natsUrl: nats.url, dir: dir.path, cluster: CLUSTER });
const ready = await serve.whenReady();
console.log(`serve: ready in ${ready.readyMs} ms, head ${(await serve.status())?.head}`);

// Agents on nodes spread over the cluster (every k-th node by name).
const allNodes = await sim.nodeNames();
const agentNodes = Array.from({ length: agentCount }, (_, i) => allNodes[Math.floor((i * allNodes.length) / agentCount)] as string);
const agentNodeSet = new Set(agentNodes);
const agents = spawnAgents({ natsUrl: nats.url, cluster: CLUSTER, nodes: agentNodes, probeLabel: PROBE_LABEL, reportEveryMs: 200 });
const synced = await agents.synced;
console.log(`agents: ${synced.agents} in sync (${synced.pods} pods) after ${synced.ms} ms`);

// ---- what is measured ----------------------------------------------------------------------
/** Churn writes not yet seen by an agent, per pod uid (epoch ms, ascending). */
const pendingWrites = new Map<string, number[]>();
/** Probe sequence number → write time (epoch ms). */
const probeWrittenAt = new Map<number, number>();
/** Probes an agent applied before the sim's answer with their write time arrived: seq → at. */
const probeSeenAt = new Map<number, number>();
interface Sample {
  writtenAt: number;
  latencyMs: number;
}
const churnSamples: Sample[] = [];
const probeSamples: Sample[] = [];
const agentCounts = { overflows: 0, gaps: 0, bootstraps: 0, changes: 0 };
let lastChangeAt = 0;

// The sim reports pod writes (probes excluded) in batches, up to 20 ms late: an agent's change
// can arrive before the write it answers; matchChange then finds no write yet and the change is
// not sampled (the next change of the pod is). Under backlog that is rare, with no backlog the
// agents' own 200 ms report interval lets the write arrive first.
await sim.reportPodWrites((uid, at, node) => {
  if (!agentNodeSet.has(node)) return;
  let writes = pendingWrites.get(uid);
  if (!writes) pendingWrites.set(uid, (writes = []));
  writes.push(at);
});
agents.onChanges((m) => {
  agentCounts.overflows += m.overflows;
  agentCounts.gaps += m.gaps;
  agentCounts.bootstraps += m.bootstraps;
  for (const row of m.rows) matchChange(row);
});

function matchChange([uid, probe, at]: PodChangeRow): void {
  agentCounts.changes++;
  lastChangeAt = Math.max(lastChangeAt, at);
  if (probe >= 0) {
    const writtenAt = probeWrittenAt.get(probe);
    if (writtenAt !== undefined) {
      probeSamples.push({ writtenAt, latencyMs: at - writtenAt });
      probeWrittenAt.delete(probe);
    } else {
      probeSeenAt.set(probe, at);
    }
  }
  // The change is charged to the pod's latest write before it (serve-sync's way); the writes
  // up to it are settled.
  const writes = pendingWrites.get(uid);
  if (!writes) return;
  let i = writes.length - 1;
  while (i >= 0 && (writes[i] as number) > at) i--;
  if (i < 0) return;
  churnSamples.push({ writtenAt: writes[i] as number, latencyMs: at - (writes[i] as number) });
  writes.splice(0, i + 1);
  if (writes.length === 0) pendingWrites.delete(uid);
}

/**
 * Writes the probe label on a pod of an agent's node: round robin over the agents, and over
 * the pods of each node, so that a pod is probed again only after every other pod of its node
 * (a second probe of a pod still in flight would overtake the first: serve publishes an
 * object's latest state, and the first probe would never be seen).
 */
let probeTurn = 0;
let probesWritten = 0;
let probeInFlight = false;
function writeProbe(): void {
  // One probe at a time: the sim writes it and answers with its wall time (the write happens in
  // the sim's process; churn removes nodes, so it skips agents whose node has no pod left).
  if (probeInFlight) return;
  probeInFlight = true;
  const seq = probesWritten;
  void sim.probe(agentNodes, probeTurn++, PROBE_LABEL, seq).then((writtenAt) => {
    probeInFlight = false;
    if (writtenAt === null) return;
    probesWritten++;
    const seenAt = probeSeenAt.get(seq);
    if (seenAt === undefined) {
      probeWrittenAt.set(seq, writtenAt);
    } else {
      probeSamples.push({ writtenAt, latencyMs: seenAt - writtenAt });
      probeSeenAt.delete(seq);
    }
  }, () => {
    probeInFlight = false;
  });
}

/** Both p99s within the limit (a p99 without samples, NaN, does not count against it). */
function withinLimit(s: Step): boolean {
  return !(s.probe.p99Ms > maxP99Ms) && !(s.churn.p99Ms > maxP99Ms);
}

// ---- the steps -----------------------------------------------------------------------------
interface Step {
  offeredActionsPerSec: number;
  seconds: number;
  /** What the simulator made (it may fall behind the offered rate). */
  simActionsPerSec: number;
  simWritesPerSec: number;
  /** serve's head over the churn window. */
  committedUpdatesPerSec: number;
  /** After the window: until serve's head stopped moving and the agents went quiet. */
  drainMs: number;
  /** Probe writes made (one at a time: a probe waits for the sim's answer to the previous one). */
  probesWritten: number;
  probe: Latency;
  churn: Latency;
  /** serve's CPU (all threads) over the window, seconds per second (1 = one core). */
  serveCpuPerSec: number;
  /** serve's CPU seconds per second for each 1,000 committed updates/s. */
  serveCpuPer1kUpdatesPerSec: number | null;
  agentsCpuPerSec: number;
  /** The simulator's process (churn, controllers, serving watches). */
  simCpuPerSec: number;
  /** This process (the probe and the latency bookkeeping): its event loop delay is part of every latency. */
  benchCpuPerSec: number;
  benchLoopDelayP99Ms: number;
  agentOverflows: number;
  agentGaps: number;
}
interface Latency {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function latencyOf(samples: readonly Sample[], from: number, to: number): Latency {
  const ms = samples.filter((s) => s.writtenAt >= from && s.writtenAt <= to).map((s) => s.latencyMs);
  return { samples: ms.length, p50Ms: round(percentile(ms, 50)), p99Ms: round(percentile(ms, 99)), maxMs: round(ms.length > 0 ? Math.max(...ms) : NaN) };
}

async function head(): Promise<number> {
  return (await serve.status())?.head ?? NaN;
}

async function runStep(rate: number): Promise<Step> {
  const simCounts = async (): Promise<{ actions: number; writes: number; cpu: number }> => {
    const st = await sim.stats();
    return { actions: Object.values(st.actions).reduce((a, b) => a + b, 0), writes: st.writes, cpu: st.load.processCpuSeconds };
  };
  const simBefore = await simCounts();
  const before = { at: now(), head: await head(), serveCpu: serve.cpuSeconds(), agentsCpu: agents.cpu(), benchCpu: process.cpuUsage(), actions: simBefore.actions, writes: simBefore.writes, simCpu: simBefore.cpu };
  const counts = { ...agentCounts };
  const firstProbe = probesWritten;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  await sim.startChurn(rate, { tickMs: 50 });
  const probes = setInterval(writeProbe, 1000 / probeRate);
  await new Promise((r) => setTimeout(r, stepSeconds * 1000));
  clearInterval(probes);
  await sim.stopChurn();
  const simAfter = await simCounts();
  const after = { at: now(), head: await head(), serveCpu: serve.cpuSeconds(), agentsCpu: agents.cpu(), benchCpu: process.cpuUsage(before.benchCpu), actions: simAfter.actions, writes: simAfter.writes, simCpu: simAfter.cpu };
  loop.disable();
  const drainMs = await drain();
  const seconds = (after.at - before.at) / 1000;
  const committed = (after.head - before.head) / seconds;
  const serveCpuPerSec = (after.serveCpu - before.serveCpu) / seconds;
  return {
    offeredActionsPerSec: rate,
    seconds: round(seconds),
    simActionsPerSec: Math.round((after.actions - before.actions) / seconds),
    simWritesPerSec: Math.round((after.writes - before.writes) / seconds),
    committedUpdatesPerSec: Math.round(committed),
    drainMs,
    probesWritten: probesWritten - firstProbe,
    probe: latencyOf(probeSamples, before.at, after.at),
    churn: latencyOf(churnSamples, before.at, after.at),
    serveCpuPerSec: round(serveCpuPerSec, 2),
    serveCpuPer1kUpdatesPerSec: committed > 0 ? round(serveCpuPerSec / (committed / 1000), 3) : null,
    agentsCpuPerSec: round((after.agentsCpu - before.agentsCpu) / seconds, 2),
    benchCpuPerSec: round((after.benchCpu.user + after.benchCpu.system) / 1e6 / seconds, 2),
    simCpuPerSec: round((after.simCpu - before.simCpu) / seconds, 2),
    benchLoopDelayP99Ms: round(loop.percentile(99) / 1e6),
    agentOverflows: agentCounts.overflows - counts.overflows,
    agentGaps: agentCounts.gaps - counts.gaps,
  };
}

/** Waits until serve's head has not moved and no agent change came for 1 s (bounded). */
async function drain(): Promise<number> {
  const started = now();
  let last = await head();
  let stableSince = now();
  while (now() - started < drainTimeoutMs) {
    await new Promise((r) => setTimeout(r, 200));
    const h = await head();
    if (h !== last) {
      last = h;
      stableSince = now();
    }
    if (now() - stableSince >= 1_000 && now() - lastChangeAt >= 1_000) return Math.round(Math.max(stableSince, lastChangeAt) - started);
  }
  console.warn(`  (serve or the agents still busy ${drainTimeoutMs} ms after the step)`);
  return Math.round(now() - started);
}

console.log(`settling ${values['settle-seconds']} s after the sync …`);
await new Promise((r) => setTimeout(r, Number(values['settle-seconds']) * 1000));
const steps: Step[] = [];
let stopReason = `every rate run (${rates.join(', ')})`;
try {
  for (const rate of rates) {
    const s = await runStep(rate);
    steps.push(s);
    console.log(
      `  ${rate} actions/s: sim ${s.simActionsPerSec} actions/s (${s.simWritesPerSec} writes/s); committed ${s.committedUpdatesPerSec} updates/s; ` +
        `probe p50/p99 ${s.probe.p50Ms}/${s.probe.p99Ms} ms (${s.probe.samples}); churn p50/p99 ${s.churn.p50Ms}/${s.churn.p99Ms} ms (${s.churn.samples}); ` +
        `serve ${s.serveCpuPerSec} CPU s/s; drained in ${s.drainMs} ms`,
    );
    const previous = steps[steps.length - 2];
    if (!withinLimit(s)) {
      stopReason = `p99 (probe ${s.probe.p99Ms} ms, churn writes ${s.churn.p99Ms} ms) above ${maxP99Ms} ms at ${rate} actions/s`;
      break;
    }
    if (previous && rate >= 1.5 * previous.offeredActionsPerSec && s.committedUpdatesPerSec < 1.1 * previous.committedUpdatesPerSec) {
      const simBehind = s.simActionsPerSec < 0.8 * rate;
      stopReason = `saturated at ${rate} actions/s: committed ${s.committedUpdatesPerSec} updates/s, less than 10 % above ${previous.committedUpdatesPerSec}` +
        (simBehind ? ` (the simulator made only ${s.simActionsPerSec} actions/s: the simulator is the limit, not serve)` : '');
      break;
    }
  }
} finally {
  await agents.kill();
  await serve.proc.stop(30_000);
  await sim.close();
  await nats.stop();
  await dir.remove();
}

// ---- report ----------------------------------------------------------------------------------
const within = steps.filter(withinLimit);
const best = within.reduce<Step | undefined>((b, s) => (!b || s.committedUpdatesPerSec > b.committedUpdatesPerSec ? s : b), undefined);
const highestSustained = best
  ? { offeredActionsPerSec: best.offeredActionsPerSec, committedUpdatesPerSec: best.committedUpdatesPerSec, probeP99Ms: best.probe.p99Ms, churnP99Ms: best.churn.p99Ms, serveCpuPerSec: best.serveCpuPerSec }
  : null;
printTable(
  `steady churn: ${nodes} nodes, ${sim.info.pods} pods, ${agentNodes.length} agents; latency = sim write → agent state (ms)`,
  steps.map((s) => ({
    offered: s.offeredActionsPerSec, 'sim actions/s': s.simActionsPerSec, 'sim writes/s': s.simWritesPerSec, 'committed/s': s.committedUpdatesPerSec,
    'probe p50': s.probe.p50Ms, 'probe p99': s.probe.p99Ms, 'probe max': s.probe.maxMs, 'churn p50': s.churn.p50Ms, 'churn p99': s.churn.p99Ms, 'churn max': s.churn.maxMs,
    samples: `${s.probe.samples}/${s.probesWritten} · ${s.churn.samples}`, 'serve CPU/s': s.serveCpuPerSec, 'CPU per 1k/s': s.serveCpuPer1kUpdatesPerSec ?? '-', 'drain ms': s.drainMs,
    'bench loop p99': s.benchLoopDelayP99Ms,
  })),
);
console.log(`\nstopped: ${stopReason}`);
console.log(highestSustained
  ? `highest sustained: ${highestSustained.committedUpdatesPerSec} committed updates/s at ${highestSustained.offeredActionsPerSec} actions/s (p99 probe ${highestSustained.probeP99Ms} ms, churn writes ${highestSustained.churnP99Ms} ms; serve ${highestSustained.serveCpuPerSec} CPU s/s)`
  : `no step within p99 ≤ ${maxP99Ms} ms`);

const outDir = values['out-dir'];
const command = `node --max-old-space-size=8192 --import tsx bench/churn-latency.ts --nodes ${nodes} --pods-per-node ${podsPerNode} --agents ${agentCount} --rates ${rates.join(',')} --step-seconds ${stepSeconds} --probe-rate ${probeRate} --max-p99-ms ${maxP99Ms}`;
const jsonPath = writeResult('churn-latency', {
  command,
  cluster: { nodes, podsPerNode, pods: sim.info.pods },
  serveReadyMs: ready.readyMs,
  agents: { count: agentNodes.length, nodes: agentNodes, pods: synced.pods },
  notes: [
    'Latency is from the simulator write (model commit, in the simulator\'s own process) to the change applied in an agent (child process), both epoch ms on one machine.',
    'probe: exact (one label write, one change). churn: each pod change charged to its latest write before it (as serve-sync), a lower bound under backlog.',
    'The simulator and its controllers run in their own process (bench/lib/sim-process.ts), which also writes the probes; the bench process does the bookkeeping (benchLoopDelayP99Ms), and simActionsPerSec below the offered rate means the simulator fell behind.',
    'committedUpdatesPerSec: serve\'s head over the churn window; serveCpuPerSec: /proc of the serve process over the same window.',
  ],
  maxP99Ms,
  stopReason,
  highestSustained,
  steps,
}, outDir);
const svgPath = join(outDir ?? new URL('./results/', import.meta.url).pathname, 'churn-latency.svg');
const at = (pick: (s: Step) => number): Array<readonly [number, number]> => steps.map((s) => [s.offeredActionsPerSec, pick(s)] as const).filter(([, y]) => Number.isFinite(y));
writeFileSync(
  svgPath,
  svgChart(`Steady churn: ${nodes} nodes, ${fmt(sim.info.pods)} pods, ${agentNodes.length} node agents`, [
    {
      title: 'sim write → agent state', xLabel: 'offered churn (actions/s)', yLabel: 'latency (ms)', logX: true, logY: true,
      series: [
        { name: 'probe p50', color: '#1f77b4', points: at((s) => s.probe.p50Ms) },
        { name: 'probe p99', color: '#d62728', points: at((s) => s.probe.p99Ms) },
        { name: 'churn writes p99 (lower bound)', color: '#ff7f0e', dash: '6 4', points: at((s) => s.churn.p99Ms) },
      ],
      note: `stepping stops at a p99 > ${fmt(maxP99Ms)} ms or when the committed rate stops rising`,
    },
    {
      title: 'throughput', xLabel: 'offered churn (actions/s)', yLabel: 'per second', logX: true, logY: true,
      series: [
        { name: 'serve: committed updates/s', color: '#2ca02c', points: at((s) => s.committedUpdatesPerSec) },
        { name: 'sim: model writes/s', color: '#7f7f7f', dash: '6 4', points: at((s) => s.simWritesPerSec) },
      ],
    },
    {
      title: 'serve CPU', xLabel: 'offered churn (actions/s)', yLabel: 'CPU seconds per second', logX: true,
      series: [{ name: 'serve (all threads)', color: '#9467bd', points: at((s) => s.serveCpuPerSec) }],
      note: highestSustained ? `highest sustained: ${fmt(highestSustained.committedUpdatesPerSec)} updates/s` : undefined,
    },
  ]),
);
console.log(`\nwrote ${jsonPath} and ${svgPath}`);
process.exit(0);

// ---- the agents' process -----------------------------------------------------------------------
interface AgentsProcess {
  readonly synced: Promise<Extract<ChurnAgentsMessage, { type: 'synced' }>>;
  onChanges(handler: (m: Extract<ChurnAgentsMessage, { type: 'changes' }>) => void): void;
  cpu(): number;
  kill(): Promise<void>;
}

function spawnAgents(config: ChurnAgentsConfig): AgentsProcess {
  const child: ChildProcess = spawn(process.execPath, ['--max-old-space-size=4096', '--import', 'tsx', new URL('./lib/churn-agents.ts', import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, BENCH_CHURN_AGENTS: JSON.stringify(config) },
  });
  killOnExit(child);
  let output = '';
  const append = (c: Buffer): void => void (output = (output + c.toString('utf8')).slice(-8192));
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let handler: ((m: Extract<ChurnAgentsMessage, { type: 'changes' }>) => void) | undefined;
  let lastCpu = 0;
  const synced = new Promise<Extract<ChurnAgentsMessage, { type: 'synced' }>>((resolve, reject) => {
    child.on('message', (m: ChurnAgentsMessage) => {
      if (m.type === 'synced') resolve(m);
      else handler?.(m);
    });
    child.once('exit', (code) => reject(new Error(`churn-agents exited (${code}):\n${output}`)));
  });
  synced.catch(() => undefined);
  const alive = (): boolean => child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  return {
    synced,
    onChanges(h) {
      handler = h;
    },
    cpu() {
      if (alive()) lastCpu = cpuSecondsOf(child.pid as number);
      return lastCpu;
    },
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
  };
}
