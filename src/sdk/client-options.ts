import { silentLogger, systemClock, type Clock, type Logger } from '../core/index.ts';
import { isValidClusterName, MIN_CHUNK_BYTES, NATS_DEFAULT_MAX_PAYLOAD } from '../schema/index.ts';
import type { ConnectionSource } from './connection.ts';
import { SdkInvalidArgumentError } from './errors.ts';

/** Options both clients take. Durations end in `Ms`. */
export interface ClientOptions extends ConnectionSource {
  /** The cluster name in subjects (`kubemeta.<cluster>.…`), as the service was started with. */
  cluster: string;
  /**
   * Directory for local persistence: state, position and stream id are saved there
   * periodically and on close, and a restart resumes with a tail replay (see docs/sdk.md).
   */
  persistDir?: string;
  /** How often the state is saved when it changed (default 30 s). */
  persistIntervalMs?: number;
  /** How long stopped, exited and vanished objects (and IP history) stay queryable (default 1 h). */
  retentionMs?: number;
  /** Out-of-order updates held while a gap is repaired (default 10,000). */
  maxBufferedUpdates?: number;
  /** Changes buffered per `changes()` reader before it gets an overflow marker (default 10,000). */
  changeBufferSize?: number;
  /** Status events buffered per `status()` reader before the oldest are dropped (default 256). */
  statusBufferSize?: number;
  /** Silence allowed in a replay answer before it is asked again (default 10 s). */
  replayTimeoutMs?: number;
  /** Most tail updates per replay answer (0 = the service's default). */
  replayLimit?: number;
  /** Bound per replay response (0 = the service's default; else 4 KiB – 1 MiB). */
  replayChunkBytes?: number;
  /** How long a heartbeat's head may lead the position before a replay (default 250 ms). */
  heartbeatGraceMs?: number;
  /** How often retention is enforced (default 10 s). */
  sweepIntervalMs?: number;
  /** How long drain() waits for a replay in flight (default 5 s). */
  drainTimeoutMs?: number;
  /** Injected time (tests). */
  clock?: Clock;
  /** Injected randomness for jitter (tests). */
  random?: () => number;
  /** Where the client logs (default: silent; libraries emit, status() reports). */
  logger?: Logger;
  /** Aborts connect(). */
  signal?: AbortSignal;
}

/** Validated, defaulted, frozen options (Temporal's compiled options). */
export interface ClientConfig {
  readonly cluster: string;
  readonly source: ConnectionSource;
  readonly persistDir: string | undefined;
  readonly persistIntervalMs: number;
  readonly retentionMs: number;
  readonly maxBufferedUpdates: number;
  readonly changeBufferSize: number;
  readonly statusBufferSize: number;
  readonly replayTimeoutMs: number;
  readonly replayLimit: number;
  readonly replayChunkBytes: number;
  readonly heartbeatGraceMs: number;
  readonly sweepIntervalMs: number;
  readonly drainTimeoutMs: number;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  readonly signal: AbortSignal | undefined;
}

const COMMON_KEYS = [
  'servers', 'nc', 'natsOptions', 'cluster', 'persistDir', 'persistIntervalMs', 'retentionMs', 'maxBufferedUpdates', 'changeBufferSize',
  'statusBufferSize', 'replayTimeoutMs', 'replayLimit', 'replayChunkBytes', 'heartbeatGraceMs', 'sweepIntervalMs', 'drainTimeoutMs', 'clock', 'random', 'logger', 'signal',
];

/**
 * Checks and freezes the common options; `extraKeys` are the client's own option names.
 * Throws SdkInvalidArgumentError naming the option and what it accepts.
 */
export function compileClientOptions(options: ClientOptions, extraKeys: readonly string[]): ClientConfig {
  if (typeof options !== 'object' || options === null) throw new SdkInvalidArgumentError('options', 'must be an object');
  const known = new Set([...COMMON_KEYS, ...extraKeys]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new SdkInvalidArgumentError(key, `unknown option; known options: ${[...known].join(', ')}`);
  }
  if (typeof options.cluster !== 'string' || !isValidClusterName(options.cluster)) {
    throw new SdkInvalidArgumentError('cluster', `${JSON.stringify(options.cluster)} is not a cluster name (letters, digits, '-', '_', '.')`);
  }
  if ((options.servers === undefined) === (options.nc === undefined)) {
    throw new SdkInvalidArgumentError('servers', 'give exactly one of servers (NATS URLs) or nc (a connection)');
  }
  if (options.persistDir !== undefined && (typeof options.persistDir !== 'string' || options.persistDir === '')) {
    throw new SdkInvalidArgumentError('persistDir', 'must be a directory path');
  }
  const chunk = integer(options, 'replayChunkBytes', 0, 0, NATS_DEFAULT_MAX_PAYLOAD);
  if (chunk !== 0 && chunk < MIN_CHUNK_BYTES) throw new SdkInvalidArgumentError('replayChunkBytes', `must be 0 or at least ${MIN_CHUNK_BYTES}`);
  return Object.freeze({
    cluster: options.cluster,
    source: Object.freeze({ servers: options.servers, nc: options.nc, natsOptions: options.natsOptions }),
    persistDir: options.persistDir,
    persistIntervalMs: integer(options, 'persistIntervalMs', 30_000, 1),
    retentionMs: integer(options, 'retentionMs', 3_600_000, 0),
    maxBufferedUpdates: integer(options, 'maxBufferedUpdates', 10_000, 1),
    changeBufferSize: integer(options, 'changeBufferSize', 10_000, 1),
    statusBufferSize: integer(options, 'statusBufferSize', 256, 1),
    replayTimeoutMs: integer(options, 'replayTimeoutMs', 10_000, 1),
    replayLimit: integer(options, 'replayLimit', 0, 0, 0xffffffff),
    replayChunkBytes: chunk,
    heartbeatGraceMs: integer(options, 'heartbeatGraceMs', 250, 0),
    sweepIntervalMs: integer(options, 'sweepIntervalMs', 10_000, 1),
    drainTimeoutMs: integer(options, 'drainTimeoutMs', 5_000, 0),
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    logger: options.logger ?? silentLogger,
    signal: options.signal,
  });
}

/** An optional integer option within [min, max]. */
export function integer<T extends object>(options: T, key: keyof T & string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = (options as Record<string, unknown>)[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SdkInvalidArgumentError(key, `must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** A required non-empty string option. */
export function requiredString<T extends object>(options: T, key: keyof T & string): string {
  const value = (options as Record<string, unknown>)[key];
  if (typeof value !== 'string' || value === '') throw new SdkInvalidArgumentError(key, 'must be a non-empty string');
  return value;
}
