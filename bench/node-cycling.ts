// Cost follows the live cluster (issue 13): autoscaling removes and adds nodes all day. The
// simulator (its own process, bench/lib/sim-process.ts) starts with --nodes nodes and then only removes nodes and adds
// new ones (new names) until --cycled node names have passed through the cluster; `kubemeta
// serve` (child process, LMDB, real nats-server) follows it. Before and after the cycling, for
// --window-seconds each: scope heartbeats per second (serve's /status), node scopes in use
// (projector) and ever seen (log), serve's RSS. Heartbeats must follow the nodes in use, not
// every node ever seen; a gone scope keeps them for --gone-scope-heartbeat-ms (set short here).
//
//   node --import tsx bench/node-cycling.ts [--nodes 1000] [--pods-per-node 5] [--cycled 5000]
//        [--rate 200] [--window-seconds 10]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sleep } from '../src/core/index.ts';
import { writeKubeconfig } from '../src/sim/index.ts';
import { makeTempDir, startNatsServer } from '../src/testing/index.ts';
import { atExit, removeOnExit } from './lib/cleanup.ts';
import { printTable, rssOf, writeResult } from './lib/report.ts';
import { spawnServe, type ServeProcess } from './lib/serve-process.ts';
import { SimProcess } from './lib/sim-process.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    'pods-per-node': { type: 'string', default: '5' },
    cycled: { type: 'string', default: '5000' },
    rate: { type: 'string', default: '200' },
    'window-seconds': { type: 'string', default: '10' },
    'gone-scope-heartbeat-ms': { type: 'string', default: '10000' },
    'out-dir': { type: 'string' },
  },
});
const nodes = Number(values.nodes);
const cycled = Number(values.cycled);
const windowMs = Number(values['window-seconds']) * 1000;

const sim = await SimProcess.start({ seed: 3, nodes, podsPerNode: Number(values['pods-per-node']), namespaces: 5 });
const api = { url: sim.url };
const nats = await startNatsServer();
atExit(() => void nats.kill());
const dir = await makeTempDir('bench-node-cycling');
removeOnExit(dir.path);
const kubeconfig = join(dir.path, 'kubeconfig');
await writeKubeconfig(kubeconfig, { server: api.url });
const serve = await spawnServe({ kubeconfig, natsUrl: nats.url, dir: dir.path, cluster: 'bench', args: ['--gone-scope-heartbeat-ms', values['gone-scope-heartbeat-ms'] as string] });
await serve.whenReady(300_000);

interface Status {
  head: number;
  log: { scopes: number };
  projector: { nodeScopes: number };
  heartbeat?: { messages: number };
}
const status = async (s: ServeProcess): Promise<Status> => (await s.status()) as unknown as Status;

/** Heartbeat messages per second over the window, and the scopes then. */
async function measure(phase: string): Promise<Record<string, string | number>> {
  const a = await status(serve);
  await sleep(windowMs);
  const b = await status(serve);
  return {
    phase,
    nodesInCluster: await sim.count('Node'),
    nodeScopesInUse: b.projector.nodeScopes,
    scopesEverSeen: b.log.scopes,
    heartbeatsPerSec: Math.round((((b.heartbeat?.messages ?? 0) - (a.heartbeat?.messages ?? 0)) / windowMs) * 1000),
    serveRssMb: serve.rssMb(),
    // Heap and private memory vs the store's mapped pages (LMDB), from /proc.
    serveAnonMb: rssOf(serve.proc.child.pid as number).anonMb,
    serveStoreMappedMb: rssOf(serve.proc.child.pid as number).fileMb,
  };
}

const rows = [await measure('after the initial sync')];
const names = new Set(await sim.nodeNames());
const started = performance.now();
await sim.startChurn(Number(values.rate), { mix: { nodeRemove: 1, nodeAdd: 1 } });
while (names.size < cycled) {
  await sleep(1_000);
  for (const name of await sim.nodeNames()) names.add(name);
}
await sim.stopChurn();
const cycleSeconds = Math.round((performance.now() - started) / 1000);
// Let serve catch up, and the gone scopes' grace period pass.
for (let last = -1; ; ) {
  const head = (await status(serve)).head;
  if (head === last) break;
  last = head;
  await sleep(2_000);
}
await sleep(Number(values['gone-scope-heartbeat-ms']) + 5_000);
rows.push({ ...(await measure(`after ${names.size} node names passed through (${cycleSeconds} s of cycling)`)) });
printTable(`node cycling: ${nodes} nodes, ${await sim.count('Pod')} pods, node names cycled through ${names.size}`, rows);
writeResult('node-cycling', { nodes, cycled: names.size, cycleSeconds, rows }, values['out-dir']);
await serve.proc.stop();
await sim.close();
await nats.stop();
await dir.remove();
process.exit(0);
