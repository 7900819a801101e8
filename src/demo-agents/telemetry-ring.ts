import type { Upid } from '../schema/index.ts';
import { TelemetryInvalidArgumentError } from '../telemetry/index.ts';

/** One synthetic HTTP request as an agent records it: the process, never a name (design: names come at query time). */
export interface TelemetryRow {
  readonly upid: Upid;
  readonly timestampMs: number;
  readonly latencyMs: number;
  readonly status: number;
}

/**
 * A bounded ring of telemetry rows, column by column (typed arrays for the numbers, one shared
 * Upid object per process), so an agent's memory is fixed by `capacity` whatever the rate: the
 * newest row overwrites the oldest. Rows hold UPIDs only; hydration turns them into names when
 * a query runs, against the metadata of that moment (stopped pods stay resolvable for the SDK's
 * retention window).
 */
export class TelemetryRing {
  readonly capacity: number;
  readonly #upids: Array<Upid | undefined>;
  readonly #timestamps: Float64Array;
  readonly #latencies: Float32Array;
  readonly #statuses: Uint16Array;
  #next = 0;
  #size = 0;
  #recorded = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 10_000_000) {
      throw new TelemetryInvalidArgumentError('ringCapacity', `must be an integer in [1, 10,000,000], got ${String(capacity)}`);
    }
    this.capacity = capacity;
    this.#upids = new Array<Upid | undefined>(capacity);
    this.#timestamps = new Float64Array(capacity);
    this.#latencies = new Float32Array(capacity);
    this.#statuses = new Uint16Array(capacity);
  }

  /** Rows held now (≤ capacity). */
  get size(): number {
    return this.#size;
  }

  /** Rows ever recorded (held + overwritten). */
  get recorded(): number {
    return this.#recorded;
  }

  push(upid: Upid, timestampMs: number, latencyMs: number, status: number): void {
    const i = this.#next;
    this.#upids[i] = upid;
    this.#timestamps[i] = timestampMs;
    this.#latencies[i] = latencyMs;
    this.#statuses[i] = status;
    this.#next = i + 1 === this.capacity ? 0 : i + 1;
    if (this.#size < this.capacity) this.#size++;
    this.#recorded++;
  }

  /**
   * The slots of rows with fromMs < timestamp ≤ toMs, oldest first, written into `slots` and
   * their UPIDs into `upids` (both reused across calls; their length is set to the count).
   */
  window(fromMs: number, toMs: number, slots: number[], upids: Upid[]): number {
    let n = 0;
    const start = this.#size < this.capacity ? 0 : this.#next;
    for (let k = 0; k < this.#size; k++) {
      const i = (start + k) % this.capacity;
      const ts = this.#timestamps[i] as number;
      if (ts <= fromMs || ts > toMs) continue;
      slots[n] = i;
      upids[n] = this.#upids[i] as Upid;
      n++;
    }
    slots.length = n;
    upids.length = n;
    return n;
  }

  /** Timestamp of the oldest row held, or undefined when empty. */
  oldestTimestamp(): number | undefined {
    if (this.#size === 0) return undefined;
    return this.#timestamps[this.#size < this.capacity ? 0 : this.#next] as number;
  }

  latencyAt(slot: number): number {
    return this.#latencies[slot] as number;
  }

  statusAt(slot: number): number {
    return this.#statuses[slot] as number;
  }

  /** Every row held, oldest first (a copy: for tests and debugging, not for queries). */
  rows(): TelemetryRow[] {
    const out: TelemetryRow[] = [];
    const start = this.#size < this.capacity ? 0 : this.#next;
    for (let k = 0; k < this.#size; k++) {
      const i = (start + k) % this.capacity;
      out.push({ upid: this.#upids[i] as Upid, timestampMs: this.#timestamps[i] as number, latencyMs: this.#latencies[i] as number, status: this.#statuses[i] as number });
    }
    return out;
  }
}
