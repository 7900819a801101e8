// The consumer side of bench/replay.ts, in its own process (as a real agent or cluster client
// is): receives a job over IPC, replays `runs` times, reports timings. Not run on its own.
import { connect } from '@nats-io/transport-node';
import { decodeResourceUpdate, parseScope } from '../src/schema/index.ts';
import { replay } from '../test/helpers/replay-client.ts';

export interface ConsumerJob {
  url: string;
  subject: string;
  scope: string;
  after: number;
  decode: boolean;
  runs: number;
}

export interface ConsumerRun {
  updates: number;
  messages: number;
  payloadBytes: number;
  msToEnd: number;
  /** CPU the consumer process used until the end marker. */
  consumerCpuMs: number;
  msToDecoded: number;
}

process.once('message', (job: ConsumerJob) => {
  void run(job).then(
    (runs) => process.send?.({ runs }, () => process.exit(0)),
    (err: unknown) => process.send?.({ error: String(err) }, () => process.exit(1)),
  );
});

async function run(job: ConsumerJob): Promise<ConsumerRun[]> {
  const nc = await connect({ servers: job.url });
  const out: ConsumerRun[] = [];
  try {
    for (let i = 0; i < job.runs; i++) {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const r = await replay(nc, job.subject, { scope: parseScope(job.scope), after: job.after, requestId: `bench-${i}` }, { silenceMs: 60_000 });
      const msToEnd = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const consumerCpuMs = (cpu.user + cpu.system) / 1000;
      if (!r.end) throw new Error(`replay failed: ${r.error?.message ?? 'no end'}`);
      const frames = [...(r.snapshot?.frames ?? []), ...r.tail];
      if (job.decode) for (const f of frames) decodeResourceUpdate(f.payload);
      out.push({
        updates: frames.length,
        messages: r.messages.length,
        payloadBytes: frames.reduce((n, f) => n + f.payload.length, 0),
        msToEnd,
        consumerCpuMs,
        msToDecoded: performance.now() - t0,
      });
    }
    return out;
  } finally {
    await nc.close();
  }
}
