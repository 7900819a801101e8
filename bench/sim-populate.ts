/**
 * Scenario engine benchmark: populate a 5,000-node / 150,000-pod cluster (Kubernetes'
 * published scalability limits) and churn it.
 *
 *   node --import tsx bench/sim-populate.ts [--nodes 5000] [--pods-per-node 30] [--runs 3] [--steps 50000]
 *
 * Each run is a separate process (`node --expose-gc --max-semi-space-size=64`, so runs do not
 * share a heap; the larger young generation is what `kubemeta sim` should run with too) that:
 *   1. populates the cluster (ScenarioEngine.populate: every object written in its final
 *      state, then the controllers' status and endpoints pass) — time, heap, RSS;
 *   2. serializes every object once, as the first full LIST does — time, JSON bytes, heap;
 *   3. runs step(steps) with the default churn mix — model writes per second, wall time and
 *      the main thread's CPU time (on a busy machine wall time also counts other processes);
 *   4. runs step(steps / 5) with a reader that takes every event's JSON, as one watcher does.
 * The parent prints a table of the runs and their median and writes
 * bench/results/sim-populate.json.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ModelEvent } from '../src/sim/model/objects.ts';
import { ScenarioEngine } from '../src/sim/scenario/scenario.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5000' },
    'pods-per-node': { type: 'string', default: '30' },
    runs: { type: 'string', default: '3' },
    steps: { type: 'string', default: '50000' },
    child: { type: 'boolean', default: false },
  },
});
const NODES = Number(values.nodes);
const PODS_PER_NODE = Number(values['pods-per-node']);
const STEPS = Number(values.steps);
const SEED = 1;

interface RunResult {
  populateMs: number;
  populateMainCpuMs: number;
  objects: Record<string, number>;
  populateWrites: number;
  heapAfterPopulateMB: number;
  rssAfterPopulateMB: number;
  serializeAllMs: number;
  jsonMB: number;
  heapAfterSerializeMB: number;
  churn: ChurnResult;
  churnWithReader: ChurnResult;
}

interface ChurnResult {
  steps: number;
  writes: number;
  ms: number;
  mainCpuMs: number;
  writesPerSecond: number;
  writesPerMainCpuSecond: number;
  actions: Record<string, number>;
  /** JSON the reader took (0 without a reader). */
  eventJsonMB: number;
}

/** CPU time of the main thread alone (Linux): what the sim itself spent, whatever else runs. */
function mainThreadCpuMs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function heapMB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return round(process.memoryUsage().heapUsed / 1e6);
}

function round(x: number, digits = 1): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}

function churn(engine: ScenarioEngine, steps: number, reader: boolean): ChurnResult {
  let bytes = 0;
  const read = (ev: ModelEvent): void => {
    bytes += ev.stored.json.length;
  };
  const unsubscribe = reader ? engine.model.subscribe(read) : () => true;
  const cpu = mainThreadCpuMs();
  const started = performance.now();
  const report = engine.step(steps);
  const ms = performance.now() - started;
  const mainCpuMs = mainThreadCpuMs() - cpu;
  unsubscribe();
  return {
    steps,
    writes: report.writes,
    ms: Math.round(ms),
    mainCpuMs,
    writesPerSecond: Math.round((report.writes / ms) * 1000),
    writesPerMainCpuSecond: Math.round((report.writes / mainCpuMs) * 1000),
    actions: { ...report.actions, skipped: report.skipped },
    eventJsonMB: round(bytes / 1e6),
  };
}

function serializeAll(engine: ScenarioEngine): { ms: number; bytes: number } {
  const started = performance.now();
  let bytes = 0;
  for (const r of engine.model.resources()) for (const s of engine.model.list(r.kind).items) bytes += s.json.length;
  return { ms: Math.round(performance.now() - started), bytes };
}

function runChild(): RunResult {
  const cpu = mainThreadCpuMs();
  const engine = new ScenarioEngine({ seed: SEED, nodes: NODES, namespaces: 50, podsPerNode: PODS_PER_NODE });
  const populated = engine.populate();
  const populateMainCpuMs = mainThreadCpuMs() - cpu;
  const heapAfterPopulateMB = heapMB();
  const rssAfterPopulateMB = round(process.memoryUsage().rss / 1e6);
  const serialized = serializeAll(engine);
  return {
    populateMs: Math.round(populated.durationMs),
    populateMainCpuMs,
    objects: { ...populated.objects },
    populateWrites: populated.writes,
    heapAfterPopulateMB,
    rssAfterPopulateMB,
    serializeAllMs: serialized.ms,
    jsonMB: round(serialized.bytes / 1e6),
    heapAfterSerializeMB: heapMB(),
    churn: churn(engine, STEPS, false),
    churnWithReader: churn(engine, Math.round(STEPS / 5), true),
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function spawnRun(): RunResult {
  const script = fileURLToPath(import.meta.url);
  const args = ['--expose-gc', '--max-semi-space-size=64', '--import', 'tsx', script, '--child', '--nodes', String(NODES), '--pods-per-node', String(PODS_PER_NODE), '--steps', String(STEPS)];
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').at(-1) as string) as RunResult;
}

function summarize(runs: readonly RunResult[]): Record<string, number> {
  const pick = (f: (r: RunResult) => number): number => median(runs.map(f));
  return {
    populateMs: pick((r) => r.populateMs),
    populateMainCpuMs: pick((r) => r.populateMainCpuMs),
    heapAfterPopulateMB: pick((r) => r.heapAfterPopulateMB),
    rssAfterPopulateMB: pick((r) => r.rssAfterPopulateMB),
    serializeAllMs: pick((r) => r.serializeAllMs),
    jsonMB: pick((r) => r.jsonMB),
    heapAfterSerializeMB: pick((r) => r.heapAfterSerializeMB),
    churnWritesPerSecond: pick((r) => r.churn.writesPerSecond),
    churnWritesPerMainCpuSecond: pick((r) => r.churn.writesPerMainCpuSecond),
    churnWithReaderWritesPerSecond: pick((r) => r.churnWithReader.writesPerSecond),
    churnWithReaderWritesPerMainCpuSecond: pick((r) => r.churnWithReader.writesPerMainCpuSecond),
  };
}

async function main(): Promise<void> {
  if (values.child) {
    process.stdout.write(`${JSON.stringify(runChild())}\n`);
    return;
  }
  const runs: RunResult[] = [];
  for (let i = 0; i < Number(values.runs); i++) runs.push(spawnRun());
  const med = summarize(runs);
  const row = (populate: number, heap: number, serialize: number, churnRate: number, churnCpu: number, reader: number): Record<string, string> => ({
    populate: `${populate} ms`,
    'heap after populate': `${heap} MB`,
    'serialize all (first LIST)': `${serialize} ms`,
    'churn writes/s': String(churnRate),
    'churn writes/CPU-s': String(churnCpu),
    'with a reader, writes/s': String(reader),
  });
  const table: Record<string, Record<string, string>> = {};
  runs.forEach((r, i) => {
    table[`run ${i + 1}`] = row(r.populateMs, r.heapAfterPopulateMB, r.serializeAllMs, r.churn.writesPerSecond, r.churn.writesPerMainCpuSecond, r.churnWithReader.writesPerSecond);
  });
  table['median'] = row(med['populateMs']!, med['heapAfterPopulateMB']!, med['serializeAllMs']!, med['churnWritesPerSecond']!, med['churnWritesPerMainCpuSecond']!, med['churnWithReaderWritesPerSecond']!);
  console.table(table);
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, loadAverageAtEnd: loadavg() },
    scenario: { seed: SEED, nodes: NODES, podsPerNode: PODS_PER_NODE, namespaces: 50, steps: STEPS },
    median: med,
    runs,
  };
  await mkdir(new URL('results/', import.meta.url), { recursive: true });
  await writeFile(new URL('results/sim-populate.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
}

await main();
