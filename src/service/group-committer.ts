import { Backoff, ClosedError, InvalidArgumentError, silentLogger, toError, type Clock, type Logger, systemClock } from '../core/index.ts';
import { BatchTooLargeError, LogErrorCode, PartialCommitError, type CommittedBatch, type PendingUpdate, type UpdateLog } from '../log/index.ts';
import type { Projection } from '../project/index.ts';
import { reduceToState } from './state-batch.ts';

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
  /**
   * The log stopped for good (a newer leader fenced the store, or it failed): retrying cannot
   * help. The committer stops and drops what is pending; the service must stop too.
   */
  onFatal?: (err: Error) => void;
  /**
   * After each batch is handed to the publisher: how long each of its events waited since
   * add() (queueing, linger, store commit, publish), in seconds, and the store commit's own
   * duration. For the latency histograms.
   */
  onTimings?: (eventSeconds: readonly number[], commitSeconds: number) => void;
  /**
   * One event's updates did not fit one store commit (etcd's transaction limits) and were
   * committed in several: a crash between them would leave the event half in the store.
   * For a metric and a warning; raise the store's limits to avoid it.
   */
  onEventSplit?: (updates: number) => void;
  /**
   * Start by committing as current state — the initial sync of a new stream, which no consumer
   * can have followed: batches of up to `batchUpdates`, reduced to what their scopes hold at
   * their end (state-batch.ts), committed without history (CommitOptions.history false: the
   * log holds their current state until `endStateSync`'s `finish` raises the floor), and never
   * handed to `onCommitted`. `endStateSync` switches to history. Only for a store whose commits
   * have no size limit (LMDB): events are not kept apart in these batches.
   */
  asState?: { batchUpdates: number };
}

/** Log errors after which no commit can ever succeed on this log instance. */
const FATAL_CODES = new Set<string>([LogErrorCode.WRITER_FENCED, LogErrorCode.WRITER_CONFLICT, LogErrorCode.LOG_CLOSED]);

/** One add(): a projection's updates (never split), its aux state and resourceVersion. */
interface Entry {
  seq: number;
  /** performance.now() at add(). */
  addedAt: number;
  updates: PendingUpdate[];
  aux: Array<[string, Uint8Array | null]>;
  rv: [string, string] | undefined;
}

/** What one store commit carries: whole add()s, in order. */
interface Batch {
  updates: PendingUpdate[];
  meta: Map<string, Uint8Array | null>;
  resourceVersions: Map<string, string>;
  /** Sequence number of the last add() in the batch. */
  upTo: number;
  /** addedAt of each add() in the batch. */
  addedAt: number[];
}

/** Joins add()s into one commit's input (the last aux value and resourceVersion win). */
function assemble(entries: Entry[]): Batch {
  const batch: Batch = { updates: [], meta: new Map(), resourceVersions: new Map(), upTo: 0, addedAt: [] };
  for (const e of entries) {
    for (const u of e.updates) batch.updates.push(u);
    for (const [k, v] of e.aux) batch.meta.set(k, v);
    if (e.rv) batch.resourceVersions.set(e.rv[0], e.rv[1]);
    batch.upTo = e.seq;
    batch.addedAt.push(e.addedAt);
  }
  return batch;
}

/** How many leading entries hold at most `fits` updates (at least one entry). */
function prefixFitting(entries: readonly Entry[], fits: number): number {
  let n = 0;
  let updates = 0;
  for (const e of entries) {
    if (n > 0 && updates + e.updates.length > fits) break;
    updates += e.updates.length;
    n++;
  }
  return Math.max(n, 1);
}

/** A pending endStateSync(): add()s up to `upTo` are committed as state, then `finish` runs. */
interface StateEnd {
  upTo: number;
  finish: () => Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Outcome of one commit attempt loop. */
type CommitOutcome = 'done' | 'stopped' | BatchTooLargeError;

const AUX_PREFIX = 'aux/';

/**
 * Commits applied but not yet durable at most (pipelined commits): the next batch is built and
 * committed while earlier ones are flushed, and publishing follows each flush in order.
 */
const MAX_PIPELINED_COMMITS = 4;

/**
 * Group commit: updates from the source arrive one event at a time; this gathers them into
 * store transactions of up to `maxUpdates` (waiting up to `lingerMs` for more), so throughput
 * is not bounded by one transaction per update. Each transaction carries the updates, the aux
 * state and the source resourceVersions of the events they came from (docs/design.md §3, §6).
 *
 * `add` resolves when there is room, not when the data is committed: the reflector is slowed
 * down when the store falls behind (backpressure), and the buffer stays within two batches.
 * A failed commit is retried with backoff, never dropped: the projector's memory already
 * assumes these updates, and the next ones chain on them.
 */
export class GroupCommitter {
  readonly #options: GroupCommitterOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  #entries: Entry[] = [];
  #pendingUpdates = 0;
  #roomWaiters: Array<() => void> = [];
  #wake: (() => void) | undefined;
  #idleWaiters: Array<() => void> = [];
  #closed = false;
  #abandoned = false;
  #running: Promise<void>;
  #inFlight = false;
  /** add() calls so far, and how many of them are committed: barriers compare the two. */
  #added = 0;
  #committed = 0;
  #barriers: Array<{ target: number; resolve: () => void }> = [];
  /**
   * Publishing in version order: each committed batch is handed to the publisher only once it
   * is durable and every batch before it was handed over (docs/design.md §3).
   */
  #published: Promise<void> = Promise.resolve();
  /** Commits applied whose durability (and so their publishing) is pending. */
  #undurable: Array<Promise<void>> = [];
  /** Set while committing as state (GroupCommitterOptions.asState). */
  #asState: GroupCommitterOptions['asState'];
  /** endStateSync(): add()s up to `upTo` are committed as state, then `finish` runs. */
  #stateEnd: StateEnd | undefined;

  constructor(options: GroupCommitterOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.logger ?? silentLogger).child({ module: 'committer' });
    this.#asState = options.asState;
    this.#running = this.#loop();
  }

  /** Updates waiting to be committed. */
  get backlog(): number {
    return this.#pendingUpdates;
  }

  /**
   * Nothing added is waiting or being committed (and not in the initial sync): everything the
   * projector produced is applied to the store, so the projector equals the store at its head.
   */
  get idle(): boolean {
    return this.#entries.length === 0 && !this.#inFlight && this.#asState === undefined && !this.#closed;
  }

  /** True while committing as state (the initial sync of a new stream). */
  get committingState(): boolean {
    return this.#asState !== undefined;
  }

  /**
   * Ends committing as state: everything added so far is committed as state and durable, then
   * `finish` runs (the service raises the log's floor above these versions) before anything
   * added later is committed — as history, handed to `onCommitted`. Resolves after `finish`;
   * rejects (and stays in state mode) if `finish` fails. Resolves at once when not in state mode.
   */
  endStateSync(finish: () => Promise<void>): Promise<void> {
    if (!this.#asState) return Promise.resolve();
    if (this.#stateEnd) return Promise.reject(new InvalidArgumentError('endStateSync call', 'one is already running'));
    return new Promise<void>((resolve, reject) => {
      this.#stateEnd = { upTo: this.#added, finish, resolve, reject };
      this.#wake?.();
    });
  }

  /** Updates per batch now: larger while committing as state. */
  #batchLimit(): number {
    return this.#asState ? Math.max(this.#options.maxUpdates, this.#asState.batchUpdates) : this.#options.maxUpdates;
  }

  /**
   * Queues a projection and the resourceVersion it brings `kind` to (undefined while a LIST
   * is in progress: a crash mid-list must list again). Waits while the backlog is full.
   */
  async add(projection: Projection, kind?: string, resourceVersion?: string): Promise<void> {
    if (this.#closed) throw new ClosedError('group committer');
    const updates = projection.updates.map(
      (u): PendingUpdate => ({ objectKey: u.objectKey, payload: u.payload, scopes: u.scopes, state: u.state, kind: u.kind, viewOnly: u.viewOnly === true }),
    );
    const aux = projection.aux.map((a): [string, Uint8Array | null] => [AUX_PREFIX + a.key, a.value ?? null]);
    const rv: [string, string] | undefined = kind !== undefined && resourceVersion !== undefined ? [kind, resourceVersion] : undefined;
    if (updates.length === 0 && aux.length === 0 && rv === undefined) return;
    this.#entries.push({ seq: ++this.#added, addedAt: performance.now(), updates, aux, rv });
    this.#pendingUpdates += updates.length;
    this.#wake?.();
    while (this.#pendingUpdates >= 2 * this.#batchLimit() && !this.#closed) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
  }

  /**
   * Resolves once everything added before this call is committed and published, even while
   * more keeps arriving (the end of the initial sync under churn; flush() would wait for a
   * quiet moment that may never come).
   */
  barrier(): Promise<void> {
    const target = this.#added;
    if (this.#committed >= target) return Promise.resolve();
    return new Promise((resolve) => this.#barriers.push({ target, resolve }));
  }

  /** Resolves when everything added so far is committed and handed to the publisher. */
  async flush(): Promise<void> {
    for (;;) {
      while (this.#entries.length > 0 || this.#inFlight) {
        await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      }
      await this.#published;
      if (this.#entries.length === 0 && !this.#inFlight) return;
    }
  }

  /**
   * Stops without committing what is pending (the log is fenced or failed: those updates are
   * the successor's to commit, from its own watch). Unblocks every waiter.
   */
  abandon(): void {
    this.#abandoned = true;
    this.#closed = true;
    this.#entries = [];
    this.#pendingUpdates = 0;
    this.#wake?.();
    for (const w of this.#roomWaiters.splice(0)) w();
    this.#stateEnd?.reject(new ClosedError('group committer'));
    this.#stateEnd = undefined;
    this.#notifyIdle();
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
      const end = this.#stateEnd;
      if (end && (this.#entries[0]?.seq ?? Number.POSITIVE_INFINITY) > end.upTo) {
        this.#inFlight = true;
        await this.#finishStateSync(end);
        this.#inFlight = false;
        continue;
      }
      if (this.#entries.length === 0) {
        // flush() waits for the pending hand-overs itself: new entries are committed at once,
        // while earlier batches are still being flushed.
        this.#notifyIdle();
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      if (!this.#asState && this.#pendingUpdates < this.#options.maxUpdates && this.#options.lingerMs > 0) await this.#clock.sleep(this.#options.lingerMs);
      const entries = this.#take();
      this.#inFlight = true;
      if (this.#asState) await this.#commitAsState(entries, backoff);
      else await this.#commitEntries(entries, backoff);
      this.#inFlight = false;
    }
    await this.#published;
    this.#notifyIdle();
  }

  /**
   * Takes the next batch: whole add()s in order, up to `maxUpdates` updates (a larger single
   * projection goes alone). One event's updates — a pod and the namespace, owners and services
   * entering its node's scope — commit together or not at all: after a crash the projector is
   * rebuilt from the store and must find each event fully there or not at all. Each add's aux
   * state and resourceVersion commit with its updates, so a stored resourceVersion never
   * claims events that are not committed.
   */
  #take(): Entry[] {
    let taken = 0;
    let updates = 0;
    const limit = this.#batchLimit();
    // While committing as state, nothing added after endStateSync() joins a state batch.
    const upTo = this.#asState && this.#stateEnd ? this.#stateEnd.upTo : Number.POSITIVE_INFINITY;
    for (const e of this.#entries) {
      if (e.seq > upTo) break;
      if (taken > 0 && e.updates.length > 0 && updates + e.updates.length > limit) break;
      updates += e.updates.length;
      taken++;
    }
    const entries = this.#entries.slice(0, taken);
    this.#entries = this.#entries.slice(taken);
    this.#pendingUpdates -= updates;
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of waiters) w();
    return entries;
  }

  /**
   * Commits whole add()s, each batch atomically: on a store with per-commit limits (etcd) a
   * batch that needs several store commits is split here, between events, never inside one.
   * A leader fenced or killed between two store commits must leave every event fully in the
   * store or not at all — its successor rebuilds the projector from the store, and half an
   * event (a pod's tombstone without the exits it caused) would leave an object in a scope
   * forever. Only an event too big for one store commit is committed in parts (and reported).
   */
  async #commitEntries(entries: Entry[], backoff: Backoff): Promise<void> {
    let rest = entries;
    // Learnt from refusals: about how many updates one store commit holds, and a cap on the
    // entries of the next try at the same position (below the refused one), so each chunk is
    // planned about once instead of re-planning the whole remainder after every commit.
    let fits = Number.POSITIVE_INFINITY;
    let cap = Number.POSITIVE_INFINITY;
    while (rest.length > 0 && !this.#abandoned) {
      const n = Math.max(1, Math.min(prefixFitting(rest, fits), cap));
      const chunk = rest.slice(0, n);
      const outcome = await this.#commitWithRetry(assemble(chunk), backoff, true);
      if (outcome === 'stopped') return;
      if (outcome !== 'done') {
        if (n > 1) {
          fits = outcome.fits;
          cap = n - 1;
          continue;
        }
        const only = chunk[0] as Entry;
        this.#log.warn(
          { updates: only.updates.length, err: outcome },
          "one event's updates need several store commits: committing them in parts (raise etcd's --max-txn-ops / --max-request-bytes and the store's limits to avoid it)",
        );
        this.#options.onEventSplit?.(only.updates.length);
        if ((await this.#commitWithRetry(assemble(chunk), backoff, false)) === 'stopped') return;
      }
      rest = rest.slice(n);
      cap = Number.POSITIVE_INFINITY;
    }
  }

  /**
   * Commits one batch, retrying store failures with backoff until it is durable ('done'), the
   * log stopped for good ('stopped'), or — `atomic` — the batch needs several store commits
   * (the BatchTooLargeError, nothing committed).
   */
  async #commitWithRetry(batch: Batch, backoff: Backoff, atomic: boolean, asState = false): Promise<CommitOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        const started = performance.now();
        const committed = await this.#options.log.commit(batch.updates, {
          resourceVersions: Object.fromEntries(batch.resourceVersions),
          meta: { ...this.#options.extraMeta?.(), ...Object.fromEntries(batch.meta) },
          atomic,
          pipelined: true,
          history: !asState,
        });
        if (attempt > 1) this.#options.onStoreTrouble?.(false);
        backoff.reset();
        await this.#publishWhenDurable(committed, batch, started, !asState);
        return 'done';
      } catch (err) {
        if (err instanceof BatchTooLargeError) return err;
        if (err instanceof PartialCommitError) {
          // The store took the batch in parts (etcd's transaction limits) and a later part
          // failed: the committed prefix is durable and has its versions, so it is published
          // now and only the rest is committed again (retrying all would commit the prefix twice).
          const prefix = err.committed;
          this.#published = this.#published.then(() => this.#handOver(prefix));
          batch.updates = batch.updates.slice(err.committed.updates.length);
        }
        const cause = err instanceof PartialCommitError ? err.cause : err;
        const error = toError(cause);
        if (FATAL_CODES.has((cause as { code?: string } | undefined)?.code ?? '')) {
          this.#log.error({ err: error, updates: batch.updates.length }, 'the log stopped for good; the committer stops');
          this.abandon();
          this.#options.onFatal?.(error);
          return 'stopped';
        }
        this.#options.onStoreTrouble?.(true, error);
        const delay = backoff.next();
        this.#log.error({ err: error, attempt, delayMs: delay, updates: batch.updates.length }, 'store commit failed; retrying (nothing is published until it succeeds)');
        await this.#clock.sleep(delay);
      }
    }
  }

  /**
   * Queues the hand-over of a committed batch behind the earlier ones, once it is durable; waits
   * while too many commits are not durable yet (the pipeline's bound). A batch that cannot be
   * made durable stops the committer: the log has failed, and the successor (a restart) resumes
   * from what the store kept.
   */
  async #publishWhenDurable(committed: CommittedBatch, batch: Batch, started: number, handOver = true): Promise<void> {
    const durable = committed.durable ?? Promise.resolve();
    const { firstVersion, lastVersion } = committed;
    const upTo = batch.upTo;
    // A batch committed as state is never handed over: its updates and their payloads are not
    // kept until its flush (up to MAX_PIPELINED_COMMITS large batches of them).
    const handed = handOver ? { committed, addedAt: batch.addedAt } : undefined;
    // The previous hand-over never rejects (its failure is handled there): chain on it.
    this.#published = this.#published.then(() => durable).then(
      () => {
        if (handed) {
          this.#handOver(handed.committed);
          if (this.#options.onTimings) {
            const now = performance.now();
            this.#options.onTimings(handed.addedAt.map((t) => (now - t) / 1000), (now - started) / 1000);
          }
        }
        this.#markCommitted(upTo);
      },
      (err: unknown) => {
        if (this.#abandoned) return;
        const error = toError(err);
        this.#log.error({ err: error, firstVersion, lastVersion }, 'a committed batch could not be made durable; the committer stops');
        this.abandon();
        this.#options.onFatal?.(error);
      },
    );
    const settled = this.#published;
    this.#undurable.push(settled);
    void settled.finally(() => {
      this.#undurable = this.#undurable.filter((p) => p !== settled);
    });
    while (this.#undurable.length >= MAX_PIPELINED_COMMITS) await this.#undurable[0];
  }

  /**
   * Commits add()s as current state: one batch, reduced to its end state (state-batch.ts),
   * without history. Events are not kept apart here, so this is only for stores without
   * per-commit limits (where one batch is one store commit).
   */
  async #commitAsState(entries: Entry[], backoff: Backoff): Promise<void> {
    const batch = assemble(entries);
    batch.updates = reduceToState(batch.updates);
    const outcome = await this.#commitWithRetry(batch, backoff, true, true);
    if (outcome instanceof BatchTooLargeError) await this.#commitWithRetry(batch, backoff, false, true);
  }

  /** Waits until every state commit is durable, then runs endStateSync's `finish`. */
  async #finishStateSync(end: StateEnd): Promise<void> {
    await this.#published;
    try {
      await end.finish();
    } catch (err) {
      this.#stateEnd = undefined;
      end.reject(toError(err));
      return;
    }
    this.#asState = undefined;
    this.#stateEnd = undefined;
    end.resolve();
  }

  /**
   * Gives a durable batch to the publisher. Its failure must never look like a failed commit:
   * retrying would commit the same updates again under new versions.
   */
  #handOver(committed: CommittedBatch): void {
    try {
      this.#options.onCommitted(committed);
    } catch (err) {
      this.#log.error({ err: toError(err), firstVersion: committed.firstVersion, lastVersion: committed.lastVersion }, 'publishing a committed batch failed; consumers repair the gap by replay');
      process.emitWarning(`kubemeta: publishing versions ${committed.firstVersion}-${committed.lastVersion} failed: ${toError(err).message}`);
    }
  }

  #markCommitted(upTo: number): void {
    this.#committed = Math.max(this.#committed, upTo);
    const due = this.#barriers.filter((b) => b.target <= this.#committed);
    this.#barriers = this.#barriers.filter((b) => b.target > this.#committed);
    for (const b of due) b.resolve();
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}

export { AUX_PREFIX };
