// The simulated cluster of a bench, in a process of its own (bench/lib/sim-process.ts starts
// it): its populate, controllers, churn and HTTP serving then use the second core instead of
// sharing the bench process's event loop with the latency probe, and none of it is charged to
// serve (issue 13: "run the simulator in its own process").
//
// Speaks to its parent over the IPC channel: one `ready` message, then answers to requests
// `{ id, op, ... }` with `{ id, ok, value }` or `{ id, ok: false, error }`. Pod writes are
// reported in batches (`podWrites`: uid and wall-clock time in ms) when the parent asked for
// them, so the parent can measure write → subscriber latency across processes.
import { ScenarioEngine, startSimApiServer, type ChurnMix } from '../../src/sim/index.ts';
import type { SimChildConfig, SimChildReady, SimChildRequest, SimChildResponse, PodWrites } from './sim-process.ts';

const config = JSON.parse(process.env['BENCH_SIM_CHILD'] ?? '{}') as SimChildConfig;
const send = (message: SimChildReady | SimChildResponse | PodWrites): void => {
  process.send?.(message);
};

const t0 = performance.now();
const engine = new ScenarioEngine({ seed: config.seed ?? 1, nodes: config.nodes, podsPerNode: config.podsPerNode, namespaces: config.namespaces ?? 20, historyPerKind: 2_000_000 });
const populate = engine.populate();
if (config.controllers !== false) engine.controllers.start();
const api = await startSimApiServer(engine.model, { bookmarkIntervalMs: 5_000, ...(config.watchList === false ? { watchList: false } : {}) });
const populateMs = Math.round(performance.now() - t0);
// The sim serializes an object the first time it is read and keeps the JSON: do it for every
// object now, so serve's LISTs and the LIST floor both read a warm sim.
let serializeMs: number | undefined;
if (config.warm !== false) {
  const t = performance.now();
  for (const r of engine.model.resources()) for (const s of engine.model.list(r.kind).items) void s.json;
  serializeMs = Math.round(performance.now() - t);
}

// Pod writes (uid, node, wall-clock ms), reported every 20 ms while the parent listens: both
// processes read the same system clock, so the parent can subtract it from its receive time.
let pending: Array<[string, string, number]> = [];
let reporting = false;
/** Set while a probe writes: a probe is measured on its own, not as a churn write. */
let probing = false;
engine.model.subscribe((e) => {
  if (!reporting || probing || e.stored.kind !== 'Pod') return;
  const node = (e.stored.object['spec'] as { nodeName?: string } | undefined)?.nodeName ?? '';
  pending.push([e.stored.object.metadata.uid, node, performance.timeOrigin + performance.now()]);
});

/**
 * Writes `label: seq` on a pod of one of `nodes`, the `turn`-th in round robin over the nodes
 * and then over each node's pods (bench/churn-latency.ts says why). Returns the write's wall
 * time, or null when no node has a pod.
 */
function writeProbe(nodes: readonly string[], turn: number, label: string, seq: number): number | null {
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[(turn + i) % nodes.length] as string;
    const pods = engine.model.list('Pod', { nodeName: node }).items.filter((s) => s.object.metadata.deletionTimestamp === undefined);
    const pod = pods[Math.floor(turn / nodes.length) % Math.max(1, pods.length)];
    if (!pod) continue;
    const o = pod.object;
    probing = true;
    try {
      engine.model.update({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, [label]: String(seq) } } });
      return performance.timeOrigin + performance.now();
    } catch {
      return null; // the model refused the write (it should not: the pod was read just now)
    } finally {
      probing = false;
    }
  }
  return null;
}
const flush = setInterval(() => {
  if (pending.length === 0) return;
  send({ type: 'podWrites', writes: pending });
  pending = [];
}, 20);

async function handle(req: SimChildRequest): Promise<unknown> {
  switch (req.op) {
    case 'stats':
      return { load: api.stats(), openWatches: api.openWatches, actions: engine.stats().actions, writes: engine.stats().writes };
    case 'count':
      return engine.model.count(req.kind);
    case 'nodeNames':
      return engine.model.list('Node').items.map((s) => s.object.metadata.name);
    case 'reportPodWrites':
      reporting = req.on;
      return null;
    case 'probe':
      return writeProbe(req.nodes, req.turn, req.label, req.seq);
    case 'startChurn':
      engine.startChurn({ ratePerSecond: req.ratePerSecond, ...(req.tickMs !== undefined ? { tickMs: req.tickMs } : {}), ...(req.mix !== undefined ? { mix: req.mix as ChurnMix } : {}) });
      return null;
    case 'stopChurn':
      await engine.stopChurn();
      return null;
    case 'close':
      clearInterval(flush);
      await engine.stopChurn();
      engine.controllers.close();
      await api.close();
      return null;
  }
}

process.on('message', (raw) => {
  const req = raw as SimChildRequest;
  handle(req).then(
    (value) => {
      send({ type: 'response', id: req.id, ok: true, value });
      if (req.op === 'close') process.disconnect();
    },
    (err: unknown) => send({ type: 'response', id: req.id, ok: false, error: String((err as Error)?.stack ?? err) }),
  );
});
// The bench ended without closing (a crash): do not outlive it.
process.on('disconnect', () => process.exit(0));

send({ type: 'ready', url: api.url, pods: engine.model.count('Pod'), nodes: engine.model.count('Node'), populateMs, populateReportMs: Math.round(populate.durationMs), serializeMs });
