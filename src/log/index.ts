// The log module's face: the durable, versioned update log (docs/design.md §1–4, §7, §8) and its
// store backends. See update-log.ts for the guarantees, store.ts for the backend contract.
export { UpdateLog } from './update-log.ts';
export type { WriterToken } from './fence.ts';
export { claimWriterFence } from './fence.ts';
export type {
  UpdateState,
  PendingUpdate,
  ScopeLink,
  CommittedUpdate,
  ScopedEntry,
  CommittedBatch,
  CommitOptions,
  ReadTailOptions,
  TailPage,
  SnapshotEntry,
  SnapshotChunkOptions,
  SnapshotReader,
  CompactOptions,
  CompactionResult,
  ObjectRecord,
  LogStats,
  UpdateLogOptions,
  LogState,
} from './types.ts';
export type {
  StoreOp,
  KeyRange,
  ScanOptions,
  StoreReader,
  StoreView,
  CommitGuard,
  StoreLimits,
  UpdateStore,
} from './store.ts';
export { KEYSPACE, MAX_KEY_BYTES, keyAfter, prefixRange } from './store.ts';
export {
  LogErrorCode,
  StoreError,
  LogError,
  HistoryCompactedError,
  PartialCommitError,
  BatchTooLargeError,
  isStoreError,
} from './errors.ts';
export type { StoreErrorCode, StoreErrorDetails } from './errors.ts';
export type { LmdbStoreOptions } from './stores/lmdb-store.ts';
export { openLmdbStore } from './stores/lmdb-store.ts';
export type { EtcdStoreOptions } from './stores/etcd-store.ts';
export { openEtcdStore } from './stores/etcd-store.ts';
export type { ReadOnlyStore } from './stores/lmdb-readonly.ts';
export { openLmdbReadOnly } from './stores/lmdb-readonly.ts';
export type { StoreKeyKind, DumpedEntry, ScopeObject, ScopeDump } from './store-dump.ts';
export { storeKeyKind, describeStoreEntry, readScopeDump, identify as identifyPayload } from './store-dump.ts';
