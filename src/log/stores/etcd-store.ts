/**
 * The fallback store: etcd 3.4+ through the `etcd3` package (docs/design.md "Real components"), for
 * deployments that already run etcd and would rather not keep a PVC for LMDB. It implements the
 * same UpdateStore contract and passes the same conformance suite.
 *
 * Commits. One commit is one etcd Txn: guards are its compares (a value compare for "equals
 * these bytes", `Version == 0` for "absent" — etcd fails a value compare on a missing key, so
 * absence needs its own compare), the ops its success branch (put, delete, delete of a range).
 * The failure branch reads the guarded keys, so a GUARD_FAILED names the key that did not hold.
 * etcd acknowledges a Txn once a majority of members wrote it to their WAL (fsync) and applied
 * it: a resolved commit survives a crash of any minority, and of a single member's process.
 *
 * Limits. etcd refuses a Txn with more than --max-txn-ops ops (default 128) or a request larger
 * than --max-request-bytes (default 1.5 MiB). `limits` is derived from the values the server runs
 * with (pass them as options): the op limit as is, the byte limit minus what the key prefix,
 * protobuf framing and the guards add. The UpdateLog splits a batch that does not fit into
 * several commits, each consistent on its own (commit-plan.ts), so a batch of 1,000 updates
 * becomes tens of Txns: that, not etcd's speed per Txn, is where etcd's throughput goes.
 *
 * Read views. A view is an etcd revision: readView() reads the current revision once, and every
 * read through the view asks for that revision. Store reads that take several requests (a scan
 * over pages, a getMany over several Txns) pin the revision of their first request the same way,
 * so they are consistent too. etcd can serve an old revision until its history is compacted; a
 * read of a compacted revision fails with READ_FAILED saying so. Reads at a known revision skip
 * the consensus round (serializable; a member that has not applied the revision yet refuses, and
 * the read is asked again linearizably). Known cost: etcd 3.4.23 (Debian 12's) walks the whole
 * rest of a range in its index even for a limited range request, so each page of a long scan
 * costs in proportion to what follows it; etcd 3.5, and 3.4 after 3.4.23, stop at the limit
 * (etcd-io/etcd#11990, backport #15137).
 *
 * History. etcd keeps every revision of every key until its history is compacted, so without
 * compaction the database grows with every commit, whatever the log's own compaction drops. The
 * store compacts etcd's history itself (option `historyCompaction`): after commits, at most every
 * `intervalMs`, to a revision at least `retentionMs` old (default 5 min, as kube-apiserver does),
 * and never past a revision one of its own views or reads still uses. etcd's compaction is
 * cluster-wide: with several stores (clusters) on one etcd, a view of one store must not outlive
 * the shortest retention of the others. Disable it (`historyCompaction: false`) when etcd runs its
 * own --auto-compaction-*. Compaction frees pages for reuse; only a defragmentation (`etcdctl
 * defrag`, which blocks the member while it runs) returns them to the filesystem.
 *
 * Errors. "mvcc: database space exceeded" (the NOSPACE alarm) is STORE_FULL. A call that fails
 * after it may have reached etcd (a timeout, a dropped connection, a leader change) is
 * COMMIT_FAILED with `ambiguous: true`: the log then re-reads its heads before the next commit.
 * The etcd3 client would retry such a call by itself and report a guard failure for a commit that
 * did apply, so every call here runs once; only reads are retried.
 *
 * Keys. Every key is stored under `keyPrefix` (default "kubemeta/default/"), so several clusters
 * can share one etcd; the prefix is invisible through this interface. Keys and prefix are ASCII,
 * so etcd's byte order is the order of the interface.
 *
 * Size. sizeBytes() is the etcd member's database size in use (dbSizeInUse: the whole etcd, not
 * only this prefix), which compaction brings down; the file itself (dbSize, what the quota
 * counts) shrinks only by defragmentation.
 *
 * Files: etcd-config.ts (options, limits, client setup), etcd-reads.ts (reads at a revision),
 * etcd-history.ts (history compaction), this one (commits, views, errors).
 */
// etcd3 (with gRPC and its protobuf loader) is loaded when an etcd store is opened, not with the
// module: every `kubemeta` start imports the log, and most use LMDB (the import took 0.4 s
// of a start on this machine under load).
import type { Etcd3, ICompare, IRequestOp, IResponseHeader, ITxnRequest } from 'etcd3';
import { LogErrorCode, StoreError } from '../errors.ts';
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
import {
  BACKEND,
  GUARD_RESERVE_BYTES,
  OP_OVERHEAD_BYTES,
  clientOptions,
  compileOptions,
  limitsOf,
  messageOf,
  openFailed,
  openHint,
  storeError,
  type EtcdConfig,
  type EtcdStoreOptions,
} from './etcd-config.ts';
import { HistoryCompactor } from './etcd-history.ts';
import { EtcdReads, ReadPoint, RevisionPins } from './etcd-reads.ts';

export type { EtcdStoreOptions } from './etcd-config.ts';

const READ_ATTEMPTS = 3;

/** Failures that say the Txn was not applied; after any other, it may have been (ambiguous). */
const NOT_APPLIED = new RegExp(
  [
    // never sent: no connection, or this client's circuit breaker held it back
    'No connection established',
    'circuit breaker is open',
    // refused by etcd before or instead of applying it
    'permission denied',
    'authentication failed',
    'invalid auth token',
    'user name not found',
    'etcdserver: no leader',
    'too many requests',
    'not capable',
    'duplicate key given',
    'too many operations in txn',
    'request is too large',
    'database space exceeded',
  ].join('|'),
  'i',
);

/**
 * Connects to etcd and checks that it answers. Throws StoreError LOG_STORE_OPEN_FAILED with the
 * reason and what to check (never the password).
 */
export async function openEtcdStore(options: EtcdStoreOptions): Promise<UpdateStore> {
  const config = compileOptions(options);
  const limits = limitsOf(config);
  let client: Etcd3;
  let isRecoverable: (err: Error) => boolean;
  try {
    const etcd3 = await import('etcd3');
    isRecoverable = etcd3.isRecoverableError;
    client = new etcd3.Etcd3(await clientOptions(options, config));
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw openFailed(`cannot set up the etcd client for ${config.location}: ${messageOf(err)}`, err);
  }
  const store = new EtcdStore(client, config, limits, isRecoverable);
  try {
    await store.probe();
  } catch (err) {
    client.close();
    const message = messageOf(err);
    throw openFailed(`cannot open the etcd store at ${config.location}: ${openHint(message)} (${message})`, err);
  }
  return store;
}

class EtcdStore implements UpdateStore {
  readonly backend = BACKEND;
  readonly limits: StoreLimits;
  readonly location: string;
  readonly #client: Etcd3;
  /** etcd3's isRecoverableError: a read that failed this way is retried. */
  readonly #isRecoverable: (err: Error) => boolean;
  readonly #config: EtcdConfig;
  readonly #reads: EtcdReads;
  readonly #pins = new RevisionPins();
  readonly #compactor: HistoryCompactor | undefined;
  readonly #views = new Set<EtcdView>();
  readonly #inflight = new Set<Promise<unknown>>();
  /** Newest revision any response showed: a later read sees at least this one. */
  #seen = 0;
  #lastCommitMs = Number.NEGATIVE_INFINITY;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(client: Etcd3, config: EtcdConfig, limits: StoreLimits, isRecoverable: (err: Error) => boolean) {
    this.#client = client;
    this.#isRecoverable = isRecoverable;
    this.#config = config;
    this.limits = limits;
    this.location = config.location;
    this.#reads = new EtcdReads(client.kv, config);
    this.#compactor = config.compaction && new HistoryCompactor(client.kv, this.#pins, config.clock, config.compaction);
  }

  /** One read at the current revision (etcd answers, the credentials work); settles `at` there. */
  async probe(at?: ReadPoint): Promise<void> {
    const res = await this.#client.kv.range({ key: this.#reads.key(''), keys_only: true, limit: 1 });
    at?.settle(res.header);
    this.#saw(res.header);
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.#storeRead((at) => this.#reads.get(key, at));
  }

  getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    return this.#storeRead((at) => this.#reads.getMany(keys, at));
  }

  scan(options: ScanOptions): Promise<Array<[string, Uint8Array]>> {
    checkRange(options, BACKEND);
    return this.#storeRead((at) => this.#reads.scan(options, at));
  }

  async commit(ops: readonly StoreOp[], guards: readonly CommitGuard[] = []): Promise<void> {
    this.#checkOpen();
    checkCommit(ops, guards, this.limits, BACKEND);
    this.#checkGuards(guards);
    if (ops.length === 0 && guards.length === 0) return;
    const work = this.#commit(ops, guards);
    this.#track(work);
    await work;
  }

  #checkGuards(guards: readonly CommitGuard[]): void {
    let bytes = 0;
    for (const g of guards) bytes += 2 * (this.#config.prefix.length + g.key.length) + (g.equals?.byteLength ?? 0) + 2 * OP_OVERHEAD_BYTES;
    if (guards.length > this.#config.maxTxnOps || bytes > GUARD_RESERVE_BYTES) {
      throw storeError(
        LogErrorCode.COMMIT_INVALID,
        `invalid store commit: ${guards.length} guards of ${bytes} bytes exceed what one etcd transaction keeps for guards ` +
          `(${this.#config.maxTxnOps} guards, ${GUARD_RESERVE_BYTES} bytes) (a bug in the caller; nothing was applied)`,
      );
    }
  }

  async #commit(ops: readonly StoreOp[], guards: readonly CommitGuard[]): Promise<void> {
    const res = await this.#client.kv.txn(this.#txnRequest(ops, guards)).catch((err: unknown) => {
      throw this.#commitError(err, ops.length);
    });
    const revision = this.#saw(res.header);
    if (!res.succeeded) {
      const values = res.responses.map((r) => r.response_range?.kvs[0]?.value);
      const failed = guards.find((g, i) => !sameBytes(values[i], g.equals)) ?? guards[0];
      const key = failed?.key ?? '';
      throw storeError(
        LogErrorCode.GUARD_FAILED,
        `commit guard on ${JSON.stringify(key)} did not hold: another writer changed it; nothing was applied`,
        undefined,
        { key },
      );
    }
    this.#lastCommitMs = this.#config.clock.now();
    const compaction = this.#compactor?.committed(revision);
    if (compaction) this.#track(compaction);
  }

  #txnRequest(ops: readonly StoreOp[], guards: readonly CommitGuard[]): ITxnRequest {
    const key = (k: string) => this.#reads.key(k);
    const success = ops.map((op): IRequestOp => {
      if (op.type === 'put') return { request_put: { key: key(op.key), value: asBuffer(op.value) } };
      if (op.type === 'delete') return { request_delete_range: { key: key(op.key) } };
      return { request_delete_range: { key: key(op.start), range_end: key(op.end) } };
    });
    const compare = guards.map(
      (g): ICompare =>
        g.equals === undefined
          ? { key: key(g.key), target: 'Version', result: 'Equal', version: 0 }
          : { key: key(g.key), target: 'Value', result: 'Equal', value: asBuffer(g.equals) },
    );
    const failure = guards.map((g): IRequestOp => ({ request_range: { key: key(g.key) } }));
    return { compare, success, failure };
  }

  #commitError(err: unknown, ops: number): StoreError {
    // No STORE_CLOSED here: close() waits for running commits before it closes the client.
    const message = messageOf(err);
    const where = this.location;
    if (/database space exceeded/i.test(message)) {
      // Ambiguous: the transaction that crosses the quota can be applied while etcd answers
      // NOSPACE (seen here: its version was in the store after the error), so the log re-reads
      // its heads before the next commit instead of reusing that version.
      return storeError(
        LogErrorCode.STORE_FULL,
        `etcd at ${where} is out of space (its NOSPACE alarm is raised): compact the log, let etcd's history compaction ` +
          'run, defragment (etcdctl defrag), disarm the alarm (etcdctl alarm disarm) or raise --quota-backend-bytes; ' +
          'this commit may or may not have been applied',
        err,
        { ambiguous: true },
      );
    }
    if (/too many operations in txn/i.test(message)) {
      return storeError(
        LogErrorCode.COMMIT_FAILED,
        `etcd at ${where} refused a transaction of ${ops} ops: its --max-txn-ops is below this store's maxTxnOps ` +
          `(${this.#config.maxTxnOps}); set maxTxnOps to the server's value. Nothing was applied`,
        err,
      );
    }
    if (/request is too large/i.test(message)) {
      return storeError(
        LogErrorCode.COMMIT_FAILED,
        `etcd at ${where} refused a transaction as too large: its --max-request-bytes is below this store's ` +
          `maxRequestBytes (${this.#config.maxRequestBytes}); set maxRequestBytes to the server's value. Nothing was applied`,
        err,
      );
    }
    const ambiguous = !NOT_APPLIED.test(message);
    return storeError(
      LogErrorCode.COMMIT_FAILED,
      `etcd commit failed at ${where}: ${message}; ` +
        (ambiguous ? 'the outcome is unknown (the transaction may have applied)' : 'nothing was applied'),
      err,
      { ambiguous },
    );
  }

  async readView(): Promise<StoreView> {
    this.#checkOpen();
    const at = new ReadPoint(this.#pins, this.#seen);
    try {
      await this.#retrying(() => this.probe(at));
    } catch (err) {
      at.release();
      throw this.#readError(err, undefined);
    }
    const view = new EtcdView(this.#reads, at, {
      run: (fn) => this.#retrying(fn),
      mapError: (err) => this.#readError(err, at.revision),
      onClose: (v) => this.#views.delete(v),
    });
    this.#views.add(view);
    return view;
  }

  async sizeBytes(): Promise<number> {
    this.#checkOpen();
    const { clock, batchIntervalMs } = this.#config;
    const wait = this.#lastCommitMs + batchIntervalMs - clock.now();
    if (wait > 0) await clock.sleep(wait + 5);
    try {
      const status = await this.#retrying(() => this.#client.maintenance.status());
      const inUse = Number(status.dbSizeInUse);
      return inUse > 0 ? inUse : Number(status.dbSize);
    } catch (err) {
      throw this.#readError(err, undefined);
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true; // refuse new work; commits already running finish first
      await Promise.allSettled([...this.#inflight]);
      for (const view of [...this.#views]) view.close();
      this.#client.close();
    })();
    return this.#closing;
  }

  #checkOpen(): void {
    if (this.#closed) throw storeError(LogErrorCode.STORE_CLOSED, `the etcd store at ${this.location} is closed`);
  }

  #track(work: Promise<unknown>): void {
    this.#inflight.add(work);
    const done = (): void => {
      this.#inflight.delete(work);
    };
    work.then(done, done);
  }

  #saw(header: IResponseHeader): number {
    const revision = Number(header.revision);
    if (revision > this.#seen) this.#seen = revision;
    return revision;
  }

  /** A read outside views: consistent at the revision of its first request. */
  async #storeRead<T>(fn: (at: ReadPoint) => Promise<T>): Promise<T> {
    this.#checkOpen();
    const at = new ReadPoint(this.#pins, this.#seen);
    try {
      return await this.#retrying(() => fn(at));
    } catch (err) {
      throw this.#readError(err, at.revision);
    } finally {
      at.release();
    }
  }

  /** Reads are idempotent: retried on transient errors (commits never are). */
  async #retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const transient = typeof err === 'object' && err !== null && this.#isRecoverable(err as Error);
        if (!transient || attempt >= READ_ATTEMPTS || this.#closed) throw err;
        await this.#config.clock.sleep(50 * attempt);
      }
    }
  }

  #readError(err: unknown, revision: number | undefined): StoreError {
    if (err instanceof StoreError) return err;
    const message = messageOf(err);
    if (this.#closed) return storeError(LogErrorCode.STORE_CLOSED, `the etcd store at ${this.location} was closed`, err);
    if (/required revision has been compacted/i.test(message)) {
      return storeError(
        LogErrorCode.READ_FAILED,
        `etcd compacted revision ${revision ?? '?'} while a read of ${this.location} still used it: a read view must ` +
          "finish before etcd's history compaction passes it (etcd --auto-compaction-retention, or another store on " +
          'this etcd with a shorter history retention); open a new view and read again',
        err,
      );
    }
    return storeError(LogErrorCode.READ_FAILED, `etcd read failed at ${this.location}: ${message}`, err);
  }
}

/** What a view borrows from its store: retries, error mapping, and its removal on close. */
interface ViewHooks {
  run<T>(fn: () => Promise<T>): Promise<T>;
  mapError(err: unknown): StoreError;
  onClose(view: EtcdView): void;
}

class EtcdView implements StoreView {
  readonly #reads: EtcdReads;
  readonly #at: ReadPoint;
  readonly #hooks: ViewHooks;
  #closed = false;

  constructor(reads: EtcdReads, at: ReadPoint, hooks: ViewHooks) {
    this.#reads = reads;
    this.#at = at;
    this.#hooks = hooks;
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.#read(() => this.#reads.get(key, this.#at));
  }

  getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    return this.#read(() => this.#reads.getMany(keys, this.#at));
  }

  scan(options: ScanOptions): Promise<Array<[string, Uint8Array]>> {
    checkRange(options, BACKEND);
    return this.#read(() => this.#reads.scan(options, this.#at));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#at.release();
    this.#hooks.onClose(this);
  }

  async #read<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw storeError(LogErrorCode.STORE_CLOSED, 'the etcd read view is closed');
    try {
      return await this.#hooks.run(fn);
    } catch (err) {
      throw this.#hooks.mapError(err);
    }
  }
}

/** A Buffer over the same bytes (no copy): the etcd3 types ask for Buffer. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
