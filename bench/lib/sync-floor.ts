// The physical floor of an initial sync (issue 7), measured in the same run as serve's sync by
// bench/serve-sync.ts: what the two ends of serve's pipeline cost with nothing in between.
//
//   LIST floor   download and JSON.parse the same paginated LISTs serve makes (same kinds, same
//                page size, one pager per kind at once), from the same sim, in a child process
//                (bench/lib/list-floor.ts). No rate limiter: serve's own client limiter
//                (--api-qps/--api-burst) is a floor of its own, computed by rateLimitFloorMs.
//   NATS floor   publish as many messages, of the same sizes, as serve published during the
//                sync, to a fresh subject of the same nats-server, with one subscriber draining
//                (bench/lib/nats-floor.ts, both in child processes).
//
// What the floors leave out, so what serve ÷ floor means: the store (LMDB commits; see
// bench/log-commit.ts), projection and encoding. The sim serves both from its own process
// (bench/lib/sim-process.ts). The LIST floor is measured both ways the API offers (pages of 500,
// and WatchList streams); the cheaper is the floor. The floors run one after the other on an
// idle serve; in serve they overlap.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { collectionPath, WATCHED_KINDS } from '../../src/source/index.ts';
import { killOnExit } from './cleanup.ts';
import type { ListFloorConfig, ListFloorResult } from './list-floor.ts';
import type { NatsFloorCommand, NatsFloorConfig, NatsFloorReport } from './nats-floor.ts';

/**
 * The kinds serve lists: every watched kind but Endpoints, which it lists only where the API
 * server has no EndpointSlices (src/service/metadata-service.ts DEFAULT_KINDS).
 */
export const SERVE_LIST_PATHS: readonly string[] = Object.values(WATCHED_KINDS)
  .filter((k) => k.kind !== 'Endpoints')
  .map((k) => collectionPath(k));

export interface NatsFloorResult {
  messages: number;
  bytes: number;
  /** First publish → the server confirmed the last one (flush): the publisher's side. */
  publishMs: number;
  /** First publish → the subscriber received the last message: the time the floor takes. */
  deliveredMs: number;
  messagesPerSec: number;
  mbPerSec: number;
  /** Messages the subscriber received (fewer than `messages` if nats-server dropped it as slow). */
  received: number;
  publisherCpuSeconds: number;
}

const SCRIPT = (name: string): string => new URL(`./${name}`, import.meta.url).pathname;

function spawnChild(script: string, envName: string, config: object, ipc: boolean): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--max-old-space-size=4096', '--import', 'tsx', SCRIPT(script)], {
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? (['ipc'] as const) : [])],
    env: { ...process.env, [envName]: JSON.stringify(config) },
  });
  killOnExit(child);
  let output = '';
  const append = (c: Buffer): void => void (output = (output + c.toString('utf8')).slice(-16_384));
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return { child, output: () => output };
}

/** The next IPC report of `type` from a floor child, or an error if it exits or times out. */
function nextReport<T extends NatsFloorReport['type']>(c: { child: ChildProcess; output: () => string }, type: T, timeoutMs: number): Promise<Extract<NatsFloorReport, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: NatsFloorReport): void => {
      if (m.type !== type) return;
      cleanup();
      resolve(m as Extract<NatsFloorReport, { type: T }>);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`nats-floor child exited (${code}) while waiting for '${type}':\n${c.output()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`nats-floor child: no '${type}' after ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      c.child.off('message', onMessage);
      c.child.off('exit', onExit);
    };
    c.child.on('message', onMessage);
    c.child.once('exit', onExit);
  });
}

const command = (c: { child: ChildProcess }, cmd: NatsFloorCommand): void => void c.child.send(cmd);

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
}

/**
 * Subscribes (in a child process) to serve's update subjects before serve starts, and records
 * the size of every update message published during the sync. Costs a subscriber's share of
 * nats-server and the machine during the sync, as any consumer of the cluster would.
 */
export class PublishRecorder {
  readonly #c: { child: ChildProcess; output: () => string };
  readonly #sizesFile: string;
  readonly #natsUrl: string;

  private constructor(c: { child: ChildProcess; output: () => string }, sizesFile: string, natsUrl: string) {
    this.#c = c;
    this.#sizesFile = sizesFile;
    this.#natsUrl = natsUrl;
  }

  static async start(natsUrl: string, subjects: string[], dir: string): Promise<PublishRecorder> {
    const sizesFile = join(dir, 'published-sizes.u32');
    const config: NatsFloorConfig = { role: 'subscriber', natsUrl, sizesFile, recordSubjects: subjects };
    const c = spawnChild('nats-floor.ts', 'BENCH_NATS_FLOOR', config, true);
    await nextReport(c, 'ready', 60_000);
    return new PublishRecorder(c, sizesFile, natsUrl);
  }

  /** Stops recording: what serve published so far. */
  async stop(): Promise<{ messages: number; bytes: number }> {
    command(this.#c, { type: 'stopRecording' });
    const r = await nextReport(this.#c, 'recorded', 60_000);
    return { messages: r.messages, bytes: r.bytes };
  }

  /**
   * Publishes the recorded messages again (same count, sizes and order) from a fresh publisher
   * process to a fresh subject, this process's subscriber draining them.
   */
  async publishFloor(expect: number, subject = 'bench.floor.updates'): Promise<NatsFloorResult> {
    command(this.#c, { type: 'drain', subject, expect });
    await nextReport(this.#c, 'draining', 60_000);
    const pub = spawnChild('nats-floor.ts', 'BENCH_NATS_FLOOR', { role: 'publisher', natsUrl: this.#natsUrl, sizesFile: this.#sizesFile, subject } satisfies NatsFloorConfig, true);
    try {
      await nextReport(pub, 'ready', 60_000);
      const drained = nextReport(this.#c, 'drained', 3_600_000);
      drained.catch(() => undefined);
      command(pub, { type: 'publish' });
      const published = await nextReport(pub, 'published', 3_600_000);
      // Every message delivered, or 5 s after the flush ask how many came (some were dropped).
      let timer: NodeJS.Timeout | undefined;
      const d = await Promise.race([
        drained,
        new Promise<Extract<NatsFloorReport, { type: 'drained' }>>((resolve, reject) => {
          timer = setTimeout(() => {
            command(this.#c, { type: 'report' });
            nextReport(this.#c, 'drained', 60_000).then(resolve, reject);
          }, 5_000);
        }),
      ]);
      clearTimeout(timer);
      const deliveredMs = d.lastAt - published.startAt;
      return {
        messages: published.messages,
        bytes: published.bytes,
        publishMs: Math.round(published.flushedAt - published.startAt),
        deliveredMs: Math.round(deliveredMs),
        messagesPerSec: Math.round(d.messages / (deliveredMs / 1000)),
        mbPerSec: Math.round(d.bytes / 1e6 / (deliveredMs / 1000)),
        received: d.messages,
        publisherCpuSeconds: published.cpuSeconds,
      };
    } finally {
      await stopChild(pub.child);
    }
  }

  async close(): Promise<void> {
    await stopChild(this.#c.child);
  }
}

/** Downloads and parses serve's LISTs from `server` in a child process (see list-floor.ts). */
export async function measureListFloor(server: string, pageSize: number, paths: readonly string[] = SERVE_LIST_PATHS, mode: ListFloorConfig['mode'] = 'pages'): Promise<ListFloorResult> {
  const c = spawnChild('list-floor.ts', 'BENCH_LIST_FLOOR', { server, paths: [...paths], pageSize, mode } satisfies ListFloorConfig, false);
  const code = await new Promise<number | null>((r) => c.child.once('exit', (n) => r(n)));
  const line = c.output().trim().split('\n').pop() ?? '';
  if (code !== 0) throw new Error(`list-floor exited ${code}:\n${c.output()}`);
  return JSON.parse(line) as ListFloorResult;
}

/**
 * The least time a token-bucket limiter of `qps` and `burst` lets `requests` requests start in
 * (src/source/rate-limiter.ts): the burst at once, the rest at `qps`.
 */
export function rateLimitFloorMs(requests: number, qps: number, burst: number): number {
  return Math.round((Math.max(0, requests - burst) / qps) * 1000);
}
