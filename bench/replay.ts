// Replay over a real nats-server from an LMDB-backed UpdateLog (issue 4 targets):
//   tail100k          100,000 missed updates on one scope: request → end marker (target ≤ 1 s),
//                     and request → every payload decoded (what a consumer applying them pays)
//   nodeSnapshot      a node scope with 110 pods + 3 containers each: request → end (target ≤ 50 ms)
//   clusterSnapshot   the cluster scope with 150,000 pods: request → end
// Payloads are real ResourceUpdates padded to 300–700 B. Default server options (256 KiB
// chunks, 4 unacked responses). The consumer runs in its own process (bench/replay-consumer.ts),
// acks every response and, where noted, decodes every payload. Each figure is the median of 3
// requests on the same store; `msToEndRuns` lists every run (the first run of each figure is on
// a freshly started consumer process, and tail100k's on cold server code too: often the
// slowest). The machine's cores
// are shared by the server (this process), the consumer and nats-server: `serverCpuMsPerRun`,
// `consumerCpuMsToEnd` and `natsServerCpuMsPerRun` show what each of them spent, so a slow
// figure can be told apart from a busy machine.
//
//   node --import tsx bench/replay.ts            → bench/results/replay.json
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { fork } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { clusterSubjects, createResourceUpdate, encodeResourceUpdate } from '../src/schema/index.ts';
import { UpdateLog, openLmdbStore, type PendingUpdate } from '../src/log/index.ts';
import { ReplayServer } from '../src/bus/index.ts';
import { startNatsServer } from '../src/testing/nats-server.ts';
import { makeTempDir } from '../src/testing/processes.ts';
import type { ConsumerJob, ConsumerRun } from './replay-consumer.ts';

const RUNS = 3;
const CLUSTER_PODS = 150_000;
const NODE_PODS = 110;
const CONTAINERS_PER_POD = 3;
const TAIL_UPDATES = 100_000;
const BATCH = 1_000;
const T0 = 1_732_700_000_000_000_000n;

let seed = 42;
const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
const padFor = (): string => 'x'.repeat(150 + Math.floor(random() * 400));

function podUpdate(uid: string, node: string, generation: number): PendingUpdate {
  const update = createResourceUpdate({
    object: {
      case: 'pod',
      value: {
        uid, name: `pod-${uid}`, namespace: `ns-${uid.length % 40}`, nodeName: node, podIp: `10.${generation % 250}.1.2`,
        labels: { app: `app-${uid.slice(-3)}`, generation: String(generation), annotation: padFor() },
        createTimeNs: T0, startTimeNs: T0,
      },
    },
  });
  return { objectKey: `Pod/${uid}`, kind: 'Pod', payload: encodeResourceUpdate(update), scopes: ['cluster', `node/${node}`], state: 'upsert' };
}

function containerUpdate(id: string, podUid: string, node: string): PendingUpdate {
  const update = createResourceUpdate({
    object: { case: 'container', value: { containerId: id, runtime: 'containerd', name: `c-${id.slice(-4)}`, podUid, podName: `pod-${podUid}`, namespace: 'ns', message: padFor(), startTimeNs: T0 } },
  });
  return { objectKey: `Container/${id}`, kind: 'Container', payload: encodeResourceUpdate(update), scopes: ['cluster', `node/${node}`], state: 'upsert' };
}

async function commitAll(log: UpdateLog, updates: Iterable<PendingUpdate>): Promise<void> {
  let batch: PendingUpdate[] = [];
  for (const u of updates) {
    batch.push(u);
    if (batch.length === BATCH) {
      await log.commit(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await log.commit(batch);
}

function* clusterPods(): Generator<PendingUpdate> {
  for (let i = 0; i < CLUSTER_PODS; i++) yield podUpdate(`c${i.toString(36).padStart(8, '0')}`, `node-${i % 1_500}`, 0);
}

function* nodePods(): Generator<PendingUpdate> {
  for (let i = 0; i < NODE_PODS; i++) {
    const uid = `bench-${i}`;
    yield podUpdate(uid, 'bench-node', 0);
    for (let c = 0; c < CONTAINERS_PER_POD; c++) yield containerUpdate(`${uid}-${c}`.padEnd(64, '0'), uid, 'bench-node');
  }
}

/** Updates of 50 churning pods on one node, generations [from, to). */
function* churn(from: number, to: number): Generator<PendingUpdate> {
  for (let g = from; g < to; g++) for (let p = 0; p < 50; p++) yield podUpdate(`churn-${p}`, 'churn-node', g);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** CPU (user + system) used so far by the nats-server child of this process; undefined off Linux. */
function natsServerCpuMs(): number | undefined {
  try {
    let total = 0;
    for (const tid of readdirSync('/proc/self/task')) {
      for (const pid of readFileSync(`/proc/self/task/${tid}/children`, 'utf8').split(' ').filter(Boolean)) {
        if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('nats-server')) continue;
        const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
        total += ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks (USER_HZ 100)
      }
    }
    return total;
  } catch {
    return undefined;
  }
}

/** Runs the consumer in its own process (bench/replay-consumer.ts) and summarizes its runs. */
async function measure(job: Omit<ConsumerJob, 'runs'>): Promise<Record<string, number | number[]>> {
  const natsCpu = natsServerCpuMs();
  const cpu = process.cpuUsage();
  const child = fork(new URL('./replay-consumer.ts', import.meta.url), [], { execArgv: ['--import', 'tsx'] });
  const reply = await new Promise<{ runs?: ConsumerRun[]; error?: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { runs?: ConsumerRun[]; error?: string }));
    child.once('exit', (code) => reject(new Error(`consumer exited with ${code}`)));
    child.send({ ...job, runs: RUNS });
  });
  if (!reply.runs) throw new Error(`consumer failed: ${reply.error}`);
  const used = process.cpuUsage(cpu);
  const natsUsed = natsCpu === undefined ? undefined : (natsServerCpuMs() ?? natsCpu) - natsCpu;
  const serverCpuMsPerRun = (used.user + used.system) / 1000 / RUNS;
  const last = reply.runs.at(-1) as ConsumerRun;
  const endMs = median(reply.runs.map((r) => r.msToEnd));
  return {
    updates: last.updates,
    messages: last.messages,
    payloadMB: Number((last.payloadBytes / 1e6).toFixed(1)),
    msToEnd: Number(endMs.toFixed(1)),
    msToEndRuns: reply.runs.map((r) => Math.round(r.msToEnd)),
    updatesPerSec: Math.round(last.updates / (endMs / 1000)),
    serverCpuMsPerRun: Math.round(serverCpuMsPerRun),
    consumerCpuMsToEnd: Math.round(median(reply.runs.map((r) => r.consumerCpuMs))),
    ...(natsUsed === undefined ? {} : { natsServerCpuMsPerRun: Math.round(natsUsed / RUNS) }),
    ...(job.decode ? { msToDecoded: Number(median(reply.runs.map((r) => r.msToDecoded)).toFixed(1)) } : {}),
  };
}

async function main(): Promise<void> {
  const nats = await startNatsServer();
  const dir = await makeTempDir('bench-replay');
  const store = await openLmdbStore({ path: join(dir.path, 'store') });
  const serverNc = await connect({ servers: nats.url });
  try {
    const log = await UpdateLog.open(store);
    const t = performance.now();
    await commitAll(log, clusterPods());
    await commitAll(log, nodePods());
    await commitAll(log, churn(0, 1));
    const churnFrom = log.scopeHead('node/churn-node');
    await commitAll(log, churn(1, 1 + TAIL_UPDATES / 50));
    console.error(`store built in ${((performance.now() - t) / 1000).toFixed(1)} s (head ${log.head})`);
    const server = new ReplayServer({ connection: serverNc, cluster: 'bench', log });
    await server.start();
    const subject = clusterSubjects('bench').replay;
    const results = {
      tail100k: await measure({ url: nats.url, subject, scope: 'node/churn-node', after: churnFrom, decode: true }),
      nodeSnapshot: await measure({ url: nats.url, subject, scope: 'node/bench-node', after: 0, decode: true }),
      clusterSnapshot: await measure({ url: nats.url, subject, scope: 'cluster', after: 0, decode: false }),
    };
    const stats = server.stats();
    const serverTotals = { answers: stats.outcomes.completed, snapshotReads: stats.snapshotReads, messages: stats.messages, megabytes: Number((stats.bytes / 1e6).toFixed(1)) };
    await server.close();
    const out = {
      benchmark: 'replay',
      command: 'node --import tsx bench/replay.ts',
      date: new Date().toISOString(),
      node: process.version,
      cpus: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown'}`,
      loadAverage1m: Number((loadavg()[0] ?? 0).toFixed(2)),
      runs: RUNS,
      statistic: 'median of runs',
      targets: { tail100kMsToEnd: 1000, nodeSnapshotMsToEnd: 50 },
      results,
      serverTotals,
    };
    console.log(JSON.stringify(out, null, 2));
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    await writeFile(new URL('./results/replay.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
    await log.close();
  } finally {
    await serverNc.close();
    await store.close();
    await nats.stop();
    await dir.remove();
  }
}

await main();
