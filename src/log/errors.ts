import { KubemetaError } from '../core/index.ts';
import type { CommittedBatch } from './types.ts';

/**
 * Every error code the log module raises (docs/errors.md lists them with what to do).
 * Store codes come from a backend (LMDB or etcd) and mean the same on each.
 */
export const LogErrorCode = {
  /** The store could not be opened: directory missing/not writable, lock or format problem. */
  STORE_OPEN_FAILED: 'LOG_STORE_OPEN_FAILED',
  /** A store commit failed; nothing of it was applied (unless `ambiguous` says otherwise). */
  COMMIT_FAILED: 'LOG_COMMIT_FAILED',
  /** A commit guard did not hold (another writer, or a deposed leader's fence); nothing applied. */
  GUARD_FAILED: 'LOG_GUARD_FAILED',
  /** The disk (or the configured map) is full; compact, free disk space, or grow the volume. */
  STORE_FULL: 'LOG_STORE_FULL',
  /** The store or view was used after close(). */
  STORE_CLOSED: 'LOG_STORE_CLOSED',
  /** A commit broke the portable StoreOp contract (bad key, duplicate key, overlap, too big). */
  COMMIT_INVALID: 'LOG_COMMIT_INVALID',
  /** A read from the store failed. */
  READ_FAILED: 'LOG_READ_FAILED',
  /** A stored record does not decode: the store is damaged or was written by something else. */
  RECORD_CORRUPT: 'LOG_RECORD_CORRUPT',
  /** The store holds data that is not a kubemeta log, or a newer log format. */
  STORE_UNRECOGNIZED: 'LOG_STORE_UNRECOGNIZED',
  /** Another writer advanced the log under us; only one process may write a log. */
  WRITER_CONFLICT: 'LOG_WRITER_CONFLICT',
  /** A newer leader claimed the store (fence.ts): this writer was deposed and must not write. */
  WRITER_FENCED: 'LOG_WRITER_FENCED',
  /** Versions would pass Number.MAX_SAFE_INTEGER. */
  VERSION_EXHAUSTED: 'LOG_VERSION_EXHAUSTED',
  /** Replay asked for history that compaction dropped: answer with a snapshot (docs/design.md §4). */
  HISTORY_COMPACTED: 'LOG_HISTORY_COMPACTED',
  /** Replay asked for a version beyond the scope's head: the consumer's state is not ours. */
  VERSION_AHEAD: 'LOG_VERSION_AHEAD',
  /** Too many commit() calls are waiting; batch updates into fewer, larger commits. */
  COMMIT_QUEUE_FULL: 'LOG_COMMIT_QUEUE_FULL',
  /** A batch was split to fit the store's limits and only a prefix committed (see `committed`). */
  COMMIT_PARTIAL: 'LOG_COMMIT_PARTIAL',
  /** One update alone is larger than the store accepts in a single commit. */
  UPDATE_TOO_LARGE: 'LOG_UPDATE_TOO_LARGE',
  /**
   * A commit asked to be atomic (`CommitOptions.atomic`) needs more than one store commit on
   * this backend (etcd's transaction limits); nothing was committed. Commit fewer updates.
   */
  BATCH_TOO_LARGE: 'LOG_BATCH_TOO_LARGE',
  /** The log was closed, or failed and must be reopened. */
  LOG_CLOSED: 'LOG_CLOSED',
  /**
   * Current state was asked for while the log holds the state of commits made as state
   * (`CommitOptions.history` false), which `raiseFloor` writes: read after the sync ends.
   */
  STATE_PENDING: 'LOG_STATE_PENDING',
} as const;

export type LogErrorCode = (typeof LogErrorCode)[keyof typeof LogErrorCode];

export type StoreErrorCode =
  | typeof LogErrorCode.STORE_OPEN_FAILED
  | typeof LogErrorCode.COMMIT_FAILED
  | typeof LogErrorCode.GUARD_FAILED
  | typeof LogErrorCode.STORE_FULL
  | typeof LogErrorCode.STORE_CLOSED
  | typeof LogErrorCode.COMMIT_INVALID
  | typeof LogErrorCode.READ_FAILED;

export interface StoreErrorDetails {
  /** 'lmdb', 'etcd', ... */
  backend: string;
  /**
   * True when the backend cannot tell whether the commit was applied (e.g. a network error
   * after an etcd transaction was sent). The log then re-reads its heads before the next
   * commit, so an applied-but-unreported commit never leads to a reused version (§1).
   * Always false for LMDB: its commits either happen or do not.
   */
  ambiguous?: boolean;
  /** For GUARD_FAILED: the key whose value did not match. */
  key?: string;
}

/** A store backend failed; `code` says how, `backend` which one. */
export class StoreError extends KubemetaError {
  declare readonly code: StoreErrorCode;
  readonly backend: string;
  readonly ambiguous: boolean;
  readonly key: string | undefined;

  constructor(code: StoreErrorCode, message: string, details: StoreErrorDetails, options?: ErrorOptions) {
    super(code, message, options);
    this.backend = details.backend;
    this.ambiguous = details.ambiguous ?? false;
    this.key = details.key;
  }
}

/** True for a StoreError with `code` (also across duplicate installs, via the KubemetaError brand). */
export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return KubemetaError.is(err) && 'backend' in err && (code === undefined || err.code === code);
}

/** A log-level failure with one of the LOG_* codes that are not store codes. */
export class LogError extends KubemetaError {
  declare readonly code: LogErrorCode;
  constructor(code: LogErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/**
 * Replay asked for updates after `after`, but compaction dropped part of (after, head] on this
 * scope. The caller answers with a snapshot of the scope and then the tail after the
 * snapshot's version (docs/design.md §4).
 */
export class HistoryCompactedError extends LogError {
  /** The scope asked for; '*' for the whole stream (readHistory). */
  readonly scope: string;
  readonly after: number;
  readonly floor: number;
  constructor(scope: string, after: number, floor: number) {
    super(
      LogErrorCode.HISTORY_COMPACTED,
      scope === '*'
        ? `history after version ${after} was compacted (floor ${floor}); continue from version ${floor - 1}: ` +
            'consumers that missed the compacted updates recover by snapshot'
        : `history of scope ${JSON.stringify(scope)} after version ${after} was compacted (floor ${floor}); ` +
            'answer with a snapshot of the scope, then the tail after the snapshot version',
    );
    this.scope = scope;
    this.after = after;
    this.floor = floor;
  }
}

/**
 * A batch was too big for one store commit, so the log committed it in parts, and a later part
 * failed. `committed` holds the parts that ARE durable: publish them (docs/design.md §3), then retry
 * the remaining updates (`remaining` of them, the batch's tail) in a new commit.
 */
export class PartialCommitError extends LogError {
  declare readonly committed: CommittedBatch;
  readonly remaining: number;
  constructor(committed: CommittedBatch, remaining: number, cause: unknown) {
    super(
      LogErrorCode.COMMIT_PARTIAL,
      `only part of the batch committed (${remaining} updates did not); publish the committed part ` +
        '(error.committed), then commit the remaining updates again',
      { cause },
    );
    // Not enumerable: loggers serialize an error's own enumerable properties, and this one
    // holds every payload of the committed part.
    Object.defineProperty(this, 'committed', { value: committed, enumerable: false });
    this.remaining = remaining;
  }
}

/**
 * A commit asked to be atomic (`CommitOptions.atomic`) needs more than one store commit on this
 * backend; nothing was committed. `fits` is how many leading updates the first store commit
 * would have held: a caller splitting the batch itself can start with about that many.
 */
export class BatchTooLargeError extends LogError {
  readonly updates: number;
  readonly fits: number;
  constructor(updates: number, parts: number, fits: number, location: string, limits: { maxOpsPerCommit: number; maxBytesPerCommit: number }) {
    super(
      LogErrorCode.BATCH_TOO_LARGE,
      `${updates} updates need ${parts} commits of ${location} (at most ${limits.maxOpsPerCommit} ops and ${limits.maxBytesPerCommit} bytes ` +
        'per commit) and the commit asked to be atomic: nothing was committed; commit fewer updates at once',
    );
    this.updates = updates;
    this.fits = fits;
  }
}
