/**
 * The embedded default store: LMDB through the `lmdb` package (docs/design.md "Real components").
 *
 * Durability choice. lmdb-js defaults to `overlappingSync` on Linux: a write transaction is
 * committed (visible, and in the OS page cache, so it survives a kill -9 of this process) before
 * its fsync finishes, and the fsync overlaps the next transactions. A commit promise resolves at
 * the first point; `db.flushed` at the second. `commitApplied()` resolves at the first point and
 * hands out the second as `durable`, so the log can build and commit the next transaction while
 * this one is flushed (pipelined commits). `commit()` here resolves only after BOTH: the
 * child transaction committed and `db.flushed` (taken right after the transaction was queued,
 * so it covers it) resolved, i.e. the pages and meta page were fdatasync'ed. After a power loss
 * LMDB (with overlappingSync) recovers the last flushed transaction, so a resolved commit()
 * survives a kill -9 and, as far as LMDB and the disk's fsync promise, a power loss. We keep
 * overlappingSync on (rather than off, where the fsync happens inside the write lock) because
 * it lets LMDB flush while the next transaction is being built; the log waits for the flush
 * either way. `noSync`/`mapAsync` are never set.
 *
 * Atomicity: each commit is one lmdb-js batch (one write transaction on lmdb-js's write
 * thread; see #commit for guards), or, when it has a range delete, a *child* transaction; if
 * anything fails, nothing of it is applied.
 *
 * `eventTurnBatching` is off: every write here is an explicit transaction, and with it on,
 * lmdb-js 3.5 leaves an internal batch promise unhandled when a commit fails (disk full), which
 * would crash Node with an unhandled rejection.
 *
 * The map (LMDB's address-space reservation, not disk space) starts at `mapSize` and lmdb-js
 * grows it automatically as the data grows; disk use follows the data. Free pages are reused,
 * so the file stops growing once compaction keeps the data bounded.
 */
import { mkdir, statfs } from 'node:fs/promises';
import { open, type RootDatabase } from 'lmdb';
import { LogErrorCode, StoreError, type StoreErrorCode } from '../errors.ts';
import {
  checkCommit,
  checkRange,
  sameBytes,
  type CommitGuard,
  type ScanOptions,
  type StoreLimits,
  type StoreOp,
  type StoreView,
  type UpdateStore,
} from '../store.ts';

export interface LmdbStoreOptions {
  /** Directory of the store (created if missing). Must be on a local filesystem with mmap. */
  path: string;
  /** Initial map size in bytes (default 256 MiB); grows automatically as data grows. */
  mapSize?: number;
  /** Most concurrent read views (LMDB readers), default 512. */
  maxReaders?: number;
}

const BACKEND = 'lmdb';
const DEFAULT_MAP_SIZE = 256 * 1024 * 1024;
const DEFAULT_MAX_READERS = 512;
/** Below this much free disk, an I/O error on commit is reported as STORE_FULL. */
const FULL_DISK_BYTES = 4 * 1024 * 1024;
const DELETE_RANGE_CHUNK = 4096;

const LIMITS: StoreLimits = Object.freeze({
  maxOpsPerCommit: Number.POSITIVE_INFINITY,
  maxBytesPerCommit: Number.POSITIVE_INFINITY,
  maxValueBytes: 1024 * 1024 * 1024,
});

type Db = RootDatabase<Uint8Array, string>;
type ReadTxn = ReturnType<Db['useReadTransaction']>;

function storeError(code: StoreErrorCode, message: string, cause?: unknown, key?: string): StoreError {
  return new StoreError(code, message, key === undefined ? { backend: BACKEND } : { backend: BACKEND, key }, { cause });
}

function errnoOf(err: unknown): number | string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' || typeof code === 'string' ? code : undefined;
}

/**
 * Opens (creating if needed) the LMDB store in `options.path`. Throws StoreError
 * LOG_STORE_OPEN_FAILED with the reason and what to check.
 */
export async function openLmdbStore(options: LmdbStoreOptions): Promise<UpdateStore> {
  const path = options.path;
  try {
    await mkdir(path, { recursive: true });
  } catch (err) {
    throw storeError(
      LogErrorCode.STORE_OPEN_FAILED,
      `cannot create the LMDB store directory ${path} (${errnoOf(err) ?? String(err)}): check that the path is a ` +
        'directory (or can be created) and that this user may write it',
      err,
    );
  }
  let db: Db;
  try {
    db = open<Uint8Array, string>({
      path,
      encoding: 'binary',
      mapSize: options.mapSize ?? DEFAULT_MAP_SIZE,
      maxReaders: options.maxReaders ?? DEFAULT_MAX_READERS,
      eventTurnBatching: false,
      // The store is always a directory: without this lmdb-js takes a path with an extension
      // (`kubemeta.lmdb`, our default) for a single file and fails on the directory made above.
      noSubdir: false,
    });
  } catch (err) {
    const code = errnoOf(err);
    const hint =
      code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 13 || code === 30
        ? 'the directory is not writable by this user (or the filesystem is read-only)'
        : 'check that the directory is writable, on a local filesystem that supports mmap and file locks, ' +
          'and holds an LMDB store (data.mdb) or nothing';
    throw storeError(LogErrorCode.STORE_OPEN_FAILED, `cannot open the LMDB store in ${path}: ${hint} (${String(err)})`, err);
  }
  return new LmdbStore(db, path);
}

class LmdbStore implements UpdateStore {
  readonly backend = BACKEND;
  readonly limits = LIMITS;
  readonly location: string;
  readonly #db: Db;
  readonly #views = new Set<LmdbView>();
  readonly #inflight = new Set<Promise<unknown>>();
  /** Commits queued to the write thread and not yet applied. */
  readonly #applying = new Set<Promise<unknown>>();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(db: Db, location: string) {
    this.#db = db;
    this.location = location;
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.#read(() => this.#db.get(key));
  }

  getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    return this.#read(() => keys.map((key) => this.#db.get(key)));
  }

  scan(options: ScanOptions): Promise<Array<[string, Uint8Array]>> {
    checkRange(options, BACKEND);
    return this.#read(() => scanRange(this.#db, options, undefined));
  }

  async commit(ops: readonly StoreOp[], guards: readonly CommitGuard[] = []): Promise<void> {
    const { durable } = await this.commitApplied(ops, guards);
    await durable;
  }

  async commitApplied(ops: readonly StoreOp[], guards: readonly CommitGuard[] = []): Promise<{ durable: Promise<void> }> {
    this.#checkOpen();
    checkCommit(ops, guards, LIMITS, BACKEND);
    const work = this.#commit(ops, guards);
    const durable = work.then((w) => w.durable);
    durable.catch(() => undefined);
    // Close waits for the flush too: a commit is finished for the store once it is durable.
    this.#inflight.add(durable);
    void durable.finally(() => this.#inflight.delete(durable)).catch(() => undefined);
    await work;
    return { durable };
  }

  /**
   * Resolves once the transaction is committed; `durable` once LMDB's flush covers it.
   *
   * Commits are queued to lmdb-js's write thread as batches (`db.batch`): the B-tree work runs
   * there, on the second core, while this thread projects the next events — a child
   * transaction runs its callback, and with it every put's B-tree work, on this thread (measured
   * here: 300,000 random puts kept this thread busy 2.5 s as child transactions, 0.2 s as
   * batches, for the same total). A batch cannot read inside its transaction, so:
   * - guards are checked here, just before queueing, once every earlier commit of this store is
   *   applied (a guard never sees a state that a queued commit is about to change; the log
   *   commits one batch at a time anyway). Another process writing the same directory between
   *   the check and the write is not detected: one kubemeta per LMDB store (docs/operating.md).
   * - a commit with a range delete (compaction), which must read the keys it deletes, runs as
   *   a child transaction, after the batches before it are applied.
   */
  async #commit(ops: readonly StoreOp[], guards: readonly CommitGuard[]): Promise<{ durable: Promise<void> }> {
    const db = this.#db;
    const reads = ops.some((op) => op.type === 'deleteRange');
    if ((guards.length > 0 || reads) && this.#applying.size > 0) await Promise.allSettled([...this.#applying]);
    for (const guard of guards) {
      if (!sameBytes(db.get(guard.key), guard.equals)) {
        throw storeError(
          LogErrorCode.GUARD_FAILED,
          `commit guard on ${JSON.stringify(guard.key)} did not hold: another writer changed it; nothing was applied`,
          undefined,
          guard.key,
        );
      }
    }
    let txn: Promise<unknown>;
    try {
      const apply = (): void => {
        for (const op of reads ? ops : inKeyOrder(ops)) applyOp(db, op);
      };
      txn = reads ? db.childTransaction(apply) : db.batch(apply);
    } catch (err) {
      throw await this.#commitFailure(err);
    }
    // Taken synchronously after queueing, so it covers this transaction (see the file comment).
    const flushed = new Promise<void>((resolve, reject) => {
      db.flushed.then(() => resolve(), reject);
    });
    flushed.catch(() => undefined);
    this.#applying.add(txn);
    try {
      await txn;
    } catch (err) {
      throw await this.#commitFailure(err);
    } finally {
      this.#applying.delete(txn);
    }
    const durable = flushed.catch((err: unknown) => this.#flushAgain(err));
    durable.catch(() => undefined);
    return { durable };
  }

  /**
   * The flush covering an applied transaction failed: lmdb-js reports a later transaction's
   * failure (a full disk) through the same flush. The transaction's pages are written; the next
   * flush that succeeds makes them durable. Retried with backoff until one does (the committer
   * holds publishing back meanwhile, and its bounded pipeline slows the source down), or the
   * store closes.
   */
  async #flushAgain(first: unknown): Promise<void> {
    let err = first;
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) throw await this.#commitFailure(err);
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 50 * 2 ** attempt)));
      try {
        await this.#db.flushed;
        return;
      } catch (again) {
        err = again;
      }
    }
  }

  async #commitFailure(err: unknown): Promise<StoreError> {
    let cause = err;
    const pending = (err as { commitError?: Promise<unknown> } | null)?.commitError;
    if (pending && typeof pending.then === 'function') {
      // lmdb-js rejects this second promise with the real error (errno); always consume it.
      await pending.then(
        () => undefined,
        (real: unknown) => {
          cause = real;
        },
      );
    }
    if (this.#closed) return storeError(LogErrorCode.STORE_CLOSED, `the LMDB store in ${this.location} was closed`, cause);
    if (await this.#isFull(cause)) {
      return storeError(
        LogErrorCode.STORE_FULL,
        `the LMDB store in ${this.location} is out of space: free disk space or grow the volume, and compact the ` +
          'log (shorter history window / tombstone retention); nothing of this commit was applied',
        cause,
      );
    }
    return storeError(
      LogErrorCode.COMMIT_FAILED,
      `LMDB commit failed in ${this.location}: ${String((cause as Error)?.message ?? cause)}; nothing was applied`,
      cause,
    );
  }

  async #isFull(cause: unknown): Promise<boolean> {
    const code = errnoOf(cause);
    const message = String((cause as Error)?.message ?? cause);
    if (code === 28 || code === 'ENOSPC' || code === -30792 || /MDB_MAP_FULL|No space left/i.test(message)) return true;
    if (code !== 5 && code !== 'EIO') return false;
    try {
      const fs = await statfs(this.location);
      return fs.bavail * fs.bsize < FULL_DISK_BYTES;
    } catch {
      return false;
    }
  }

  async readView(): Promise<StoreView> {
    this.#checkOpen();
    let txn: ReadTxn;
    try {
      txn = this.#db.useReadTransaction();
    } catch (err) {
      throw storeError(LogErrorCode.READ_FAILED, `cannot open a read view on ${this.location}: ${String(err)}`, err);
    }
    const view = new LmdbView(this.#db, txn, (v) => this.#views.delete(v));
    this.#views.add(view);
    return view;
  }

  async sizeBytes(): Promise<number> {
    this.#checkOpen();
    const stats = this.#db.getStats() as { lastPageNumber?: number; pageSize?: number };
    return ((stats.lastPageNumber ?? 0) + 1) * (stats.pageSize ?? 4096);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true; // refuse new work; commits already running finish first
      await Promise.allSettled([...this.#inflight]);
      for (const view of [...this.#views]) view.close();
      await this.#db.close();
    })();
    return this.#closing;
  }

  #checkOpen(): void {
    if (this.#closed) throw storeError(LogErrorCode.STORE_CLOSED, `the LMDB store in ${this.location} is closed`);
  }

  async #read<T>(fn: () => T): Promise<T> {
    this.#checkOpen();
    try {
      return fn();
    } catch (err) {
      throw storeError(LogErrorCode.READ_FAILED, `LMDB read failed in ${this.location}: ${String(err)}`, err);
    }
  }
}

class LmdbView implements StoreView {
  readonly #db: Db;
  readonly #txn: ReadTxn;
  readonly #onClose: (view: LmdbView) => void;
  #closed = false;

  constructor(db: Db, txn: ReadTxn, onClose: (view: LmdbView) => void) {
    this.#db = db;
    this.#txn = txn;
    this.#onClose = onClose;
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.#read(() => this.#db.get(key, { transaction: this.#txn }));
  }

  getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    return this.#read(() => keys.map((key) => this.#db.get(key, { transaction: this.#txn })));
  }

  scan(options: ScanOptions): Promise<Array<[string, Uint8Array]>> {
    checkRange(options, BACKEND);
    return this.#read(() => scanRange(this.#db, options, this.#txn));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose(this);
    this.#txn.done();
  }

  async #read<T>(fn: () => T): Promise<T> {
    if (this.#closed) throw storeError(LogErrorCode.STORE_CLOSED, 'the LMDB read view is closed');
    try {
      return fn();
    } catch (err) {
      throw storeError(LogErrorCode.READ_FAILED, `LMDB read failed: ${String(err)}`, err);
    }
  }
}

function scanRange(db: Db, options: ScanOptions, transaction: ReadTxn | undefined): Array<[string, Uint8Array]> {
  const { start, end, limit, reverse } = options;
  if (!(start < end) || limit === 0) return [];
  const range = reverse
    ? { start: end, end: start, reverse: true, exclusiveStart: true, inclusiveEnd: true }
    : { start, end };
  const out: Array<[string, Uint8Array]> = [];
  const iterable = db.getRange({ ...range, ...(limit === undefined ? {} : { limit }), ...(transaction ? { transaction } : {}) });
  for (const { key, value } of iterable) out.push([key, value]);
  return out;
}

/**
 * The ops of a commit without range deletes (whose effect depends on their place among the
 * other ops), sorted by key (stable: ops on one key keep their order). The result is the
 * same; LMDB's B-tree is much cheaper to update in key order: a commit's state and object-table
 * keys are spread over the whole tree by their uids, and visiting the pages in order touches
 * each once (measured here: 300,000 puts of random 40-byte keys in batches of 20,000, 11.6 µs
 * a put in arrival order, 8.7 µs sorted; 1.6 µs for keys that are already sequential).
 */
function inKeyOrder(ops: readonly StoreOp[]): readonly StoreOp[] {
  if (ops.length < 2) return ops;
  const keyed = ops as ReadonlyArray<Exclude<StoreOp, { type: 'deleteRange' }>>;
  let sorted = true;
  for (let i = 1; i < keyed.length && sorted; i++) sorted = (keyed[i - 1] as { key: string }).key < (keyed[i] as { key: string }).key;
  if (sorted) return ops;
  return [...keyed].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Runs inside the write transaction: each call takes effect immediately in it. */
function applyOp(db: Db, op: StoreOp): void {
  if (op.type === 'put') {
    void db.put(op.key, op.value);
  } else if (op.type === 'delete') {
    void db.remove(op.key);
  } else {
    for (;;) {
      const keys = [...db.getKeys({ start: op.start, end: op.end, limit: DELETE_RANGE_CHUNK })];
      for (const key of keys) void db.remove(key);
      if (keys.length < DELETE_RANGE_CHUNK) break;
    }
  }
}
