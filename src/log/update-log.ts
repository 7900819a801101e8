import { InvalidArgumentError, silentLogger, systemClock, type Clock, type Logger } from '../core/index.ts';
import { planBatch, stateKeysOf, type PlannedPart } from './commit-plan.ts';
import { compact, type CompactionHost } from './compaction.ts';
import { BatchTooLargeError, LogError, LogErrorCode, PartialCommitError, isStoreError } from './errors.ts';
import {
  FLOOR_KEY,
  HEAD_KEY,
  META_PREFIX,
  checkMetaName,
  checkObjectKey,
  escapeSegment,
  metaKey,
  nameFromKey,
  objectKeyFromTableKey,
  objectKeyOf,
  objectRange,
} from './keys.ts';
import { loadOrCreate, readDurableState, type DurableState } from './log-state.ts';
import { readPayloads } from './payloads.ts';
import { decodeState, encodeNumber } from './record-codec.ts';
import { SerialQueue } from './serial-queue.ts';
import { openSnapshot } from './snapshot.ts';
import { StateSpool } from './state-spool.ts';
import { keyAfter, prefixRange, type CommitGuard, type StoreOp, type StoreReader, type UpdateStore } from './store.ts';
import { readHistory, readTail } from './tail.ts';
import type {
  CommitOptions,
  CommittedBatch,
  CommittedUpdate,
  CompactionResult,
  CompactOptions,
  LogState,
  LogStats,
  ObjectRecord,
  PendingUpdate,
  ReadTailOptions,
  ScopedEntry,
  SnapshotReader,
  TailPage,
  UpdateLogOptions,
} from './types.ts';
import { checkBatch } from './validate.ts';

const DEFAULT_MAX_QUEUED_COMMITS = 64;
const DEFAULT_PAGE = 1000;
const MAX_PAGE = 100_000;

function checkPage(limit: number | undefined): number {
  const n = limit ?? DEFAULT_PAGE;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw new InvalidArgumentError('limit', `must be an integer in 1..${MAX_PAGE}`);
  return n;
}

/** State entries per store commit when the spool is written (see #writeSpooledState for why so few). */
const STATE_WRITE_OPS = 10_000;

/**
 * The durable, versioned update log (docs/design.md §1–4, §7, §8).
 *
 * Guarantees:
 * - §1 Versions: `commit` assigns head+1, head+2, … in batch order, strictly increasing across
 *   the stream, never reused: the head is stored in the same atomic store commit as the updates,
 *   every commit is guarded on the stored head (one writer), and after a failure whose outcome
 *   is unknown the heads are re-read from the store before the next commit.
 * - §2 Chains: each update's prevVersion per scope is the scope's previous version (0 first),
 *   also across batches, restarts and compaction (scope heads are stored apart from history).
 * - §3 Commit before publish: `commit` resolves only once the batch is durable, and only then
 *   do the in-memory heads move; the returned CommittedBatch is what may be published. A failed
 *   commit changes nothing: the next commit uses the same versions (never durable, never
 *   published, so not a reuse).
 * - §4 Replay: `readTail` pages a scope's tail and throws HistoryCompactedError when compaction
 *   dropped part of it; `openSnapshot` gives the scope's state at a version to continue from.
 * - §7 Stream identity: `streamId` is created with the store and survives reopening.
 * - §8 Objects are keyed by `<kind>/<uid>`.
 *
 * Commits (and compaction steps) run one at a time; up to `maxQueuedCommits` callers wait.
 * The log does not own the store: close the store after closing the log.
 */
export class UpdateLog {
  readonly streamId: string;
  readonly #store: UpdateStore;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #queue: SerialQueue;
  readonly #fence: CommitGuard | undefined;
  #head: number;
  #floor: number;
  #scopeHeads: Map<string, number>;
  #resourceVersions: Map<string, string>;
  #state: LogState = 'open';
  #failure: Error | undefined;
  #needsReload = false;
  readonly #counters = { commits: 0, updatesCommitted: 0, failedCommits: 0, lastCommitMs: undefined as number | undefined };
  readonly #byKind = new Map<string, number>();
  /** c/ and o/ entries of commits made as state, written by raiseFloor (state-spool.ts). */
  readonly #spool = new StateSpool();

  private constructor(store: UpdateStore, durable: DurableState, options: UpdateLogOptions, logger: Logger) {
    this.#store = store;
    this.#clock = options.clock ?? systemClock;
    this.#logger = logger;
    this.#queue = new SerialQueue(options.maxQueuedCommits ?? DEFAULT_MAX_QUEUED_COMMITS);
    this.#fence = options.fence;
    this.streamId = durable.streamId;
    this.#head = durable.head;
    this.#floor = durable.floor;
    this.#scopeHeads = durable.scopeHeads;
    this.#resourceVersions = durable.resourceVersions;
  }

  /** Opens the log in `store`, creating it (with a new stream id) when the store is empty. */
  static async open(store: UpdateStore, options: UpdateLogOptions = {}): Promise<UpdateLog> {
    const logger = (options.logger ?? silentLogger).child({ module: 'log' });
    const durable = await loadOrCreate(store, logger, options.fence);
    return new UpdateLog(store, durable, options, logger);
  }

  /** The last committed version (0: none yet). */
  get head(): number {
    return this.#head;
  }

  /** History below this version was compacted away. */
  get floor(): number {
    return this.#floor;
  }

  get state(): LogState {
    return this.#state;
  }

  /** The last version committed on `scope` (0: none). */
  scopeHead(scope: string): number {
    return this.#scopeHeads.get(scope) ?? 0;
  }

  /** Every scope that ever had an update. */
  scopes(): string[] {
    return [...this.#scopeHeads.keys()];
  }

  /** Source resourceVersions per kind, as committed with the last batch that carried them. */
  resourceVersions(): Readonly<Record<string, string>> {
    return Object.freeze(Object.fromEntries(this.#resourceVersions));
  }

  /**
   * Commits `updates` (possibly none: then only resourceVersions/meta) atomically and durably,
   * and returns what to publish. Throws InvalidArgumentError before queueing on bad input;
   * StoreError (nothing applied); PartialCommitError when a batch too big for one store commit
   * failed after some parts committed; LogError LOG_WRITER_CONFLICT (the log stops) when
   * another writer moved the stored head.
   */
  async commit(updates: readonly PendingUpdate[], options: CommitOptions = {}): Promise<CommittedBatch> {
    this.#checkOpen();
    checkBatch(updates, options);
    return this.#queue.run(async () => {
      await this.#prepare();
      return this.#commitBatch(updates, options);
    }, options.signal);
  }

  async #commitBatch(updates: readonly PendingUpdate[], options: CommitOptions): Promise<CommittedBatch> {
    if (this.#head + updates.length > Number.MAX_SAFE_INTEGER) {
      throw new LogError(
        LogErrorCode.VERSION_EXHAUSTED,
        `versions would pass ${Number.MAX_SAFE_INTEGER} (head ${this.#head}); start a new store (new stream id)`,
      );
    }
    const current = await this.#currentVersions(updates);
    const committedAtMs = this.#clock.now();
    const asState = options.history === false;
    const parts = planBatch({
      head: this.#head,
      floor: this.#floor,
      currentVersion: (key) => current.get(key),
      scopeHead: (scope) => this.scopeHead(scope),
      updates,
      committedAtMs,
      resourceVersions: options.resourceVersions,
      meta: options.meta,
      limits: this.#store.limits,
      index: !asState,
      deferState: asState,
    });
    if (options.atomic === true && parts.length > 1) {
      throw new BatchTooLargeError(updates.length, parts.length, parts[0]?.updates.length ?? 0, this.#store.location, this.#store.limits);
    }
    if (options.pipelined === true && parts.length === 1 && this.#store.commitApplied) {
      return this.#commitPipelined(parts[0] as PlannedPart, options, committedAtMs, updates.length);
    }
    const done: CommittedUpdate[] = [];
    for (const part of parts) {
      try {
        if (part.ops.length > 0) await this.#storeCommit(part.ops, options.guard);
      } catch (err) {
        this.#counters.failedCommits++;
        this.#logger.warn({ err, version: this.#head + 1, updates: updates.length }, 'commit failed');
        if (done.length === 0) throw err;
        throw new PartialCommitError(this.#batch(done, committedAtMs), updates.length - done.length, err);
      }
      this.#apply(part);
      done.push(...part.updates);
    }
    this.#count(done, committedAtMs);
    return this.#batch(done, committedAtMs);
  }

  /**
   * Versions the state keys of `updates` hold now, so that planning can mark history records
   * below the floor that lose a reference (see keys.ts). Nothing is below the floor before the
   * first compaction, so the read is skipped then.
   */
  async #currentVersions(updates: readonly PendingUpdate[]): Promise<Map<string, number>> {
    const current = new Map<string, number>();
    if (this.#floor <= 1) return current;
    // The store's versions also while a sync's state is held (state-spool.ts): what the spool
    // holds was committed after the floor (compaction waits for it), so only the stored entry
    // it replaces can be a pinned record below the floor.
    const keys = [...new Set(updates.flatMap(stateKeysOf))];
    const values = await this.#store.getMany(keys);
    values.forEach((value, i) => {
      const key = keys[i] as string;
      if (value !== undefined) current.set(key, decodeState(value, key).version);
    });
    return current;
  }

  /**
   * One store commit that resolves once applied: heads move at once (the next commit's guard is
   * this one's head), and the batch carries `durable`. A failed flush fails the log: what was
   * applied may not survive a power loss, and later commits would chain on it.
   */
  async #commitPipelined(part: PlannedPart, options: CommitOptions, committedAtMs: number, count: number): Promise<CommittedBatch> {
    if (part.ops.length === 0) {
      this.#apply(part);
      return { ...this.#batch(part.updates, committedAtMs), durable: Promise.resolve() };
    }
    let applied: { durable: Promise<void> };
    try {
      applied = await (this.#store.commitApplied as NonNullable<UpdateStore['commitApplied']>).call(this.#store, part.ops, this.#guards(options.guard));
    } catch (err) {
      this.#counters.failedCommits++;
      this.#logger.warn({ err, version: this.#head + 1, updates: count }, 'commit failed');
      throw this.#onStoreFailure(err);
    }
    this.#apply(part);
    this.#count(part.updates, committedAtMs);
    const durable = applied.durable.catch((err: unknown) => {
      const error = new LogError(
        LogErrorCode.LOG_CLOSED,
        `the store ${this.#store.location} could not make committed versions durable (${String((err as Error)?.message ?? err)}); ` +
          'the log stopped: restart the service, it resumes from what the store kept',
        { cause: err },
      );
      this.#fail(error);
      throw error;
    });
    durable.catch(() => undefined);
    return { ...this.#batch(part.updates, committedAtMs), durable };
  }

  /** The fence, the log's head guard (one writer) and the caller's guard, in that order. */
  #guards(guard: CommitGuard | undefined): CommitGuard[] {
    // The fence first: when a successor has both claimed the store and committed, the store
    // reports the first guard that fails, and "deposed" is the accurate reason.
    const guards: CommitGuard[] = this.#fence ? [this.#fence] : [];
    guards.push({ key: HEAD_KEY, equals: encodeNumber(this.#head) });
    if (guard) guards.push(guard);
    return guards;
  }

  /** Store commit with the log's head guard (one writer) and the caller's fencing guard. */
  async #storeCommit(ops: readonly StoreOp[], guard: CommitGuard | undefined): Promise<void> {
    try {
      await this.#store.commit(ops, this.#guards(guard));
    } catch (err) {
      throw this.#onStoreFailure(err);
    }
  }

  #onStoreFailure(err: unknown): unknown {
    if (this.#fence && isStoreError(err, LogErrorCode.GUARD_FAILED) && err.key === this.#fence.key) {
      const fenced = new LogError(
        LogErrorCode.WRITER_FENCED,
        `a newer leader claimed the store ${this.#store.location}: this log was deposed and stopped (nothing more is committed)`,
        { cause: err },
      );
      this.#fail(fenced);
      return fenced;
    }
    if (isStoreError(err, LogErrorCode.GUARD_FAILED) && err.key === HEAD_KEY) {
      const conflict = new LogError(
        LogErrorCode.WRITER_CONFLICT,
        `another writer advanced the log in ${this.#store.location} past version ${this.#head}; this log instance ` +
          'stopped. Only one kubemeta may write a store (with HA, only the leader): reopen the log',
        { cause: err },
      );
      this.#fail(conflict);
      return conflict;
    }
    // Unknown outcome (ambiguous, or not even a StoreError): re-read the heads before the next
    // commit, so a commit that did apply is never followed by one reusing its versions (§1).
    if (!isStoreError(err) || err.ambiguous) this.#needsReload = true;
    return err;
  }

  #apply(part: PlannedPart): void {
    this.#spool.add(part.state, part.heldOps);
    this.#head = part.head;
    for (const [scope, version] of part.scopeHeads) this.#scopeHeads.set(scope, version);
    for (const [kind, rv] of Object.entries(part.resourceVersions ?? {})) this.#resourceVersions.set(kind, rv);
  }

  #count(done: readonly CommittedUpdate[], atMs: number): void {
    this.#counters.commits++;
    this.#counters.updatesCommitted += done.length;
    this.#counters.lastCommitMs = atMs;
    for (const u of done) if (u.kind !== undefined) this.#byKind.set(u.kind, (this.#byKind.get(u.kind) ?? 0) + 1);
  }

  #batch(done: readonly CommittedUpdate[], committedAtMs: number): CommittedBatch {
    const byScope = new Map<string, ScopedEntry[]>();
    for (const u of done) {
      for (const { scope, prevVersion } of u.scopes) {
        let list = byScope.get(scope);
        if (!list) byScope.set(scope, (list = []));
        list.push({ version: u.version, prevVersion, payload: u.payload });
      }
    }
    const first = done[0];
    const last = done.at(-1);
    return {
      streamId: this.streamId,
      firstVersion: first ? first.version : this.#head + 1,
      lastVersion: last ? last.version : this.#head,
      committedAtMs,
      updates: done,
      byScope,
    };
  }

  /** Runs before every exclusive turn: refuses after close, re-reads heads if needed. */
  async #prepare(): Promise<void> {
    this.#checkOpen();
    if (!this.#needsReload) return;
    const durable = await readDurableState(this.#store, this.#store.location);
    if (!durable || durable.streamId !== this.streamId) {
      const err = new LogError(
        LogErrorCode.STORE_UNRECOGNIZED,
        `the store at ${this.#store.location} no longer holds stream ${this.streamId}; reopen the log`,
      );
      this.#fail(err);
      throw err;
    }
    this.#logger.warn({ version: durable.head, previous: this.#head }, 'reloaded log heads after a commit with unknown outcome');
    this.#head = durable.head;
    this.#floor = durable.floor;
    this.#scopeHeads = durable.scopeHeads;
    this.#resourceVersions = durable.resourceVersions;
    this.#needsReload = false;
  }

  /** One page of `scope`'s updates after `after` (see tail.ts). */
  readTail(scope: string, after: number, options: ReadTailOptions = {}): Promise<TailPage> {
    this.#checkReadable();
    return readTail(this.#store, scope, after, options);
  }

  /**
   * Up to `limit` committed updates of the whole stream after `after`, in version order, with
   * their scopes and prevVersions — for the publisher's catch-up after an outage or a restart.
   * Throws HistoryCompactedError (scope '*') when part of the range was compacted (see tail.ts).
   */
  readHistory(after: number, limit = 1000): Promise<CommittedUpdate[]> {
    this.#checkReadable();
    return readHistory(this.#store, after, limit);
  }

  /**
   * A consistent snapshot of `scope`'s current state (see SnapshotReader); with
   * `objectKeyPrefix` (e.g. `Node/`), only the objects whose key starts with it.
   */
  openSnapshot(scope: string, options: { objectKeyPrefix?: string } = {}): Promise<SnapshotReader> {
    this.#checkReadable();
    if (this.#spool.size > 0) return Promise.reject(this.#statePending('a snapshot'));
    return openSnapshot(this.#store, scope, this.streamId, options.objectKeyPrefix ?? '');
  }

  /**
   * History below `floor` (at most head + 1) is no longer available as tails: consumers behind
   * it get a snapshot, the publisher's catch-up skips it. Commits the floor with `meta` (null
   * deletes) atomically; a floor at or below the current one changes only the meta. For the
   * end of an initial sync committed as state (CommitOptions.history false): the current state
   * those commits set is written first, in key order (state-spool.ts).
   */
  async raiseFloor(floor: number, meta: Readonly<Record<string, Uint8Array | null>> = {}): Promise<void> {
    this.#checkOpen();
    if (!Number.isSafeInteger(floor) || floor < 1) throw new InvalidArgumentError('floor', `must be a positive safe integer, got ${String(floor)}`);
    await this.#queue.run(async () => {
      await this.#prepare();
      if (floor > this.#head + 1) throw new InvalidArgumentError('floor', `must be at most head + 1 (${this.#head + 1}), got ${floor}`);
      await this.#writeSpooledState();
      const next = Math.max(this.#floor, floor);
      const ops: StoreOp[] = [{ type: 'put', key: FLOOR_KEY, value: encodeNumber(next) }];
      for (const [name, value] of Object.entries(meta)) {
        checkMetaName(name);
        ops.push(value === null ? { type: 'delete', key: metaKey(name) } : { type: 'put', key: metaKey(name), value });
      }
      await this.#storeCommit(ops, undefined);
      this.#floor = next;
    });
  }

  /**
   * Drops history outside the window and expired tombstones, in bounded steps. Does nothing
   * while the state of commits made as state is held (it decides what current state pins).
   */
  async compact(options: CompactOptions = {}): Promise<CompactionResult> {
    this.#checkOpen();
    if (this.#spool.pending) return { floor: this.#floor, historyDropped: 0, pinnedCollected: 0, tombstonesDropped: 0, commits: 0 };
    const host: CompactionHost = {
      store: this.#store,
      head: () => this.#head,
      floor: () => this.#floor,
      now: () => this.#clock.now(),
      exclusive: (task, signal) =>
        this.#queue.run(async () => {
          await this.#prepare();
          return task();
        }, signal),
      commit: (ops, guard) => this.#storeCommit(ops, guard),
      setFloor: (floor) => {
        this.#floor = floor;
      },
    };
    const result = await compact(host, options);
    this.#logger.info({ ...result }, 'compaction done');
    return result;
  }

  /** The latest state of an object (whatever scope carried it), or undefined. */
  async getObject(objectKey: string): Promise<ObjectRecord | undefined> {
    this.#checkReadable();
    if (this.#spool.size > 0) throw this.#statePending('the object table');
    checkObjectKey(objectKey);
    const key = objectKeyOf(objectKey);
    const view = await this.#store.readView();
    try {
      const value = await view.get(key);
      return value === undefined ? undefined : (await toObjectRecords(view, [[objectKey, key, value]]))[0];
    } finally {
      view.close();
    }
  }

  /**
   * A page of the object table for object keys starting with `prefix` (e.g. 'Pod/'), after
   * `after` (an object key); `next` continues. For the source's relist diff after 410 Gone.
   */
  async readObjects(prefix: string, options: { after?: string; limit?: number } = {}): Promise<{ objects: ObjectRecord[]; next: string | undefined }> {
    this.#checkReadable();
    if (this.#spool.size > 0) throw this.#statePending('the object table');
    const limit = checkPage(options.limit);
    const view = await this.#store.readView();
    try {
      const rows = await view.scan({ ...objectRange(prefix, options.after === undefined ? undefined : objectKeyOf(options.after)), limit });
      const objects = await toObjectRecords(view, rows.map(([key, value]) => [objectKeyFromTableKey(key), key, value]));
      return { objects, next: rows.length === limit ? objects.at(-1)?.objectKey : undefined };
    } finally {
      view.close();
    }
  }

  /** A metadata value written with `commit(…, { meta })` (extension point: agent registry). */
  async getMeta(name: string): Promise<Uint8Array | undefined> {
    this.#checkReadable();
    checkMetaName(name);
    return this.#store.get(metaKey(name));
  }

  /** Metadata entries whose names start with `prefix`, after `after`, a page at a time. */
  async listMeta(prefix: string, options: { after?: string; limit?: number } = {}): Promise<{ entries: Array<{ name: string; value: Uint8Array }>; next: string | undefined }> {
    this.#checkReadable();
    const limit = checkPage(options.limit);
    const range = prefixRange(META_PREFIX + escapeSegment(prefix));
    const start = options.after === undefined ? range.start : keyAfter(metaKey(options.after));
    const rows = await this.#store.scan({ start, end: range.end, limit });
    const entries = rows.map(([key, value]) => ({ name: nameFromKey(META_PREFIX, key), value }));
    return { entries, next: rows.length === limit ? entries.at(-1)?.name : undefined };
  }

  stats(): LogStats {
    return {
      head: this.#head,
      floor: this.#floor,
      scopes: this.#scopeHeads.size,
      commits: this.#counters.commits,
      updatesCommitted: this.#counters.updatesCommitted,
      failedCommits: this.#counters.failedCommits,
      updatesByKind: Object.fromEntries(this.#byKind),
      lastCommitMs: this.#counters.lastCommitMs,
    };
  }

  /**
   * Stops accepting commits: the running store commit finishes, queued ones are rejected with
   * LOG_CLOSED. Does not close the store (its owner does, after this resolves).
   */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state === 'open' && this.#spool.pending) {
      // A graceful stop keeps a state sync's work: the next start goes on from it.
      await this.#queue.run(() => this.#writeSpooledState()).catch((err: unknown) => {
        this.#logger.warn({ err }, 'could not write the state held for the initial sync; the next start syncs it again');
      });
    }
    if (this.#state === 'open') this.#state = 'closing';
    await this.#queue.idle();
    this.#state = 'closed';
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #fail(err: Error): void {
    this.#state = 'failed';
    this.#failure = err;
    this.#logger.error({ err }, 'log stopped');
  }

  #checkOpen(): void {
    if (this.#state === 'open') return;
    const reason = this.#failure ? `failed: ${this.#failure.message}` : this.#state;
    throw new LogError(LogErrorCode.LOG_CLOSED, `the update log is ${reason}; open it again with UpdateLog.open`, {
      cause: this.#failure,
    });
  }

  #checkReadable(): void {
    if (this.#state === 'closed') this.#checkOpen();
  }

  #statePending(what: string): LogError {
    return new LogError(
      LogErrorCode.STATE_PENDING,
      `${what} cannot be read while the state of an initial sync committed as state is held (${this.#spool.size} entries): ` +
        'it is written by raiseFloor at the end of the sync; read after it',
    );
  }

  /**
   * Writes the spool's entries in key order, in store commits of a bounded size (the caller
   * holds the commit queue). Each commit carries the head guard like any other; a failure
   * leaves the spool as it was (entries written twice are written with the same values).
   */
  async #writeSpooledState(): Promise<void> {
    if (!this.#spool.pending) return;
    const started = performance.now();
    const entries = this.#spool.size;
    const { maxOpsPerCommit, maxBytesPerCommit } = this.#store.limits;
    // An entry is well under 1 KiB (a key of two escaped names and a few bytes of value).
    const perCommit = Math.max(1, Math.min(STATE_WRITE_OPS, maxOpsPerCommit - 1, Math.floor(maxBytesPerCommit / 1024)));
    let commits = 0;
    const commitApplied = this.#store.commitApplied?.bind(this.#store);
    if (commitApplied) {
      // Pipelined: the next commit's ops are built while the store applies this one; at most
      // two wait for their flush. Small commits keep the ops short-lived: at 150,000 pods (1.4
      // million entries) commits of 50,000 raised the heap by about 700 MB while this ran,
      // commits of 10,000 by about 350 MB (peak RSS of the sync 2,166 → 1,715 MB, one run each).
      // (The store handles a rejected `durable` that nobody awaits.)
      const durable: Array<Promise<void>> = [];
      let applying: Promise<{ durable: Promise<void> }> | undefined;
      try {
        for (const ops of this.#spool.ops(perCommit)) {
          if (applying) durable.push((await applying).durable);
          while (durable.length >= 2) await durable.shift();
          applying = commitApplied(ops, this.#guards(undefined));
          commits++;
        }
        if (applying) durable.push((await applying).durable);
        await Promise.all(durable);
      } catch (err) {
        throw this.#onStoreFailure(err);
      }
    } else {
      for (const ops of this.#spool.ops(perCommit)) {
        await this.#storeCommit(ops, undefined);
        commits++;
      }
    }
    this.#spool.clear();
    this.#logger.info({ entries, commits, ms: Math.round(performance.now() - started) }, 'wrote the current state of the initial sync, in key order');
  }
}

/** Object records from o/ entries ([objectKey, key, value]), payloads from history. */
async function toObjectRecords(reader: StoreReader, rows: Array<[string, string, Uint8Array]>): Promise<ObjectRecord[]> {
  const states = rows.map(([, key, value]) => decodeState(value, key));
  const payloads = await readPayloads(reader, states.map((s) => s.version), 'the object table');
  return rows.map(([objectKey], i) => {
    const state = states[i] as { version: number; deleted: boolean; deletedAtMs: number };
    return {
      objectKey,
      version: state.version,
      payload: payloads[i] as Uint8Array,
      deleted: state.deleted,
      deletedAtMs: state.deleted ? state.deletedAtMs : undefined,
    };
  });
}
