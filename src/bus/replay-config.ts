import type { NatsConnection } from '@nats-io/transport-node';
import { InvalidArgumentError, systemClock, type Clock, type Logger } from '../core/index.ts';
import { DEFAULT_MAX_CHUNK_BYTES, MIN_CHUNK_BYTES, NATS_DEFAULT_MAX_PAYLOAD } from '../schema/index.ts';
import type { LogState, ReadTailOptions, SnapshotReader, TailPage } from '../log/index.ts';
import type { AdmissionConfig } from './admission.ts';

/**
 * What the replay server reads (the UpdateLog satisfies it): stream id, heads, tail pages and
 * snapshots (docs/design.md §4, §7).
 */
export interface ReplayLog {
  readonly streamId: string;
  readonly head: number;
  readonly state: LogState;
  scopeHead(scope: string): number;
  readTail(scope: string, after: number, options?: ReadTailOptions): Promise<TailPage>;
  openSnapshot(scope: string): Promise<SnapshotReader>;
}

export interface ReplayServerOptions {
  connection: NatsConnection;
  cluster: string;
  log: ReplayLog;
  /** NATS queue group of the replay subscription, so replicas share requests (default 'kubemeta-replay'). */
  queueGroup?: string;
  /** Tail updates per answer when the request says 0 (default 100,000). */
  defaultLimit?: number;
  /** Largest `limit` accepted; above it INVALID_LIMIT (default 1,000,000). */
  maxLimit?: number;
  /** Response size when the request says 0 (default 256 KiB); always ≤ the server's max_payload. */
  defaultChunkBytes?: number;
  /** Unacknowledged responses per answer (default 4). */
  maxUnackedResponses?: number;
  /** An answer whose window stays full this long without an ack is aborted (default 10 s). */
  ackTimeoutMs?: number;
  /** Answers streaming at once, all requesters together (default 64). */
  maxConcurrentAnswers?: number;
  /** Requests waiting for a slot; beyond it BUSY (default 512). */
  maxQueuedRequests?: number;
  /** A request waiting longer than this for a slot gets BUSY (default 5 s). */
  maxQueueWaitMs?: number;
  /** retry_after_ms sent with BUSY when the server is full (default 1 s). */
  busyRetryAfterMs?: number;
  /** Sustained requests per second per requester (default 10). */
  requesterRatePerSec?: number;
  /** Burst of requests per requester (default 20). */
  requesterBurst?: number;
  /** Answers one requester may have running or queued (default 8). */
  maxAnswersPerRequester?: number;
  /** Requesters whose rate state is remembered (default 10,000). */
  maxTrackedRequesters?: number;
  /** Identical concurrent snapshot requests share one store read (default true). */
  shareSnapshots?: boolean;
  /** Chunks one shared snapshot read buffers for its slowest requester (default 16). */
  sharedSnapshotChunks?: number;
  /** Entries per snapshot chunk read from the store (default 512). */
  snapshotReadEntries?: number;
  /** Payload bytes per snapshot chunk read from the store, for large objects (default 1 MiB). */
  snapshotReadBytes?: number;
  /** false while the service cannot answer (starting, not the leader): requests get UNAVAILABLE. */
  available?: () => boolean;
  /** retry_after_ms sent with UNAVAILABLE (default 1 s). */
  unavailableRetryAfterMs?: number;
  /**
   * Answer a replay of scope S only into a reply inbox under `_INBOX.<subject of S>.` (what the
   * SDK uses), else BAD_REQUEST. With NATS permissions that confine each user's inboxes to its
   * scope, a user can then read only the scopes it may subscribe to (docs/security.md).
   * Default false.
   */
  requireScopedInboxes?: boolean;
  clock?: Clock;
  logger?: Logger;
  /** Aborting it closes the server (answers in flight end with ABORTED). */
  signal?: AbortSignal;
}

/** Validated, defaulted, frozen options; admission's own (admission.ts) under the same names. */
export interface ReplayServerConfig
  extends Pick<AdmissionConfig, 'maxQueueWaitMs' | 'busyRetryAfterMs' | 'requesterRatePerSec' | 'requesterBurst' | 'maxAnswersPerRequester' | 'maxTrackedRequesters'> {
  readonly queueGroup: string;
  readonly defaultLimit: number;
  readonly maxLimit: number;
  readonly defaultChunkBytes: number;
  readonly maxUnackedResponses: number;
  readonly ackTimeoutMs: number;
  readonly maxConcurrentAnswers: number;
  readonly maxQueuedRequests: number;
  readonly shareSnapshots: boolean;
  readonly sharedSnapshotChunks: number;
  readonly snapshotReadEntries: number;
  readonly snapshotReadBytes: number;
  readonly unavailableRetryAfterMs: number;
  readonly requireScopedInboxes: boolean;
  readonly available: () => boolean;
  readonly clock: Clock;
}

function int(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`replay server option ${name}`, `must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) {
    throw new InvalidArgumentError(`replay server option ${name}`, `must be a positive number, got ${String(v)}`);
  }
  return v;
}

const U32 = 0xffffffff;
const HOUR_MS = 3_600_000;

/** Checks options and applies defaults; throws InvalidArgumentError naming the option. */
export function compileReplayOptions(o: ReplayServerOptions): ReplayServerConfig {
  const maxLimit = int('maxLimit', o.maxLimit, 1_000_000, 1, U32);
  const queueGroup = o.queueGroup ?? 'kubemeta-replay';
  if (!/^[A-Za-z0-9_.-]+$/.test(queueGroup)) {
    throw new InvalidArgumentError('replay server option queueGroup', `must be a NATS queue name ([A-Za-z0-9_.-]+), got ${JSON.stringify(queueGroup)}`);
  }
  return Object.freeze({
    queueGroup,
    maxLimit,
    defaultLimit: int('defaultLimit', o.defaultLimit, Math.min(100_000, maxLimit), 1, maxLimit),
    defaultChunkBytes: int('defaultChunkBytes', o.defaultChunkBytes, DEFAULT_MAX_CHUNK_BYTES, MIN_CHUNK_BYTES, NATS_DEFAULT_MAX_PAYLOAD),
    maxUnackedResponses: int('maxUnackedResponses', o.maxUnackedResponses, 4, 1, 1024),
    ackTimeoutMs: int('ackTimeoutMs', o.ackTimeoutMs, 10_000, 1, HOUR_MS),
    maxConcurrentAnswers: int('maxConcurrentAnswers', o.maxConcurrentAnswers, 64, 1, 100_000),
    maxQueuedRequests: int('maxQueuedRequests', o.maxQueuedRequests, 512, 0, 1_000_000),
    maxQueueWaitMs: int('maxQueueWaitMs', o.maxQueueWaitMs, 5_000, 1, HOUR_MS),
    busyRetryAfterMs: int('busyRetryAfterMs', o.busyRetryAfterMs, 1_000, 1, HOUR_MS),
    requesterRatePerSec: positive('requesterRatePerSec', o.requesterRatePerSec, 10),
    requesterBurst: int('requesterBurst', o.requesterBurst, 20, 1, 1_000_000),
    maxAnswersPerRequester: int('maxAnswersPerRequester', o.maxAnswersPerRequester, 8, 1, 1_000_000),
    maxTrackedRequesters: int('maxTrackedRequesters', o.maxTrackedRequesters, 10_000, 1, 10_000_000),
    shareSnapshots: o.shareSnapshots ?? true,
    sharedSnapshotChunks: int('sharedSnapshotChunks', o.sharedSnapshotChunks, 16, 1, 10_000),
    snapshotReadEntries: int('snapshotReadEntries', o.snapshotReadEntries, 512, 1, 100_000),
    snapshotReadBytes: int('snapshotReadBytes', o.snapshotReadBytes, 1024 * 1024, 1024, 64 * 1024 * 1024),
    unavailableRetryAfterMs: int('unavailableRetryAfterMs', o.unavailableRetryAfterMs, 1_000, 1, HOUR_MS),
    requireScopedInboxes: o.requireScopedInboxes ?? false,
    available: o.available ?? (() => true),
    clock: o.clock ?? systemClock,
  });
}
