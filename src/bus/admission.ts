import type { Clock } from '../core/index.ts';
import { RequestErrorCode } from '../schema/index.ts';
import { RequestRefusedError } from './errors.ts';

export interface AdmissionConfig {
  /** Answers streaming at the same time, all requesters together. */
  readonly maxConcurrent: number;
  /** Admitted requests waiting for a slot; beyond it requests get BUSY at once. */
  readonly maxQueued: number;
  /** A request that waited this long for a slot gets BUSY (its requester has likely given up). */
  readonly maxQueueWaitMs: number;
  /** retry_after_ms advised with BUSY when the whole server is full. */
  readonly busyRetryAfterMs: number;
  /** Sustained requests per second per requester (token bucket refill). */
  readonly requesterRatePerSec: number;
  /** Requests a requester may send in a burst (token bucket size). */
  readonly requesterBurst: number;
  /** Answers one requester may have running or queued at once. */
  readonly maxAnswersPerRequester: number;
  /** Requesters whose buckets are remembered; idle ones are forgotten first. */
  readonly maxTrackedRequesters: number;
}

/** A granted slot; `release()` exactly once when the answer is over. */
export interface Slot {
  release(): void;
}

interface Requester {
  tokens: number;
  refilledAtMs: number;
  /** Answers of this requester running or queued. */
  open: number;
}

interface Waiter {
  readonly requester: Requester;
  readonly grant: (slot: Slot) => void;
  readonly refuse: (err: Error) => void;
  readonly timer: AbortController;
}

function busy(message: string, retryAfterMs: number): RequestRefusedError {
  return new RequestRefusedError({ code: RequestErrorCode.BUSY, message, retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) });
}

/**
 * Admission of replay answers (issue 4: a whole cluster restarting at once is served without
 * the service falling over). Three bounds, each answered with BUSY + retry_after_ms:
 * - a per-requester token bucket (rate and burst) and a cap on its open answers, so one
 *   requester cannot take the share of others;
 * - a global cap on concurrent answers, with a bounded FIFO of waiting requests;
 * - a bound on how long a request waits in that FIFO.
 * Memory is bounded: the FIFO by `maxQueued`, the requester table by `maxTrackedRequesters`
 * (docs/design.md §11: no requester holds the others back, none grows the service's memory).
 */
export class Admission {
  readonly #config: AdmissionConfig;
  readonly #clock: Clock;
  readonly #requesters = new Map<string, Requester>();
  readonly #queue: Waiter[] = [];
  #running = 0;
  #peak = 0;
  #closed: Error | undefined;

  constructor(config: AdmissionConfig, clock: Clock) {
    this.#config = config;
    this.#clock = clock;
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queue.length;
  }

  get peakRunning(): number {
    return this.#peak;
  }

  /**
   * Waits for a slot for `requesterId`. Rejects with RequestRefusedError BUSY (rate, per-requester
   * cap, full queue, queued too long) or with the close reason after `close()`.
   */
  admit(requesterId: string): Promise<Slot> {
    try {
      return this.#admit(requesterId);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  #admit(requesterId: string): Promise<Slot> {
    if (this.#closed) throw this.#closed;
    const requester = this.#requester(requesterId);
    this.#takeToken(requester);
    if (requester.open >= this.#config.maxAnswersPerRequester) {
      throw busy(`this requester already has ${requester.open} replay answers open; wait for them before asking again`, this.#config.busyRetryAfterMs);
    }
    if (this.#running < this.#config.maxConcurrent) return Promise.resolve(this.#grant(requester));
    if (this.#queue.length >= this.#config.maxQueued) {
      throw busy(`the replay server is answering ${this.#running} requests with ${this.#queue.length} waiting; retry later`, this.#config.busyRetryAfterMs);
    }
    requester.open++;
    return new Promise<Slot>((grant, refuse) => {
      const waiter: Waiter = { requester, grant, refuse, timer: new AbortController() };
      this.#queue.push(waiter);
      this.#clock.sleep(this.#config.maxQueueWaitMs, waiter.timer.signal).then(
        () => this.#expire(waiter),
        () => undefined,
      );
    });
  }

  /** Refuses every waiting request with `reason`, and every later one. Running slots stay valid. */
  close(reason: Error): void {
    this.#closed ??= reason;
    for (const waiter of this.#queue.splice(0)) {
      waiter.timer.abort();
      waiter.requester.open--;
      waiter.refuse(reason);
    }
  }

  #grant(requester: Requester, alreadyOpen = false): Slot {
    this.#running++;
    this.#peak = Math.max(this.#peak, this.#running);
    if (!alreadyOpen) requester.open++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#running--;
        requester.open--;
        this.#next();
      },
    };
  }

  #next(): void {
    while (this.#running < this.#config.maxConcurrent && !this.#closed) {
      const waiter = this.#queue.shift();
      if (!waiter) return;
      waiter.timer.abort();
      waiter.grant(this.#grant(waiter.requester, true));
    }
  }

  #expire(waiter: Waiter): void {
    const i = this.#queue.indexOf(waiter);
    if (i < 0) return;
    this.#queue.splice(i, 1);
    waiter.requester.open--;
    waiter.refuse(busy(`the request waited ${this.#config.maxQueueWaitMs} ms for a free replay slot; retry later`, this.#config.busyRetryAfterMs));
  }

  /** Token bucket: throws BUSY with the time until the next token when the bucket is empty. */
  #takeToken(requester: Requester): void {
    const { requesterRatePerSec: rate, requesterBurst: burst } = this.#config;
    const now = this.#clock.now();
    requester.tokens = Math.min(burst, requester.tokens + ((now - requester.refilledAtMs) * rate) / 1000);
    requester.refilledAtMs = now;
    if (requester.tokens >= 1) {
      requester.tokens -= 1;
      return;
    }
    const waitMs = ((1 - requester.tokens) * 1000) / rate;
    throw busy(`this requester exceeded ${rate} replay requests per second (burst ${burst}); slow down`, waitMs);
  }

  #requester(id: string): Requester {
    let r = this.#requesters.get(id);
    if (r) {
      // Re-insert: Map order then runs from least to most recently used.
      this.#requesters.delete(id);
      this.#requesters.set(id, r);
      return r;
    }
    if (this.#requesters.size >= this.#config.maxTrackedRequesters) this.#forgetIdle();
    r = { tokens: this.#config.requesterBurst, refilledAtMs: this.#clock.now(), open: 0 };
    this.#requesters.set(id, r);
    return r;
  }

  /**
   * Forgets the least recently used requesters without open answers. Forgetting one refills its
   * bucket; with the table large enough for every live requester that costs nothing.
   */
  #forgetIdle(): void {
    const target = Math.floor(this.#config.maxTrackedRequesters * 0.9);
    for (const [id, r] of this.#requesters) {
      if (this.#requesters.size <= target) return;
      if (r.open === 0) this.#requesters.delete(id);
    }
  }
}
