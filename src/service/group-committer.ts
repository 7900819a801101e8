import { Backoff, ClosedError, silentLogger, toError, type Clock, type Logger, systemClock } from '../core/index.ts';
import type { CommittedBatch, PendingUpdate, UpdateLog } from '../log/index.ts';
import type { Projection } from '../project/index.ts';

export interface GroupCommitterOptions {
  log: UpdateLog;
  /** Called with every durable batch, in order (the publisher). Must not throw. */
  onCommitted: (batch: CommittedBatch) => void;
  maxUpdates: number;
  lingerMs: number;
  clock?: Clock;
  logger?: Logger;
  /** Reports a failing store (true) and its recovery (false), for /readyz and metrics. */
  onStoreTrouble?: (failing: boolean, err?: Error) => void;
  /** Metadata written with every commit (the publisher's confirmed position). */
  extraMeta?: () => Record<string, Uint8Array>;
}

interface Pending {
  updates: PendingUpdate[];
  meta: Map<string, Uint8Array | null>;
  resourceVersions: Map<string, string>;
}

const AUX_PREFIX = 'aux/';

/**
 * Group commit: updates from the source arrive one event at a time; this gathers them into
 * store transactions of up to `maxUpdates` (waiting up to `lingerMs` for more), so throughput
 * is not bounded by one transaction per update. Each transaction carries the updates, the aux
 * state and the source resourceVersions of the events they came from (design §3, §6).
 *
 * `add` resolves when there is room, not when the data is committed: the reflector is slowed
 * down when the store falls behind (backpressure), and the buffer stays within two batches.
 * A failed commit is retried with backoff, never dropped: the projector's memory already
 * assumes these updates, and the next ones chain on them.
 */
export class GroupCommitter {
  readonly #o: GroupCommitterOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  #pending: Pending = emptyPending();
  #roomWaiters: Array<() => void> = [];
  #wake: (() => void) | undefined;
  #idleWaiters: Array<() => void> = [];
  #closed = false;
  #running: Promise<void>;
  #inFlight = false;

  constructor(options: GroupCommitterOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.logger ?? silentLogger).child({ module: 'committer' });
    this.#running = this.#loop();
  }

  /** Updates waiting to be committed. */
  get backlog(): number {
    return this.#pending.updates.length;
  }

  /**
   * Queues a projection and the resourceVersion it brings `kind` to (undefined while a LIST
   * is in progress: a crash mid-list must list again). Waits while the backlog is full.
   */
  async add(projection: Projection, kind?: string, resourceVersion?: string): Promise<void> {
    if (this.#closed) throw new ClosedError('group committer');
    const p = this.#pending;
    for (const u of projection.updates) p.updates.push({ objectKey: u.objectKey, payload: u.payload, scopes: u.scopes, state: u.state, kind: u.kind });
    for (const a of projection.aux) p.meta.set(AUX_PREFIX + a.key, a.value ?? null);
    if (kind !== undefined && resourceVersion !== undefined) p.resourceVersions.set(kind, resourceVersion);
    this.#wake?.();
    while (this.#pending.updates.length >= 2 * this.#o.maxUpdates && !this.#closed) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
  }

  /** Resolves when everything added so far is committed and handed to the publisher. */
  async flush(): Promise<void> {
    while (!isEmpty(this.#pending) || this.#inFlight) {
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
  }

  /** Commits what is pending, then stops. Graceful shutdown loses nothing that was added. */
  async close(): Promise<void> {
    if (this.#closed) return this.#running;
    await this.flush();
    this.#closed = true;
    this.#wake?.();
    await this.#running;
  }

  async #loop(): Promise<void> {
    const backoff = new Backoff({ initialMs: 100, maxMs: 10_000 });
    while (!this.#closed) {
      if (isEmpty(this.#pending)) {
        this.#notifyIdle();
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      if (this.#pending.updates.length < this.#o.maxUpdates && this.#o.lingerMs > 0) await this.#clock.sleep(this.#o.lingerMs);
      const batch = this.#take();
      this.#inFlight = true;
      await this.#commitWithRetry(batch, backoff);
      this.#inFlight = false;
    }
    this.#notifyIdle();
  }

  #take(): Pending {
    const p = this.#pending;
    if (p.updates.length <= this.#o.maxUpdates) {
      this.#pending = emptyPending();
    } else {
      // Only the updates are split; aux state and resourceVersions ride with the last part,
      // so a stored resourceVersion never claims events that are not yet committed.
      this.#pending = { updates: p.updates.slice(this.#o.maxUpdates), meta: p.meta, resourceVersions: p.resourceVersions };
      p.updates = p.updates.slice(0, this.#o.maxUpdates);
      p.meta = new Map();
      p.resourceVersions = new Map();
    }
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of waiters) w();
    return p;
  }

  async #commitWithRetry(batch: Pending, backoff: Backoff): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const committed = await this.#o.log.commit(batch.updates, {
          resourceVersions: Object.fromEntries(batch.resourceVersions),
          meta: { ...this.#o.extraMeta?.(), ...Object.fromEntries(batch.meta) },
        });
        if (attempt > 1) this.#o.onStoreTrouble?.(false);
        backoff.reset();
        this.#o.onCommitted(committed);
        return;
      } catch (err) {
        const error = toError(err);
        this.#o.onStoreTrouble?.(true, error);
        const delay = backoff.next();
        this.#log.error({ err: error, attempt, delayMs: delay, updates: batch.updates.length }, 'store commit failed; retrying (nothing is published until it succeeds)');
        await this.#clock.sleep(delay);
      }
    }
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}

function emptyPending(): Pending {
  return { updates: [], meta: new Map(), resourceVersions: new Map() };
}

function isEmpty(p: Pending): boolean {
  return p.updates.length === 0 && p.meta.size === 0 && p.resourceVersions.size === 0;
}

export { AUX_PREFIX };
