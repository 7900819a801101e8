// LMDB vs etcd under the same UpdateLog, in one run (issue 5):
//   commit    updates/s through UpdateLog.commit, batches of 100 and of 1,000 updates; each update
//             is a real pod ResourceUpdate (~400 B) on 'cluster' + one 'node/<n>' scope. Also the
//             store transactions per batch (etcd splits a batch to fit --max-txn-ops 128).
//   tail100k  readTail of 100,000 updates of the cluster scope, pages of 1,000, from 0 to the end
//   node110   openSnapshot of a node scope holding 110 pods, every chunk read
// Commit figures come from one pass per case (a fresh store each); read figures are the median
// of 5 repetitions on the 100,000-update store. etcd runs locally (startEtcdServer: one member,
// WAL fsync on, default limits, Debian's 3.4.23 here); both stores are durable at every resolved
// commit. The machine's load average is recorded with the results (other work shares its cores).
//
//   node --import tsx bench/store-compare.ts            → bench/results/store-compare.json
import { join } from 'node:path';
import { createResourceUpdate, encodeResourceUpdate } from '../src/schema/index.ts';
import {
  UpdateLog,
  openEtcdStore,
  openLmdbStore,
  type CommitGuard,
  type PendingUpdate,
  type ScanOptions,
  type StoreOp,
  type StoreView,
  type UpdateStore,
} from '../src/log/index.ts';
import { makeTempDir, startEtcdServer } from '../src/testing/index.ts';
import { median, percentile, printTable, writeResult } from './lib/report.ts';

const CASES = [
  { batch: 100, updates: 20_000 },
  { batch: 1000, updates: 100_000 },
] as const;
const NODES = 910; // 100,000 pods over 910 nodes: node/n0 holds 110
const READ_RUNS = 5;
const T0 = 1_732_700_000_000_000_000n;

let seed = 7;
const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);

function podUpdate(i: number): PendingUpdate {
  const uid = `p${i.toString(36).padStart(8, '0')}`;
  const node = `n${i % NODES}`;
  const update = createResourceUpdate({
    object: {
      case: 'pod',
      value: {
        uid, name: `web-${uid}`, namespace: `ns-${i % 40}`, nodeName: node, podIp: `10.${i % 250}.${(i >> 8) % 250}.2`,
        labels: { app: `app-${i % 300}`, 'pod-template-hash': 'x'.repeat(190 + Math.floor(random() * 200)) },
        createTimeNs: T0, startTimeNs: T0,
      },
    },
  });
  return { objectKey: `Pod/${uid}`, kind: 'Pod', payload: encodeResourceUpdate(update), scopes: ['cluster', `node/${node}`], state: 'upsert' };
}

/** Counts the store commits (transactions) under the log. */
class CountingStore implements UpdateStore {
  commits = 0;
  readonly #inner: UpdateStore;
  constructor(inner: UpdateStore) {
    this.#inner = inner;
  }
  get backend(): string { return this.#inner.backend; }
  get location(): string { return this.#inner.location; }
  get limits() { return this.#inner.limits; }
  commit(ops: readonly StoreOp[], guards?: readonly CommitGuard[]): Promise<void> {
    this.commits++;
    return this.#inner.commit(ops, guards);
  }
  get(key: string) { return this.#inner.get(key); }
  getMany(keys: readonly string[]) { return this.#inner.getMany(keys); }
  scan(options: ScanOptions) { return this.#inner.scan(options); }
  readView(): Promise<StoreView> { return this.#inner.readView(); }
  sizeBytes(): Promise<number> { return this.#inner.sizeBytes(); }
  close(): Promise<void> { return this.#inner.close(); }
}

interface CommitResult {
  updatesPerSec: number;
  commitMsP50: number;
  commitMsP99: number;
  storeCommitsPerBatch: number;
  storeMB: number;
}

async function commitCase(inner: UpdateStore, batch: number, total: number, pool: readonly PendingUpdate[]): Promise<{ result: CommitResult; log: UpdateLog }> {
  const store = new CountingStore(inner);
  const log = await UpdateLog.open(store);
  const before = store.commits;
  const latencies: number[] = [];
  const start = performance.now();
  for (let i = 0; i < total; i += batch) {
    const t = performance.now();
    await log.commit(pool.slice(i, Math.min(total, i + batch)));
    latencies.push(performance.now() - t);
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    log,
    result: {
      updatesPerSec: Math.round(total / seconds),
      commitMsP50: round(percentile(latencies, 50)),
      commitMsP99: round(percentile(latencies, 99)),
      storeCommitsPerBatch: round((store.commits - before) / latencies.length),
      storeMB: round((await inner.sizeBytes()) / 1e6),
    },
  };
}

async function readCase(log: UpdateLog): Promise<{ tail100kMs: number; tailEntries: number; node110Ms: number; node110Entries: number }> {
  const tails: number[] = [];
  const snapshots: number[] = [];
  let tailEntries = 0;
  let nodeEntries = 0;
  for (let r = 0; r < READ_RUNS; r++) {
    let t = performance.now();
    let n = 0;
    let after: number | undefined = 0;
    while (after !== undefined) {
      const page = await log.readTail('cluster', after, { limit: 1000, maxBytes: 1024 * 1024 });
      n += page.entries.length;
      after = page.next;
    }
    tails.push(performance.now() - t);
    tailEntries = n;
    t = performance.now();
    n = 0;
    const snapshot = await log.openSnapshot('node/n0');
    for await (const chunk of snapshot.chunks({ maxEntries: 500, maxBytes: 256 * 1024 })) n += chunk.length;
    snapshots.push(performance.now() - t);
    nodeEntries = n;
  }
  return { tail100kMs: round(median(tails)), tailEntries, node110Ms: round(median(snapshots)), node110Entries: nodeEntries };
}

const round = (x: number): number => Math.round(x * 100) / 100;

const pool = Array.from({ length: 100_000 }, (_, i) => podUpdate(i));
const payloadBytes = Math.round(pool.reduce((n, u) => n + u.payload.byteLength, 0) / pool.length);
const tmp = await makeTempDir('bench-store-compare');
const etcd = await startEtcdServer();
const etcdVersion = ((await (await fetch(`${etcd.url}/version`)).json()) as { etcdserver?: string }).etcdserver ?? 'unknown';
let prefix = 0;
const backends: Record<string, () => Promise<UpdateStore>> = {
  lmdb: () => openLmdbStore({ path: join(tmp.path, `lmdb-${prefix++}`) }),
  etcd: () => openEtcdStore({ endpoints: [etcd.url], keyPrefix: `bench/${prefix++}/` }),
};

const results: Record<string, Record<string, unknown>> = {};
const rows: Array<Record<string, string | number>> = [];
try {
  for (const [backend, open] of Object.entries(backends)) {
    results[backend] = {};
    for (const { batch, updates } of CASES) {
      const store = await open();
      try {
        const { result, log } = await commitCase(store, batch, updates, pool);
        const reads = updates === 100_000 ? await readCase(log) : undefined;
        results[backend][`batch${batch}`] = { updates, ...result, ...(reads ?? {}) };
        rows.push({
          backend, batch, updates, 'updates/s': result.updatesPerSec, 'p50 ms': result.commitMsP50, 'p99 ms': result.commitMsP99,
          'txns/batch': result.storeCommitsPerBatch, 'store MB': result.storeMB,
          'tail100k ms': reads?.tail100kMs ?? '', 'node110 ms': reads?.node110Ms ?? '',
        });
        console.log(backend, `batch ${batch}:`, results[backend][`batch${batch}`]);
      } finally {
        await store.close();
      }
    }
  }
} finally {
  await etcd.stop();
  await tmp.remove();
}

printTable(`UpdateLog on LMDB vs etcd (payload ~${payloadBytes} B, scopes cluster + node/<n>)`, rows);
const path = writeResult('store-compare', {
  benchmark: 'store-compare',
  command: 'node --import tsx bench/store-compare.ts',
  payloadBytes,
  scopesPerUpdate: 2,
  etcd: { version: etcdVersion, members: 1, maxTxnOps: 128, maxRequestBytes: 1.5 * 1024 * 1024, walFsync: true },
  readRuns: READ_RUNS,
  statistic: 'commit: one pass per case; reads: median of runs',
  results,
});
console.log(`wrote ${path}`);
