// Update log throughput on LMDB: commits of 1, 100 and 1,000 updates (~300 B payloads, 2 scopes
// each: cluster + one node), then snapshot and tail read rates over the 100,000-update store.
// Each figure is the median of 3 runs on a fresh store. Durable commits: every commit waits for
// LMDB's fdatasync (see src/log/stores/lmdb-store.ts).
//
//   node --import tsx bench/log-commit.ts            → bench/results/log-commit.json
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { UpdateLog, openLmdbStore, type PendingUpdate } from '../src/log/index.ts';
import { makeTempDir } from '../src/testing/processes.ts';

const RUNS = 3;
const PAYLOAD_BYTES = 300;
const NODES = 50;
const CASES = [
  { batch: 1, updates: 3_000 },
  { batch: 100, updates: 50_000 },
  { batch: 1000, updates: 100_000 },
] as const;

function payloads(count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const p = new Uint8Array(PAYLOAD_BYTES);
    for (let j = 0; j < PAYLOAD_BYTES; j += 4) p[j] = (i * 31 + j) & 0xff;
    out.push(p);
  }
  return out;
}

function batchAt(start: number, size: number, pool: Uint8Array[]): PendingUpdate[] {
  return Array.from({ length: size }, (_, k) => {
    const i = start + k;
    return { objectKey: `Pod/${i.toString(16).padStart(8, '0')}`, kind: 'Pod', payload: pool[i % pool.length] as Uint8Array, scopes: ['cluster', `node/n${i % NODES}`], state: 'upsert' };
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

interface RunResult {
  updatesPerSec: number;
  commitsPerSec: number;
  commitMsP50: number;
  commitMsP99: number;
  snapshotEntriesPerSec?: number;
  tailEntriesPerSec?: number;
  storeBytes: number;
}

async function readRates(log: UpdateLog): Promise<{ snapshot: number; tail: number }> {
  let t = performance.now();
  let n = 0;
  const snapshot = await log.openSnapshot('cluster');
  for await (const chunk of snapshot.chunks({ maxEntries: 500, maxBytes: 256 * 1024 })) n += chunk.length;
  const snapshotRate = n / ((performance.now() - t) / 1000);
  t = performance.now();
  n = 0;
  let after: number | undefined = 0;
  while (after !== undefined) {
    const page = await log.readTail('cluster', after, { limit: 1000, maxBytes: 1024 * 1024 });
    n += page.entries.length;
    after = page.next;
  }
  return { snapshot: snapshotRate, tail: n / ((performance.now() - t) / 1000) };
}

async function runOnce(batch: number, total: number, pool: Uint8Array[], withReads: boolean): Promise<RunResult> {
  const dir = await makeTempDir('bench-log');
  const store = await openLmdbStore({ path: join(dir.path, 'store') });
  try {
    const log = await UpdateLog.open(store);
    const latencies: number[] = [];
    const start = performance.now();
    for (let i = 0; i < total; i += batch) {
      const t = performance.now();
      await log.commit(batchAt(i, Math.min(batch, total - i), pool));
      latencies.push(performance.now() - t);
    }
    const seconds = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    const result: RunResult = {
      updatesPerSec: total / seconds,
      commitsPerSec: latencies.length / seconds,
      commitMsP50: latencies[Math.floor(latencies.length * 0.5)] as number,
      commitMsP99: latencies[Math.floor(latencies.length * 0.99)] as number,
      storeBytes: await store.sizeBytes(),
    };
    if (withReads) {
      const rates = await readRates(log);
      result.snapshotEntriesPerSec = rates.snapshot;
      result.tailEntriesPerSec = rates.tail;
    }
    return result;
  } finally {
    await store.close();
    await dir.remove();
  }
}

const pool = payloads(1024);
const results: Record<string, Record<string, number>> = {};
for (const { batch, updates } of CASES) {
  const runs: RunResult[] = [];
  for (let r = 0; r < RUNS; r++) runs.push(await runOnce(batch, updates, pool, batch === 1000));
  const pick = (f: (x: RunResult) => number | undefined): number => Math.round(median(runs.map((x) => f(x) ?? 0)) * 100) / 100;
  const summary: Record<string, number> = {
    updates,
    updatesPerSec: pick((x) => x.updatesPerSec),
    commitsPerSec: pick((x) => x.commitsPerSec),
    commitMsP50: pick((x) => x.commitMsP50),
    commitMsP99: pick((x) => x.commitMsP99),
    storeBytes: pick((x) => x.storeBytes),
  };
  if (batch === 1000) {
    summary.snapshotEntriesPerSec = pick((x) => x.snapshotEntriesPerSec);
    summary.tailEntriesPerSec = pick((x) => x.tailEntriesPerSec);
  }
  results[`batch${batch}`] = summary;
  console.log(`batch ${batch}:`, summary);
}

const out = {
  benchmark: 'log-commit',
  command: 'node --import tsx bench/log-commit.ts',
  date: new Date().toISOString(),
  node: process.version,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
  payloadBytes: PAYLOAD_BYTES,
  scopesPerUpdate: 2,
  runs: RUNS,
  statistic: 'median of runs',
  results,
};
const dirOut = join(import.meta.dirname, 'results');
await mkdir(dirOut, { recursive: true });
await writeFile(join(dirOut, 'log-commit.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${join(dirOut, 'log-commit.json')}`);
