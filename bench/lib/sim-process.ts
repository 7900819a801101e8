// A bench's simulated cluster in its own process (bench/lib/sim-child.ts). The benches that
// time serve (serve-sync, serve-restart, churn-latency) start the sim this way, so that populating, serving
// LISTs and watches, and churning run beside serve and the bench's probe instead of inside
// either: what a serve ÷ floor ratio or a write → subscriber latency charges to serve is
// serve's own work.
import { fork, type ChildProcess } from 'node:child_process';
import type { LoadStats } from '../../src/sim/index.ts';
import { killOnExit } from './cleanup.ts';

export interface SimChildConfig {
  nodes: number;
  podsPerNode: number;
  namespaces?: number;
  seed?: number;
  /** Start the sim's controllers (default true): without them nothing replaces deleted pods. */
  controllers?: boolean;
  /** Serialize every object once before serving (default true): serve and the floors read a warm sim. */
  warm?: boolean;
  /** False: answer WatchList requests as servers without it do (serve falls back to pages). */
  watchList?: boolean;
}

export interface SimChildReady {
  type: 'ready';
  url: string;
  pods: number;
  nodes: number;
  /** Process start → API serving (engine built and populated, controllers started). */
  populateMs: number;
  /** The engine's own populate time. */
  populateReportMs: number;
  serializeMs: number | undefined;
}

export type SimChildRequest = { id: number } & (
  | { op: 'stats' }
  | { op: 'count'; kind: string }
  | { op: 'nodeNames' }
  | { op: 'reportPodWrites'; on: boolean }
  | { op: 'probe'; nodes: string[]; turn: number; label: string; seq: number }
  | { op: 'startChurn'; ratePerSecond: number; tickMs?: number; mix?: Record<string, number> }
  | { op: 'stopChurn' }
  | { op: 'close' }
);

export type SimChildResponse = { type: 'response'; id: number } & ({ ok: true; value: unknown } | { ok: false; error: string });

/** Pod writes since the last report: uid, node ('' unscheduled), wall-clock ms (timeOrigin + now()). */
export interface PodWrites {
  type: 'podWrites';
  writes: Array<[string, string, number]>;
}

export interface SimStats {
  load: LoadStats;
  openWatches: number;
  actions: Record<string, number>;
  writes: number;
}

type Distribute<U> = U extends unknown ? Omit<U, 'id'> : never;

export class SimProcess {
  readonly url: string;
  readonly info: SimChildReady;
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 1;
  #onPodWrite: ((uid: string, atMs: number, node: string) => void) | undefined;

  private constructor(child: ChildProcess, ready: SimChildReady) {
    this.#child = child;
    this.info = ready;
    this.url = ready.url;
    child.on('message', (raw) => {
      const m = raw as SimChildResponse | PodWrites;
      if (m.type === 'podWrites') {
        for (const [uid, node, at] of m.writes) this.#onPodWrite?.(uid, at, node);
        return;
      }
      const w = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      if (m.ok) w?.resolve(m.value);
      else w?.reject(new Error(`sim child: ${m.error}`));
    });
    child.on('exit', (code, signal) => {
      for (const w of this.#waiting.values()) w.reject(new Error(`sim child exited (${code ?? signal})`));
      this.#waiting.clear();
    });
  }

  /** Forks the sim child (node --import tsx, a large heap) and waits until it serves. */
  static async start(config: SimChildConfig): Promise<SimProcess> {
    const child = fork(new URL('./sim-child.ts', import.meta.url).pathname, [], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=8192'],
      env: { ...process.env, BENCH_SIM_CHILD: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    killOnExit(child);
    const ready = await new Promise<SimChildReady>((resolve, reject) => {
      child.once('message', (m) => resolve(m as SimChildReady));
      child.once('exit', (code, signal) => reject(new Error(`the sim child exited before it served (${code ?? signal})`)));
    });
    return new SimProcess(child, ready);
  }

  #call<T>(req: Distribute<SimChildRequest>): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.send({ ...req, id });
    });
  }

  stats(): Promise<SimStats> {
    return this.#call({ op: 'stats' });
  }

  count(kind: string): Promise<number> {
    return this.#call({ op: 'count', kind });
  }

  nodeNames(): Promise<string[]> {
    return this.#call({ op: 'nodeNames' });
  }

  /**
   * Calls `listener` with every pod write's uid, wall-clock time (ms) and node until turned off
   * (probe writes excluded). Writes arrive in batches, up to 20 ms after they happened.
   */
  async reportPodWrites(listener: ((uid: string, atMs: number, node: string) => void) | undefined): Promise<void> {
    this.#onPodWrite = listener;
    await this.#call({ op: 'reportPodWrites', on: listener !== undefined });
  }

  /** Writes a probe label on a pod of `nodes` (sim-child.ts writeProbe); its wall time, or null. */
  probe(nodes: string[], turn: number, label: string, seq: number): Promise<number | null> {
    return this.#call({ op: 'probe', nodes, turn, label, seq });
  }

  startChurn(ratePerSecond: number, options: { tickMs?: number; mix?: Record<string, number> } = {}): Promise<void> {
    return this.#call({ op: 'startChurn', ratePerSecond, ...options });
  }

  stopChurn(): Promise<void> {
    return this.#call({ op: 'stopChurn' });
  }

  /** CPU seconds (user + system) the sim process used so far, from /proc. */
  cpuSecondsUsed(): Promise<number> {
    return this.stats().then((s) => s.load.processCpuSeconds);
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    await this.#call({ op: 'close' }).catch(() => undefined);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }
}

/** Wall-clock ms on the same scale as the sim child's pod write times. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}
