/**
 * The store backend interface: a small ordered key-value store with atomic multi-op commits
 * (in the spirit of Pixie's datastore interfaces). LMDB and etcd implement it (stores/) and
 * pass the same conformance suite (test/conformance/store.conformance.ts); everything here is
 * expressible as one etcd transaction: puts, deletes and range deletes on distinct keys,
 * guarded by value compares.
 *
 * Keys are ASCII strings of printable characters (0x20–0x7e), at most MAX_KEY_BYTES long,
 * ordered by their bytes (= JS string order for ASCII). Numbers inside keys are fixed-width
 * lowercase hex so that lexical order is numeric order. Range bounds may also use 0x01–0x7f
 * (so `keyAfter(k)` and `KEYSPACE.end` are valid bounds that no key can equal).
 */
import { LogErrorCode, StoreError } from './errors.ts';

export type StoreOp =
  | { type: 'put'; key: string; value: Uint8Array }
  | { type: 'delete'; key: string }
  /** Deletes every key k with start <= k < end. */
  | { type: 'deleteRange'; start: string; end: string };

/** A half-open key range [start, end). */
export interface KeyRange {
  start: string;
  end: string;
}

export interface ScanOptions extends KeyRange {
  /** Most entries returned; callers that may meet large ranges always set it. */
  limit?: number;
  /** Descending from just below `end` down to `start` (still [start, end)). */
  reverse?: boolean;
}

export interface StoreReader {
  get(key: string): Promise<Uint8Array | undefined>;
  /** Values in the order of `keys`; undefined where absent. */
  getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>>;
  /** Entries of [start, end) in key order (or reverse), at most `limit`. */
  scan(options: ScanOptions): Promise<Array<[string, Uint8Array]>>;
}

/**
 * Point-in-time reads: every read through a view sees the store as of `readView()`, whatever
 * commits follow (an LMDB read transaction; an etcd revision). Close it promptly: an open view
 * holds old pages (LMDB) or a revision (etcd) back from reuse.
 */
export interface StoreView extends StoreReader {
  close(): void;
}

/**
 * Compare-and-commit: the commit applies only if the current value of `key` equals `equals`
 * byte for byte (`undefined`: the key must be absent). Checked atomically with the commit
 * (inside the LMDB write transaction; an etcd Txn compare). The log guards every commit with
 * its own head (one writer per log), and passes a caller's fencing guard through (the writer
 * fence of fence.ts).
 */
export interface CommitGuard {
  key: string;
  equals: Uint8Array | undefined;
}

/** What one commit may hold on this backend (etcd: --max-txn-ops, --max-request-bytes). */
export interface StoreLimits {
  maxOpsPerCommit: number;
  /** Sum of key and value bytes of all ops. */
  maxBytesPerCommit: number;
  maxValueBytes: number;
}

export interface UpdateStore extends StoreReader {
  /** 'lmdb', 'etcd', ... */
  readonly backend: string;
  /** Where the data lives, for messages and logs (a directory, endpoints). */
  readonly location: string;
  readonly limits: StoreLimits;
  /**
   * Applies `ops` in order, atomically: all or nothing, also across a crash. Resolves only once
   * the commit is durable (it survives a process kill, and a power loss as far as the backend
   * and the disk promise). Rejects with StoreError: GUARD_FAILED when a guard does not hold
   * (nothing applied), COMMIT_INVALID when `ops` break the contract (see checkCommit),
   * STORE_FULL, COMMIT_FAILED, STORE_CLOSED. A rejection means "not applied" unless the error
   * says `ambiguous`.
   */
  commit(ops: readonly StoreOp[], guards?: readonly CommitGuard[]): Promise<void>;
  /**
   * Optional, for pipelined commits: like `commit`, but resolves as soon as the commit is
   * applied (atomic, visible to readers and to the next commit's guards, and surviving a kill
   * of this process), with `durable` resolving once it is also on stable storage. The caller
   * may start the next commit at once and must not publish before `durable`. A rejected
   * `durable` means the store can no longer promise durability: stop using it. Backends whose
   * commits are durable when applied (etcd) leave it out.
   */
  commitApplied?(ops: readonly StoreOp[], guards?: readonly CommitGuard[]): Promise<{ durable: Promise<void> }>;
  /** A consistent point-in-time view (see StoreView). */
  readView(): Promise<StoreView>;
  /** Bytes the store occupies on its medium (for metrics and retention checks). */
  sizeBytes(): Promise<number>;
  /** Waits for running commits, closes views, releases the store. Idempotent. */
  close(): Promise<void>;
}

/** Longest key any backend must accept (LMDB's default limit is 1,978 bytes). */
export const MAX_KEY_BYTES = 1024;

/** Bounds that include every valid key. */
export const KEYSPACE: KeyRange = { start: ' ', end: '\x7f' };

/** The smallest range bound above `key` and below every other key that sorts after it. */
export function keyAfter(key: string): string {
  return `${key}\x01`;
}

/** The range of every key that starts with `prefix`. */
export function prefixRange(prefix: string): KeyRange {
  if (prefix.length === 0) return KEYSPACE;
  const last = prefix.charCodeAt(prefix.length - 1);
  return { start: prefix, end: prefix.slice(0, -1) + String.fromCharCode(last + 1) };
}

const BOUND_CHARS = /^[\x01-\x7f]*$/;

export function isValidKey(key: unknown): key is string {
  if (typeof key !== 'string') return false;
  const n = key.length;
  if (n === 0 || n > MAX_KEY_BYTES) return false;
  // A char loop rather than a regex: every key of every commit passes here (the hot path).
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

function isValidBound(bound: unknown): bound is string {
  return typeof bound === 'string' && bound.length <= MAX_KEY_BYTES + 1 && BOUND_CHARS.test(bound);
}

function invalid(backend: string, problem: string): StoreError {
  return new StoreError(
    LogErrorCode.COMMIT_INVALID,
    `invalid store commit: ${problem} (a bug in the caller; nothing was applied)`,
    { backend },
  );
}

/** Validates scan bounds; throws StoreError COMMIT_INVALID (reads share the key rules). */
export function checkRange(range: KeyRange, backend: string): void {
  if (!isValidBound(range.start) || !isValidBound(range.end)) {
    throw invalid(backend, `range bounds must be ASCII 0x01-0x7f strings, got ${JSON.stringify(range)}`);
  }
}

/**
 * Checks `ops` and `guards` against the portable contract every backend enforces the same way,
 * so a commit that LMDB accepts is one etcd accepts too: valid keys; each key at most once
 * among puts and deletes (etcd rejects duplicate keys in a Txn); no put or delete inside a
 * deleteRange of the same commit (etcd rejects overlaps); start < end; within `limits`.
 */
export function checkCommit(ops: readonly StoreOp[], guards: readonly CommitGuard[], limits: StoreLimits, backend: string): void {
  if (ops.length > limits.maxOpsPerCommit) {
    throw invalid(backend, `${ops.length} ops exceed this backend's limit of ${limits.maxOpsPerCommit} per commit`);
  }
  // Keys in strictly ascending order cannot repeat: such a commit (the log writes its large
  // ones sorted) needs no set of its keys, only a comparison with the previous key.
  let ascending = true;
  let previous = '';
  for (const op of ops) {
    if (op.type === 'deleteRange' || !(op.key > previous)) {
      ascending = false;
      break;
    }
    previous = op.key;
  }
  const keys = ascending ? undefined : new Set<string>();
  const ranges: KeyRange[] = [];
  let bytes = 0;
  for (const op of ops) {
    if (op.type === 'deleteRange') {
      checkRange(op, backend);
      if (!(op.start < op.end)) throw invalid(backend, `deleteRange start must sort before end: ${JSON.stringify(op)}`);
      ranges.push(op);
      bytes += op.start.length + op.end.length;
      continue;
    }
    const key = op.key;
    if (!isValidKey(key)) throw invalid(backend, `key ${JSON.stringify(key)} is not 1-${MAX_KEY_BYTES} printable ASCII characters`);
    if (keys) {
      const before = keys.size;
      keys.add(key); // one hash lookup: a duplicate leaves the size unchanged
      if (keys.size === before) throw invalid(backend, `key ${JSON.stringify(key)} appears twice`);
    }
    bytes += key.length;
    if (op.type === 'put') {
      const value = op.value;
      if (!(value instanceof Uint8Array)) throw invalid(backend, `value of ${JSON.stringify(key)} is not a Uint8Array`);
      if (value.byteLength > limits.maxValueBytes) {
        throw invalid(backend, `value of ${JSON.stringify(key)} has ${value.byteLength} bytes, limit ${limits.maxValueBytes}`);
      }
      bytes += value.byteLength;
    }
  }
  if (bytes > limits.maxBytesPerCommit) {
    throw invalid(backend, `${bytes} bytes exceed this backend's limit of ${limits.maxBytesPerCommit} per commit`);
  }
  for (const range of ranges) {
    for (const key of keys ?? []) {
      if (key >= range.start && key < range.end) {
        throw invalid(backend, `key ${JSON.stringify(key)} is also inside deleteRange ${JSON.stringify(range)}`);
      }
    }
  }
  const guardKeys = new Set<string>();
  for (const guard of guards) {
    if (!isValidKey(guard.key)) throw invalid(backend, `guard key ${JSON.stringify(guard.key)} is not valid`);
    if (guardKeys.has(guard.key)) throw invalid(backend, `guard key ${JSON.stringify(guard.key)} appears twice`);
    if (guard.equals !== undefined && !(guard.equals instanceof Uint8Array)) {
      throw invalid(backend, `guard value of ${JSON.stringify(guard.key)} is not a Uint8Array`);
    }
    guardKeys.add(guard.key);
  }
}

/** Byte-wise equality of two optional values (guards compare this way on every backend). */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
