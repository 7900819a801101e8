// `kubemeta serve` as a child process for the benchmarks: spawn it on a store directory, poll
// its /status until it is ready, and read its CPU and memory from /proc. Shared by
// bench/churn-latency.ts and bench/serve-restart.ts.
import { join } from 'node:path';
import { freePort, spawnProcess, type SpawnedProcess } from '../../src/testing/index.ts';
import { killOnExit } from './cleanup.ts';
import { cpuSecondsOf, rssOf } from './report.ts';

const BIN = new URL('../../bin/kubemeta.js', import.meta.url).pathname;

export interface ServeProcessOptions {
  kubeconfig: string;
  natsUrl: string;
  /** The LMDB store lives in `<dir>/store`: start again on the same dir to restart on the same store. */
  dir: string;
  cluster: string;
  /** Node flags for the child (default --max-old-space-size=8192). */
  nodeFlags?: readonly string[];
  /** More `kubemeta serve` arguments. */
  args?: readonly string[];
  /** serve's --log-level (default warn); at info its log tells when each start step finished (loggedAt). */
  logLevel?: 'warn' | 'info';
}

/** What serve's /status says (only the fields the benchmarks read). */
export interface ServeStatus {
  state: string;
  head: number;
  publisher?: { messages: number; bytes: number; updates: number; catchUps: number; publishedVersion: number };
  reflectors: Array<{ kind: string; phase: string; lists: number; pages: number; watchRestarts: number; objectsListed: number }>;
}

/** Milliseconds from spawn to each step of the start, as polled on /status (about 25 ms resolution). */
export interface ServeStartTimes {
  /**
   * /status first answered. serve listens before it restores its projector state, but a
   * restore that keeps the event loop busy holds the answer back: use loggedAt for the steps.
   */
  httpMs: number;
  /** The state 'ready' (every kind listed or resumed, and everything received committed). */
  readyMs: number;
  /** Highest peak RSS (VmHWM) seen while starting, MB. */
  peakRssMb: number;
}

export interface ServeProcess {
  readonly proc: SpawnedProcess;
  readonly port: number;
  status(): Promise<ServeStatus | undefined>;
  /** CPU seconds (user + system, all threads) used so far; the last value once the process is gone. */
  cpuSeconds(): number;
  rssMb(): number;
  /** Polls /status until 'ready'; throws if serve exits or `timeoutMs` passes. */
  whenReady(timeoutMs?: number): Promise<ServeStartTimes>;
  /**
   * Ms from spawn to serve's first log line with this message (its pino `time`), and the
   * line's fields; undefined if not logged (yet). Needs logLevel 'info' for info messages.
   */
  loggedAt(msg: string): { ms: number; fields: Record<string, unknown> } | undefined;
}

export async function spawnServe(options: ServeProcessOptions): Promise<ServeProcess> {
  const port = await freePort();
  const started = performance.now();
  const startedEpoch = performance.timeOrigin + started;
  const proc = spawnProcess(process.execPath, [
    // The service image's NODE_OPTIONS (Dockerfile) and room for a large heap.
    ...(options.nodeFlags ?? ['--max-old-space-size=8192', '--max-semi-space-size=64']),
    BIN, 'serve', '--kubeconfig', options.kubeconfig, '--nats-urls', options.natsUrl, '--store', `lmdb:${join(options.dir, 'store')}`,
    '--http', `127.0.0.1:${port}`, '--cluster', options.cluster, '--log-level', options.logLevel ?? 'warn', ...(options.args ?? []),
  ]);
  killOnExit(proc.child);
  const logged = new Map<string, { ms: number; fields: Record<string, unknown> }>();
  let partial = '';
  proc.child.stderr?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { msg?: unknown; time?: unknown };
        if (typeof entry.msg === 'string' && typeof entry.time === 'number' && !logged.has(entry.msg)) {
          logged.set(entry.msg, { ms: Math.round(entry.time - startedEpoch), fields: entry as Record<string, unknown> });
        }
      } catch {
        // not a log line
      }
    }
  });
  const pid = proc.child.pid;
  let lastCpu = 0;
  const alive = (): boolean => proc.child.exitCode === null && proc.child.signalCode === null && pid !== undefined;
  const status = async (): Promise<ServeStatus | undefined> => {
    try {
      return (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as ServeStatus;
    } catch {
      return undefined;
    }
  };
  return {
    proc,
    port,
    status,
    loggedAt: (msg) => logged.get(msg),
    cpuSeconds() {
      if (alive()) {
        try {
          lastCpu = cpuSecondsOf(pid as number);
        } catch {
          // gone meanwhile: keep the last value
        }
      }
      return lastCpu;
    },
    rssMb() {
      return alive() ? rssOf(pid as number).rssMb : 0;
    },
    async whenReady(timeoutMs = 1_800_000) {
      const times: ServeStartTimes = { httpMs: NaN, readyMs: NaN, peakRssMb: 0 };
      for (;;) {
        const s = await status();
        const at = Math.round(performance.now() - started);
        if (alive()) times.peakRssMb = Math.max(times.peakRssMb, rssOf(pid as number).peakMb);
        if (s !== undefined && Number.isNaN(times.httpMs)) times.httpMs = at;
        if (s?.state === 'ready') return { ...times, readyMs: at };
        if (!alive()) throw new Error(`serve exited before it was ready:\n${proc.output().slice(-4000)}`);
        if (at > timeoutMs) throw new Error(`serve not ready after ${timeoutMs} ms (state ${s?.state}):\n${proc.output().slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}
