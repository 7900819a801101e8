import { AuthorizationError, UserAuthenticationExpiredError, connect, type ConnectionOptions } from '@nats-io/transport-node';
import { abortable, sleep } from '../core/index.ts';
import { isStreamId, isVersion, type StreamId, type Version } from '../schema/index.ts';
import { SdkInvalidArgumentError } from './errors.ts';

/** A received message, as much of nats.js's `Msg` as the SDK reads. */
export interface SdkMsg {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly reply?: string;
  readonly headers?: { get(key: string): string; readonly code: number };
}

/**
 * The part of a NATS connection the SDK uses. nats.js's `NatsConnection`
 * (@nats-io/transport-node) satisfies it as is; tests pass an in-memory fake. A small
 * interface at the seam (client-go's ListerWatcher) rather than the whole client.
 */
export interface SdkConnection {
  publish(subject: string, payload?: Uint8Array, options?: { reply?: string }): void;
  subscribe(subject: string, options: { callback: (err: Error | null, msg: SdkMsg) => void }): { unsubscribe(): void };
  request(subject: string, payload: Uint8Array, options: { timeout: number }): Promise<SdkMsg>;
  /** Connection events; the SDK reacts to `disconnect` and `reconnect`. */
  status(): AsyncIterable<{ readonly type: string }>;
  flush(): Promise<void>;
  drain(): Promise<void>;
  close(): Promise<void>;
  isClosed(): boolean;
  getServer(): string;
  /** Reconnects at once (nats.js ≥ 3): moves an agent onto renewed credentials. */
  reconnect?(): Promise<void>;
}

/** NATS headers of a scope heartbeat (an empty message on a scope subject). */
export const HEARTBEAT_STREAM_HEADER = 'kubemeta-stream';
export const HEARTBEAT_HEAD_HEADER = 'kubemeta-head';

/** A scope heartbeat: the scope's head version on stream `streamId`. */
export interface Heartbeat {
  readonly streamId: StreamId;
  readonly head: Version;
}

/**
 * Reads a heartbeat from a message: an empty payload with both headers. Returns undefined for
 * anything else (a batch), and 'invalid' for an empty message whose headers are unusable.
 */
export function readHeartbeat(msg: SdkMsg): Heartbeat | 'invalid' | undefined {
  if (msg.data.length > 0) return undefined;
  const streamId = msg.headers?.get(HEARTBEAT_STREAM_HEADER) ?? '';
  const headText = msg.headers?.get(HEARTBEAT_HEAD_HEADER) ?? '';
  const head = /^\d{1,16}$/.test(headText) ? Number(headText) : Number.NaN;
  if (!isStreamId(streamId) || !isVersion(head)) return 'invalid';
  return { streamId, head };
}

/** How a client gets its NATS connection: its own (closed with the client) or one it borrows. */
export interface ConnectionSource {
  /** NATS server URLs; the client connects (reconnecting forever) and closes on close(). */
  servers?: string | readonly string[];
  /** An existing connection (nats.js NatsConnection); the client never closes it. */
  nc?: SdkConnection;
  /**
   * Extra nats.js connection options when the client connects itself (credentials, TLS …).
   * `servers` above wins.
   */
  natsOptions?: Partial<ConnectionOptions>;
}

export interface OpenedConnection {
  readonly nc: SdkConnection;
  /** True when the client created it (and closes it). */
  readonly owned: boolean;
}

/**
 * Connects (or adopts `nc`), waiting until a server answers; once connected, nats.js reconnects
 * forever. Refused credentials are thrown at once. With `signal`, an abort ends the wait at
 * once and leaves nothing running.
 *
 * The wait is a loop of single attempts here, not nats.js's `waitOnFirstConnect`: that loop
 * cannot be cancelled (its connection object is handed out only once connected), so an abort
 * while no server answered left its timers and sockets alive, and with them the process.
 */
export async function openConnection(source: ConnectionSource, name: string, signal?: AbortSignal): Promise<OpenedConnection> {
  if (source.nc !== undefined && source.servers !== undefined) {
    throw new SdkInvalidArgumentError('servers', 'give either servers or nc, not both');
  }
  if (source.nc !== undefined) return { nc: source.nc, owned: false };
  if (source.servers === undefined || source.servers.length === 0) {
    throw new SdkInvalidArgumentError('servers', 'give NATS server URLs (servers) or a connection (nc)');
  }
  const options: ConnectionOptions = {
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    ...source.natsOptions,
    servers: typeof source.servers === 'string' ? source.servers : [...source.servers],
    waitOnFirstConnect: false,
  };
  for (;;) {
    signal?.throwIfAborted();
    try {
      return { nc: await abortable(connect(options), signal, (nc) => nc.close()), owned: true };
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      // Refused credentials end the wait, as with nats.js's waitOnFirstConnect (which gives up
      // on the second refusal unless ignoreAuthErrorAbort); anything else — a server not up
      // yet, unreachable, a TLS handshake failing — is waited out, as it was.
      if (refusedCredentials(err) && options.ignoreAuthErrorAbort !== true) throw err;
      await sleep(options.reconnectTimeWait ?? 500, signal);
    }
  }
}

function refusedCredentials(err: unknown): boolean {
  return err instanceof AuthorizationError || err instanceof UserAuthenticationExpiredError;
}
