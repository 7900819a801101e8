import type { Clock, Logger } from '../core/index.ts';
import type { CommitGuard } from './store.ts';

/**
 * What an update does to the current state of each scope it is published on:
 * - `upsert`: the object is present in the scope (created or changed);
 * - `tombstone`: the object was deleted; the scope keeps it, marked deleted, until compaction's
 *   tombstone retention passes, so consumers that reconnect learn about the deletion;
 * - `remove`: the object left the scope (scope exit); its payload is the exit message. It does
 *   not change the object's global latest state (`getObject`).
 */
export type UpdateState = 'upsert' | 'tombstone' | 'remove';

/** One update to commit. The payload is opaque bytes (the schema module encodes it once). */
export interface PendingUpdate {
  /** `<kind>/<uid>`: identity by uid, never by name or IP (docs/design.md §8). */
  objectKey: string;
  payload: Uint8Array;
  /** Every scope it is published on ('cluster', 'node/<name>'); at least one, no duplicates. */
  scopes: readonly string[];
  state: UpdateState;
  /** Optional, for per-kind counters in `stats()`. */
  kind?: string;
  /**
   * The update presents the object to these scopes without changing the object itself: an
   * object entering a node's scope, or a node-specific view of it (docs/design.md §5). Its scopes'
   * current state moves as usual, but the object table (`getObject`, `readObjects`) keeps the
   * latest state from the updates that do change the object (those on the cluster scope).
   * Saves one store write per such update; about half of an initial sync's updates are these.
   */
  viewOnly?: boolean;
}

/** The place of a committed update in one scope's chain (docs/design.md §2). */
export interface ScopeLink {
  scope: string;
  /** The version of the previous update on this scope; 0 for the scope's first. */
  prevVersion: number;
}

export interface CommittedUpdate {
  /** Assigned at commit, strictly increasing, never reused (docs/design.md §1). */
  version: number;
  objectKey: string;
  state: UpdateState;
  kind: string | undefined;
  payload: Uint8Array;
  scopes: readonly ScopeLink[];
}

/** One update as a scope's subject carries it. */
export interface ScopedEntry {
  version: number;
  prevVersion: number;
  payload: Uint8Array;
}

/**
 * A durable batch: what the publisher sends (docs/design.md §3: it exists only after the store
 * commit resolved). An empty batch has `firstVersion = lastVersion + 1`.
 */
export interface CommittedBatch {
  streamId: string;
  firstVersion: number;
  lastVersion: number;
  committedAtMs: number;
  updates: readonly CommittedUpdate[];
  /** Per scope, in version order, each entry chaining on the one before (docs/design.md §2). */
  byScope: ReadonlyMap<string, readonly ScopedEntry[]>;
  /**
   * Present when the batch was committed with `pipelined`: it is applied (the next commit may
   * start) but is publishable only once this resolves (docs/design.md §3). A rejection means the
   * store could not make it durable; the log has failed.
   */
  durable?: Promise<void>;
}

export interface CommitOptions {
  /** Source resourceVersions per kind, written in the same store commit as the updates. */
  resourceVersions?: Readonly<Record<string, string>>;
  /**
   * Named metadata values (agent registry, process table, publish position) written in the same
   * store commit; `null` deletes. Read them back with `getMeta` / `listMeta`.
   */
  meta?: Readonly<Record<string, Uint8Array | null>>;
  /** Fencing: the commit applies only if this guard holds (the writer fence, fence.ts). */
  guard?: CommitGuard;
  /**
   * All or nothing, even on a backend with per-commit limits: when the batch needs more than
   * one store commit, reject it with LOG_BATCH_TOO_LARGE before committing anything (default
   * false: split it, and report a failure after some parts with PartialCommitError). The
   * service's committer sets it so that one Kubernetes event's updates are never torn apart
   * by a crash or a fence between parts, and splits the batch between events itself.
   */
  atomic?: boolean;
  /**
   * Resolve once the batch is applied instead of once it is durable, where the store can
   * tell the two apart (LMDB): the batch's `durable` promise says when it may be published,
   * and the next commit need not wait for this one's flush. Only for a batch that is one
   * store commit; otherwise (and on etcd) the commit is durable when it resolves.
   */
  pipelined?: boolean;
  /**
   * False: commit the updates as current state only, without per-scope index entries — the
   * initial sync of a new stream, which no consumer can have followed (the service then raises
   * the floor above them with `raiseFloor`, so tails across them are answered by snapshot and
   * the publisher's catch-up skips them). Their current state (c/ and o/ entries) is held by
   * the log and written in key order by `raiseFloor` (or a graceful `close`), not by each
   * commit: reading current state meanwhile is refused with LOG_STATE_PENDING, and a crash
   * before it loses that state (the history records and heads stay), so the caller must be able
   * to commit it again (state-spool.ts). Default true.
   */
  history?: boolean;
  /** Aborts while waiting for earlier commits; a store commit once started is not cancelled. */
  signal?: AbortSignal;
}

export interface ReadTailOptions {
  /** Most entries in this page (default 1,000). */
  limit?: number;
  /** Stop adding entries once the payloads reach this many bytes (default 1 MiB); ≥ 1 entry. */
  maxBytes?: number;
}

export interface TailPage {
  /**
   * Updates on the scope after `after`, in version order, each chaining on the one before. The
   * first one's prevVersion is `after` — or lower, if `after` is not a version of this scope.
   */
  entries: ScopedEntry[];
  /** Pass as `after` for the next page; undefined when this page reached `scopeHead`. */
  next: number | undefined;
  /** The scope's head when the page was read. */
  scopeHead: number;
}

/** One object of a scope's current state. */
export interface SnapshotEntry {
  objectKey: string;
  /** The version of the object's last update on this scope. */
  version: number;
  payload: Uint8Array;
  /** A tombstone kept for retention: the object was deleted. */
  deleted: boolean;
}

export interface SnapshotChunkOptions {
  /** Most entries per chunk (default 500). */
  maxEntries?: number;
  /** Stop adding entries once payloads reach this many bytes (default 256 KiB); ≥ 1 entry. */
  maxBytes?: number;
  signal?: AbortSignal;
}

/**
 * A consistent view of one scope's current state at `version` (the scope's head when it was
 * opened). Replay sends the chunks, then the tail after `version` (docs/design.md §4). Holds a store
 * read view (an LMDB read transaction): iterate promptly and close it — `chunks()` closes it
 * when the iteration ends or breaks; `close()` is idempotent.
 */
export interface SnapshotReader {
  readonly scope: string;
  readonly version: number;
  readonly streamId: string;
  chunks(options?: SnapshotChunkOptions): AsyncIterable<SnapshotEntry[]>;
  close(): void;
}

/**
 * History (tails) outside EITHER window is dropped, so the stricter one wins and storage stays
 * bounded by `keepUpdates` whatever the update rate. Give one or both; with neither, history is
 * kept and only tombstones (and unreferenced records) are collected.
 */
export interface CompactOptions {
  /** Keep at most the newest `keepUpdates` versions of history. */
  keepUpdates?: number;
  /** Keep only history committed within the last `keepAgeMs`. */
  keepAgeMs?: number;
  /** Drop tombstones (state and object table) older than this. */
  tombstoneRetentionMs?: number;
  /** Most store ops per compaction commit (default 2,000, capped by the store's limits). */
  maxOpsPerCommit?: number;
  guard?: CommitGuard;
  signal?: AbortSignal;
}

export interface CompactionResult {
  /** History below this version is gone. */
  floor: number;
  historyDropped: number;
  /** History records kept below the floor for current state, collected once unreferenced. */
  pinnedCollected: number;
  tombstonesDropped: number;
  commits: number;
}

/** The latest state of one object, whatever scope it was last published on. */
export interface ObjectRecord {
  objectKey: string;
  version: number;
  payload: Uint8Array;
  deleted: boolean;
  deletedAtMs: number | undefined;
}

export interface LogStats {
  head: number;
  floor: number;
  scopes: number;
  commits: number;
  updatesCommitted: number;
  failedCommits: number;
  updatesByKind: Readonly<Record<string, number>>;
  lastCommitMs: number | undefined;
}

export interface UpdateLogOptions {
  clock?: Clock;
  logger?: Logger;
  /** commit() calls that may wait behind the running one before new ones are refused (64). */
  maxQueuedCommits?: number;
  /**
   * The writer fence from claimWriterFence (HA): every store commit of this log carries it, and
   * once it fails the log stops with LOG_WRITER_FENCED.
   */
  fence?: CommitGuard;
}

export type LogState = 'open' | 'closing' | 'closed' | 'failed';
