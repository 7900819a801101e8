// Scope heartbeat cost (wire protocol §6.1) with 5,000 node scopes + the cluster scope, at the
// default interval (5 s, spread over 50 ticks): messages/s and bytes/s seen by a subscriber on
// every scope, the publishing process's CPU per second, and the cost of one full round (the
// burst after a reconnect). Each figure is the median of 3 windows of one interval.
//
//   node --import tsx bench/heartbeat.ts            → bench/results/heartbeat.json
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { sleep } from '../src/core/index.ts';
import { clusterSubjects } from '../src/schema/index.ts';
import { UpdateLog, openLmdbStore, type PendingUpdate } from '../src/log/index.ts';
import { ScopeHeartbeat } from '../src/bus/index.ts';
import { startNatsServer } from '../src/testing/nats-server.ts';
import { makeTempDir } from '../src/testing/processes.ts';

const NODES = 5_000;
const INTERVAL_MS = 5_000;
const WINDOWS = 3;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const nats = await startNatsServer();
  const dir = await makeTempDir('bench-heartbeat');
  const store = await openLmdbStore({ path: join(dir.path, 'store') });
  const pub = await connect({ servers: nats.url });
  const sub = await connect({ servers: nats.url });
  try {
    const log = await UpdateLog.open(store);
    const updates: PendingUpdate[] = Array.from({ length: NODES }, (_, i) => ({
      objectKey: `Node/n${i}`, kind: 'Node', payload: new Uint8Array(200), scopes: ['cluster', `node/node-${i}`], state: 'upsert',
    }));
    await log.commit(updates);
    const subjects = clusterSubjects('bench');
    let messages = 0;
    let bytes = 0;
    for (const subject of [subjects.allNodeScopes, subjects.clusterScope]) {
      sub.subscribe(subject, {
        callback: (err, msg) => {
          if (err) return;
          messages++;
          bytes += msg.subject.length + msg.data.length + (msg.headers?.toString().length ?? 0);
        },
      });
    }
    await sub.flush();

    const hb = new ScopeHeartbeat({ connection: pub, cluster: 'bench', streamId: log.streamId, heads: log, intervalMs: INTERVAL_MS });
    const t0 = performance.now();
    const sent = hb.beatAll();
    const fullRoundMs = performance.now() - t0;
    await pub.flush();
    await sub.flush();
    const rates: number[] = [];
    const byteRates: number[] = [];
    const cpuPerSec: number[] = [];
    hb.start();
    await sleep(INTERVAL_MS); // let the start round and one spread round pass
    for (let w = 0; w < WINDOWS; w++) {
      const [m0, b0, c0, s0] = [messages, bytes, process.cpuUsage(), performance.now()];
      await sleep(INTERVAL_MS);
      const seconds = (performance.now() - s0) / 1000;
      const cpu = process.cpuUsage(c0);
      rates.push((messages - m0) / seconds);
      byteRates.push((bytes - b0) / seconds);
      cpuPerSec.push((cpu.user + cpu.system) / 1000 / seconds);
    }
    await hb.close();
    const out = {
      benchmark: 'heartbeat',
      command: 'node --import tsx bench/heartbeat.ts',
      date: new Date().toISOString(),
      node: process.version,
      cpus: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown'}`,
      loadAverage1m: Number((loadavg()[0] ?? 0).toFixed(2)),
      scopes: sent,
      intervalMs: INTERVAL_MS,
      ticksPerInterval: 50,
      statistic: `median of ${WINDOWS} windows of one interval`,
      results: {
        messagesPerSec: Math.round(median(rates)),
        kilobytesPerSec: Number((median(byteRates) / 1000).toFixed(1)),
        processCpuMsPerSec: Number(median(cpuPerSec).toFixed(1)),
        fullRoundMs: Number(fullRoundMs.toFixed(1)),
      },
      note: 'processCpuMsPerSec includes the subscriber receiving every heartbeat in the same process',
    };
    console.log(JSON.stringify(out, null, 2));
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    await writeFile(new URL('./results/heartbeat.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
    await log.close();
  } finally {
    await pub.close();
    await sub.close();
    await store.close();
    await nats.stop();
    await dir.remove();
  }
}

await main();
