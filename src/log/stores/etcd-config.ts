/**
 * Options of the etcd store (etcd-store.ts), validated into a config, and what follows from
 * them: the etcd3 client options (TLS, auth, deadlines, one attempt per call) and the limits of
 * one commit derived from the server's --max-txn-ops and --max-request-bytes.
 */
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import type { IOptions } from 'etcd3';
import { systemClock, type Clock } from '../../core/index.ts';
import { LogErrorCode, StoreError, type StoreErrorCode } from '../errors.ts';
import { MAX_KEY_BYTES, type StoreLimits } from '../store.ts';

export interface EtcdStoreOptions {
  /** Client URLs of the etcd members, all `http://` or all `https://` (e.g. `https://etcd-0:2379`). */
  endpoints: readonly string[];
  /**
   * Every key of the store starts with this (default `kubemeta/default/`; use one per cluster,
   * e.g. `kubemeta/<cluster>/`). Printable ASCII, at most 256 characters.
   */
  keyPrefix?: string;
  /** PEM file of the CA that signed the etcd server certificates (default: the system CAs). */
  caFile?: string;
  /** PEM client certificate for etcd's --client-cert-auth; needs `keyFile`. */
  certFile?: string;
  /** PEM private key of `certFile`. */
  keyFile?: string;
  /** etcd user (etcd auth enabled); needs `password`. */
  username?: string;
  /** Password of `username`. Never logged nor put into messages. */
  password?: string;
  /** The server's --max-txn-ops (default 128, etcd's default): most ops in one commit. */
  maxTxnOps?: number;
  /** The server's --max-request-bytes (default 1.5 MiB, etcd's default). */
  maxRequestBytes?: number;
  /** Deadline of each etcd call, default 10 s. A commit past it is reported `ambiguous`. */
  requestTimeoutMs?: number;
  /** Compaction of etcd's own revision history (etcd-store.ts, "History"); `false` leaves it to etcd. */
  historyCompaction?: false | { retentionMs?: number; intervalMs?: number };
  /**
   * etcd's --backend-batch-interval (default 100 ms): etcd reports its size as of its last backend
   * commit, so sizeBytes() waits this long after a commit of this store before asking.
   */
  backendBatchIntervalMs?: number;
  /**
   * Time for the history retention and for short waits (read retries, sizeBytes); default the
   * system clock. It must advance: sizeBytes() and retries sleep on it.
   */
  clock?: Clock;
}

export const BACKEND = 'etcd';
const DEFAULT_PREFIX = 'kubemeta/default/';
const DEFAULT_MAX_TXN_OPS = 128;
const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETENTION_MS = 5 * 60_000;
const DEFAULT_COMPACTION_INTERVAL_MS = 60_000;
/** Protobuf framing of one op (RequestOp, PutRequest, lengths), rounded up. */
export const OP_OVERHEAD_BYTES = 32;
/** The raft request around a Txn (InternalRaftRequest header), rounded up. */
const REQUEST_OVERHEAD_BYTES = 4096;
/** Room kept for guards: their compares and the failure branch that reads them back. */
export const GUARD_RESERVE_BYTES = 16 * 1024;
type GlobalPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** Runs each call once (etcd-store.ts, "Errors", says why the client's own retries are off). */
const ONE_ATTEMPT: GlobalPolicy = {
  _altReturn: undefined as never,
  onSuccess: () => ({ dispose: () => undefined }),
  onFailure: () => ({ dispose: () => undefined }),
  execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
    return Promise.resolve().then(() => fn({ signal: signal ?? new AbortController().signal }));
  },
};

export interface EtcdConfig {
  endpoints: readonly string[];
  prefix: string;
  maxTxnOps: number;
  maxRequestBytes: number;
  requestTimeoutMs: number;
  compaction: { retentionMs: number; intervalMs: number } | undefined;
  batchIntervalMs: number;
  clock: Clock;
  location: string;
}

export function storeError(code: StoreErrorCode, message: string, cause?: unknown, extra: { ambiguous?: boolean; key?: string } = {}): StoreError {
  return new StoreError(code, message, { backend: BACKEND, ...extra }, cause === undefined ? undefined : { cause });
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function openFailed(message: string, cause?: unknown): StoreError {
  return storeError(LogErrorCode.STORE_OPEN_FAILED, message, cause);
}

function isPrintableAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

/** Validates options into a config; throws STORE_OPEN_FAILED naming the option. */
export function compileOptions(options: EtcdStoreOptions): EtcdConfig {
  const endpoints = [...options.endpoints];
  if (endpoints.length === 0 || !endpoints.every((e) => /^https?:\/\/[^/\s]+$/.test(e))) {
    throw openFailed(`etcd endpoints must be http(s)://host:port URLs, got ${JSON.stringify(endpoints)}`);
  }
  const tls = endpoints[0]?.startsWith('https:') === true;
  if (!endpoints.every((e) => e.startsWith('https:') === tls)) throw openFailed('etcd endpoints must be all http:// or all https://');
  if (!tls && (options.caFile ?? options.certFile ?? options.keyFile) !== undefined) {
    throw openFailed('etcd TLS files are set but the endpoints are http://: use https:// endpoints');
  }
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
    throw openFailed('an etcd client certificate needs its key (and the key its certificate)');
  }
  if ((options.username === undefined) !== (options.password === undefined)) throw openFailed('etcd user and password go together');
  const prefix = options.keyPrefix ?? DEFAULT_PREFIX;
  if (prefix.length === 0 || prefix.length > 256 || !isPrintableAscii(prefix)) {
    throw openFailed(`etcd key prefix must be 1-256 printable ASCII characters, got ${JSON.stringify(prefix)}`);
  }
  const positive = (name: string, value: number | undefined, fallback: number, min: number): number => {
    const v = value ?? fallback;
    if (!Number.isSafeInteger(v) || v < min) throw openFailed(`etcd option ${name} must be an integer >= ${min}, got ${String(v)}`);
    return v;
  };
  const hc = options.historyCompaction;
  return {
    endpoints,
    prefix,
    maxTxnOps: positive('maxTxnOps', options.maxTxnOps, DEFAULT_MAX_TXN_OPS, 8),
    maxRequestBytes: positive('maxRequestBytes', options.maxRequestBytes, DEFAULT_MAX_REQUEST_BYTES, 128 * 1024),
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, DEFAULT_TIMEOUT_MS, 1),
    compaction:
      hc === false
        ? undefined
        : {
            retentionMs: positive('historyCompaction.retentionMs', hc?.retentionMs, DEFAULT_RETENTION_MS, 0),
            intervalMs: positive('historyCompaction.intervalMs', hc?.intervalMs, DEFAULT_COMPACTION_INTERVAL_MS, 0),
          },
    batchIntervalMs: positive('backendBatchIntervalMs', options.backendBatchIntervalMs, 100, 0),
    clock: options.clock ?? systemClock,
    location: `${endpoints.join(',')} (key prefix ${JSON.stringify(prefix)})`,
  };
}

/** What one commit may hold, from the server's limits (etcd-store.ts, "Limits"). */
export function limitsOf(config: EtcdConfig): StoreLimits {
  const perOp = 2 * config.prefix.length + OP_OVERHEAD_BYTES;
  const maxBytesPerCommit = config.maxRequestBytes - REQUEST_OVERHEAD_BYTES - GUARD_RESERVE_BYTES - config.maxTxnOps * perOp;
  if (maxBytesPerCommit < 32 * 1024) {
    throw openFailed(`etcd maxRequestBytes ${config.maxRequestBytes} leaves too little room for ${config.maxTxnOps} ops per commit`);
  }
  return Object.freeze({ maxOpsPerCommit: config.maxTxnOps, maxBytesPerCommit, maxValueBytes: maxBytesPerCommit - MAX_KEY_BYTES });
}

async function readPem(what: string, path: string | undefined): Promise<Buffer | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path);
  } catch (err) {
    throw openFailed(`cannot read the etcd ${what} file ${path}: ${messageOf(err)}`, err);
  }
}

export async function clientOptions(options: EtcdStoreOptions, config: EtcdConfig): Promise<IOptions> {
  const ca = await readPem('CA', options.caFile);
  const cert = await readPem('client certificate', options.certFile);
  const key = await readPem('client key', options.keyFile);
  const timeout = config.requestTimeoutMs;
  return {
    hosts: [...config.endpoints],
    ...(ca || cert
      ? { credentials: { rootCertificate: ca ?? Buffer.from(rootCertificates.join('\n')), ...(key ? { privateKey: key } : {}), ...(cert ? { certChain: cert } : {}) } }
      : {}),
    ...(options.username !== undefined && options.password !== undefined ? { auth: { username: options.username, password: options.password } } : {}),
    dialTimeout: timeout,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeout }),
    grpcOptions: { 'grpc.max_receive_message_length': -1 },
    faultHandling: { global: ONE_ATTEMPT },
  };
}

export function openHint(message: string): string {
  if (/authentication failed|user name not found/i.test(message)) return 'etcd refused the user name or password';
  if (/permission denied/i.test(message)) return 'the etcd user may not read the key prefix: grant it read/write on the prefix range';
  if (/No connection established|DEADLINE|UNAVAILABLE|circuit breaker/i.test(message)) {
    return 'no etcd member answered: check the endpoints, that etcd runs, and TLS (https:// endpoints need the CA file unless a public CA signed the server certificate)';
  }
  return 'check the endpoints, TLS files and credentials';
}
