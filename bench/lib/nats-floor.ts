// The NATS half of the physical floor of an initial sync (bench/lib/sync-floor.ts), in two roles,
// each its own process (as serve and a consumer are):
//
//   subscriber  records the payload size of every update message serve publishes during the
//               sync (the scope subjects `kubemeta.<cluster>.cluster` and `…node.*`; heartbeats
//               have no payload and are not counted), writes the sizes to a file; then drains a
//               fresh subject and reports when the last floor message arrived.
//   publisher   publishes the same number of messages with the same sizes, in the same order,
//               to that fresh subject on the same nats-server: no encoding, no store, nothing
//               but nc.publish of ready bytes, with one flush in flight as serve's publisher has.
//
//   BENCH_NATS_FLOOR='<json: NatsFloorConfig>' node --import tsx bench/lib/nats-floor.ts
// Controlled over IPC (NatsFloorCommand in, NatsFloorReport out). Times are epoch ms
// (performance.timeOrigin + performance.now()), comparable across processes on one machine.
import { readFileSync, writeFileSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { connect, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';

export interface NatsFloorConfig {
  role: 'subscriber' | 'publisher';
  natsUrl: string;
  /** The binary file of message sizes (little-endian uint32 each). */
  sizesFile: string;
  /** subscriber: the subjects to record (serve's update subjects). */
  recordSubjects?: string[];
  /** publisher: where the floor messages go. */
  subject?: string;
}

export type NatsFloorCommand =
  | { type: 'stopRecording' }
  | { type: 'drain'; subject: string; expect: number }
  | { type: 'report' }
  | { type: 'publish' };

export type NatsFloorReport =
  | { type: 'ready' }
  | { type: 'recorded'; messages: number; bytes: number }
  | { type: 'draining' }
  | { type: 'drained'; messages: number; bytes: number; firstAt: number; lastAt: number; complete: boolean }
  | { type: 'published'; messages: number; bytes: number; startAt: number; loopDoneAt: number; flushedAt: number; cpuSeconds: number };

const config = JSON.parse(process.env['BENCH_NATS_FLOOR'] ?? '{}') as NatsFloorConfig;
const now = (): number => performance.timeOrigin + performance.now();
const send = (report: NatsFloorReport): void => void process.send?.(report);
process.on('disconnect', () => process.exit(0));

const nc = await connect({ servers: config.natsUrl, name: `bench-nats-floor-${config.role}` });
if (config.role === 'subscriber') runSubscriber(nc);
else runPublisher(nc);
send({ type: 'ready' });

function runSubscriber(conn: NatsConnection): void {
  let sizes = new Uint32Array(1 << 16);
  let recorded = 0;
  let recordedBytes = 0;
  const record = (_err: Error | null, m: Msg): void => {
    if (m.data.length === 0) return; // a heartbeat
    if (recorded === sizes.length) {
      const grown = new Uint32Array(sizes.length * 2);
      grown.set(sizes);
      sizes = grown;
    }
    sizes[recorded++] = m.data.length;
    recordedBytes += m.data.length;
  };
  const recording: Subscription[] = (config.recordSubjects ?? []).map((s) => conn.subscribe(s, { callback: record }));
  const drain = { messages: 0, bytes: 0, firstAt: 0, lastAt: 0, expect: Infinity, done: false };
  process.on('message', (cmd: NatsFloorCommand) => {
    void (async () => {
      if (cmd.type === 'stopRecording') {
        await conn.flush();
        for (const s of recording) s.unsubscribe();
        writeFileSync(config.sizesFile, Buffer.from(sizes.buffer, 0, recorded * 4));
        send({ type: 'recorded', messages: recorded, bytes: recordedBytes });
      } else if (cmd.type === 'drain') {
        drain.expect = cmd.expect;
        conn.subscribe(cmd.subject, {
          callback: (_err, m) => {
            const at = now();
            if (drain.messages === 0) drain.firstAt = at;
            drain.messages++;
            drain.bytes += m.data.length;
            drain.lastAt = at;
            if (drain.messages === drain.expect && !drain.done) {
              drain.done = true;
              send({ type: 'drained', messages: drain.messages, bytes: drain.bytes, firstAt: drain.firstAt, lastAt: drain.lastAt, complete: true });
            }
          },
        });
        await conn.flush();
        send({ type: 'draining' });
      } else if (cmd.type === 'report') {
        // Some floor messages never arrived (nats-server dropped a slow consumer): say so.
        send({ type: 'drained', messages: drain.messages, bytes: drain.bytes, firstAt: drain.firstAt, lastAt: drain.lastAt, complete: drain.messages >= drain.expect });
      }
    })();
  });
}

function runPublisher(conn: NatsConnection): void {
  const file = readFileSync(config.sizesFile);
  const sizes = new Uint32Array(file.buffer, file.byteOffset, file.length / 4);
  const largest = sizes.reduce((a, b) => Math.max(a, b), 0);
  // Payload bytes that are not all zeros (nothing on the path compresses, but to be safe).
  const payload = Buffer.alloc(largest);
  for (let i = 0; i < largest; i++) payload[i] = (i * 131 + 7) & 0xff;
  const subject = config.subject as string;
  process.on('message', (cmd: NatsFloorCommand) => {
    if (cmd.type !== 'publish') return;
    void (async () => {
      const cpu = process.cpuUsage();
      const startAt = now();
      let bytes = 0;
      let sinceYield = 0;
      // One flush in flight at a time, as serve's ScopePublisher does.
      let flushing: Promise<void> | undefined;
      for (const size of sizes) {
        conn.publish(subject, payload.subarray(0, size));
        bytes += size;
        sinceYield += size;
        flushing ??= conn.flush().finally(() => (flushing = undefined));
        // Serve returns to its event loop between commits; give the socket the same chance.
        if (sinceYield >= 1 << 20) {
          sinceYield = 0;
          await yieldToLoop();
        }
      }
      const loopDoneAt = now();
      await conn.flush();
      const flushedAt = now();
      const used = process.cpuUsage(cpu);
      send({ type: 'published', messages: sizes.length, bytes, startAt, loopDoneAt, flushedAt, cpuSeconds: Math.round((used.user + used.system) / 1e4) / 100 });
    })();
  });
}
