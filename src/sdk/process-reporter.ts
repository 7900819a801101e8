import { Backoff, type Clock } from '../core/index.ts';
import {
  MAX_PROCESSES_PER_REPORT,
  ProcessErrorCode,
  checkProcessInfo,
  decodeProcessReportResponse,
  encodeProcessReport,
  processErrorName,
  type ProcessInfo,
  type TimeNs,
} from '../schema/index.ts';
import type { SdkConnection } from './connection.ts';
import { ProcessReportRefusedError, SdkInvalidArgumentError } from './errors.ts';
import type { LocalState } from './local-state.ts';
import type { StatusHub } from './status.ts';

/** One process start or stop, as an agent reads it from /proc (NodeAgentClient.reportProcess). */
export interface ProcessEvent {
  readonly pid: number;
  /** /proc/<pid>/stat field 22: with the pid and this agent's ASID, the UPID. */
  readonly startTimeTicks: number;
  /** The bare container id from the process's cgroup; needed for a start. */
  readonly containerId?: string;
  /** The container's pod; default: looked up in the agent's state by container id. */
  readonly podUid?: string;
  /** Arguments joined by spaces (cut at 4,096 UTF-8 bytes by the service). */
  readonly commandLine?: string;
  /** Nanoseconds since the epoch; 0/absent = unknown. */
  readonly startTimeNs?: TimeNs;
  /** Set for a stop (ns since the epoch); absent for a start. */
  readonly stopTimeNs?: TimeNs;
}

export interface ProcessReporterStats {
  /** Events waiting to be sent. */
  readonly pending: number;
  readonly sent: number;
  readonly accepted: number;
  /** Refused by the service one by one or as a whole report (see the `error` statuses). */
  readonly rejected: number;
  /** Dropped here: the queue was full (oldest first), or the container stayed unknown. */
  readonly dropped: number;
  /** Times the service answered RATE_LIMITED (the events were sent again later). */
  readonly rateLimited: number;
}

export interface ProcessReporterOptions {
  connection: SdkConnection;
  subject: string;
  node: string;
  asid: number;
  state: LocalState;
  status: StatusHub;
  clock: Clock;
  random?: () => number;
  /** Events per second sent at most, and the burst (defaults 100 and 500: below the service's 200 and 1,000). */
  ratePerSec: number;
  burst: number;
  /** Events held at most; beyond, the oldest are dropped (default 10,000). */
  maxPending: number;
  /** How often pending events are sent (default 250 ms). */
  intervalMs: number;
  /** How long a start waits for its container to appear in the agent's state (default 30 s). */
  holdMs: number;
  timeoutMs: number;
}

interface Pending {
  readonly info: ProcessInfo;
  readonly queuedAtMs: number;
}

/**
 * Sends an agent's process events to the service (wire-protocol §12): batched (up to 128 per
 * report, every intervalMs), rate-limited here below the service's limit, retried after
 * RATE_LIMITED, UNAVAILABLE, timeouts and no responders (in order, nothing lost while the queue
 * has room). A start waits until its container is in the agent's state: the agent's state comes
 * from the service, so the service then knows the container too and will not refuse it as
 * FOREIGN_CONTAINER. Refusals are reported as `error` statuses (ProcessReportRefusedError).
 */
export class ProcessReporter {
  readonly #options: ProcessReporterOptions;
  readonly #queue: Pending[] = [];
  readonly #backoff: Backoff;
  readonly #stats = { sent: 0, accepted: 0, rejected: 0, dropped: 0, rateLimited: 0 };
  #tokens: number;
  #tokensAtMs: number;
  #pauseUntilMs = 0;
  #sending: Promise<void> | undefined;
  readonly #stop = new AbortController();

  constructor(options: ProcessReporterOptions) {
    this.#options = options;
    this.#tokens = options.burst;
    this.#tokensAtMs = options.clock.now();
    this.#backoff = new Backoff({ initialMs: 250, maxMs: 15_000, jitter: 0.5, ...(options.random ? { random: options.random } : {}) });
    void this.#loop();
  }

  stats(): ProcessReporterStats {
    return { pending: this.#queue.length, ...this.#stats };
  }

  /** Queues one event (validated now: a bad one throws SdkInvalidArgumentError). */
  report(event: ProcessEvent): void {
    const stop = event.stopTimeNs ?? 0n;
    if (stop === 0n && (typeof event.containerId !== 'string' || event.containerId === '')) {
      throw new SdkInvalidArgumentError('containerId', 'a process start needs the bare container id from its cgroup');
    }
    let info: ProcessInfo;
    try {
      info = checkProcessInfo({
        upid: { asid: this.#options.asid, pid: event.pid, startTimeTicks: event.startTimeTicks },
        containerId: event.containerId ?? '',
        // A placeholder until sent (resolved from the state then); checked for length here.
        podUid: event.podUid ?? (stop === 0n ? '?' : ''),
        commandLine: event.commandLine ?? '',
        startTimeNs: event.startTimeNs ?? 0n,
        stopTimeNs: stop,
        nodeName: '',
      });
    } catch (err) {
      throw new SdkInvalidArgumentError('process event', (err as Error).message);
    }
    if (event.podUid === undefined) info = { ...info, podUid: '' };
    this.#queue.push({ info, queuedAtMs: this.#options.clock.now() });
    while (this.#queue.length > this.#options.maxPending) {
      this.#queue.shift();
      this.#drop(1, 'the queue of process events was full (maxPendingProcessReports): the oldest was dropped');
    }
  }

  /** Sends what can be sent now (respecting the rate and a retry pause); resolves when done. */
  async flush(): Promise<void> {
    while (this.#sending) await this.#sending;
    for (let i = 0; i < 1_000 && this.#queue.length > 0; i++) {
      const before = this.#stats.sent + this.#stats.dropped;
      await this.#sendOnce();
      if (this.#stats.sent + this.#stats.dropped === before) return; // paused, rate-limited or holding
    }
  }

  close(): void {
    this.#stop.abort();
  }

  async #loop(): Promise<void> {
    const signal = this.#stop.signal;
    try {
      for (;;) {
        await this.#options.clock.sleep(this.#options.intervalMs, signal);
        if (this.#queue.length > 0) await this.flush();
      }
    } catch {
      // closed
    }
  }

  #sendOnce(): Promise<void> {
    this.#sending ??= this.#send().finally(() => (this.#sending = undefined));
    return this.#sending;
  }

  async #send(): Promise<void> {
    const now = this.#options.clock.now();
    if (now < this.#pauseUntilMs) return;
    this.#refill(now);
    const batch = this.#take(now, Math.min(MAX_PROCESSES_PER_REPORT, Math.floor(this.#tokens)));
    if (batch.length === 0) return;
    this.#tokens -= batch.length;
    let payload: Uint8Array;
    try {
      payload = encodeProcessReport({ nodeName: this.#options.node, processes: batch.map((p) => p.info) });
    } catch (err) {
      return this.#refused(batch.length, ProcessErrorCode.BAD_REQUEST, (err as Error).message);
    }
    try {
      const msg = await this.#options.connection.request(this.#options.subject, payload, { timeout: this.#options.timeoutMs });
      if (msg.headers?.code === 503) return this.#retryLater(batch, 0, `nobody answers on ${this.#options.subject}: is kubemeta running?`);
      const result = decodeProcessReportResponse(msg.data);
      if (result.ok) {
        this.#backoff.reset();
        this.#stats.sent += batch.length;
        this.#stats.accepted += result.accepted;
        for (const r of result.rejected) this.#refused(1, r.code, r.message);
        return;
      }
      const { code, message, retryAfterMs } = result.error;
      if (code === ProcessErrorCode.RATE_LIMITED) this.#stats.rateLimited++;
      if (code === ProcessErrorCode.RATE_LIMITED || code === ProcessErrorCode.UNAVAILABLE || code === ProcessErrorCode.INTERNAL) {
        return this.#retryLater(batch, retryAfterMs, message, code);
      }
      this.#stats.sent += batch.length;
      this.#refused(batch.length, code, message);
    } catch (err) {
      this.#retryLater(batch, 0, (err as Error).message);
    }
  }

  /** Up to `max` events ready to send, in order; starts whose container is unknown wait (bounded). */
  #take(now: number, max: number): Pending[] {
    const out: Pending[] = [];
    const keep: Pending[] = [];
    while (this.#queue.length > 0 && out.length < max) {
      const p = this.#queue.shift() as Pending;
      const info = p.info;
      if (info.stopTimeNs !== 0n || info.podUid !== '') {
        out.push(p);
        continue;
      }
      const podUid = this.#podOf(info.containerId);
      if (podUid !== undefined) out.push({ ...p, info: { ...info, podUid } });
      else if (now - p.queuedAtMs < this.#options.holdMs) keep.push(p);
      else this.#drop(1, `container ${info.containerId} of process ${info.upid.pid} did not appear in the agent's state within ${this.#options.holdMs} ms: not a container of this node`);
    }
    this.#queue.unshift(...keep);
    return out;
  }

  #podOf(containerId: string): string | undefined {
    const ix = this.#options.state.indexes;
    const c = ix.containers.get(containerId);
    if (c) return c.object.podUid;
    for (const uid of ix.pods.keysBy('containerId', containerId)) return uid;
    return undefined;
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.#options.burst, this.#tokens + ((now - this.#tokensAtMs) * this.#options.ratePerSec) / 1000);
    this.#tokensAtMs = now;
  }

  #retryLater(batch: Pending[], retryAfterMs: number, why: string, code: ProcessErrorCode = ProcessErrorCode.UNAVAILABLE): void {
    this.#queue.unshift(...batch);
    const delay = retryAfterMs > 0 ? Math.round(retryAfterMs * (1 + 0.5 * (this.#options.random ?? Math.random)())) : this.#backoff.next();
    this.#pauseUntilMs = this.#options.clock.now() + delay;
    this.#options.status.emit({ type: 'error', error: new ProcessReportRefusedError(`process report not taken now (${why}); sending again in ${delay} ms`, code, batch.length), retryInMs: delay });
  }

  #refused(events: number, code: ProcessErrorCode, message: string): void {
    this.#stats.rejected += events;
    this.#options.status.emit({ type: 'error', error: new ProcessReportRefusedError(`${processErrorName(code)}: ${message}`, code, events), retryInMs: undefined });
  }

  #drop(events: number, why: string): void {
    this.#stats.dropped += events;
    this.#options.status.emit({ type: 'error', error: new ProcessReportRefusedError(why, ProcessErrorCode.UNSPECIFIED, events), retryInMs: undefined });
  }
}
