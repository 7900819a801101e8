import { nuid } from '@nats-io/transport-node';
import { Backoff, systemClock, type BackoffOptions, type Clock } from '../core/index.ts';
import {
  RequestErrorCode,
  clusterSubjects,
  decodeReplayResponse,
  encodeReplayAck,
  encodeReplayRequest,
  formatScope,
  type ReplayMessage,
  type Scope,
  type StreamId,
  type Version,
} from '../schema/index.ts';
import type { SdkConnection, SdkMsg } from './connection.ts';
import {
  ReplayLostError,
  ReplayRefusedError,
  ReplayTimeoutError,
  SdkInvalidArgumentError,
  ServiceUnavailableError,
  isSdkError,
} from './errors.ts';

export interface ReplayClientOptions {
  connection: SdkConnection;
  cluster: string;
  clock?: Clock;
  /** For jitter; default Math.random. */
  random?: () => number;
  /** Silence allowed before the first response and between responses (default 10 s). */
  responseTimeoutMs?: number;
  /** Most tail updates per answer (0 = the service's default). */
  limit?: number;
  /** Bound per response message (0 = the service's default; else [4 KiB, 1 MiB]). */
  maxChunkBytes?: number;
  /** Responses received but not yet processed before the answer counts as lost (default 1,024). */
  maxQueuedResponses?: number;
  /** Backoff between failed attempts (default 250 ms doubling to 15 s, jitter 0.5). */
  backoff?: BackoffOptions;
  /**
   * Where reply inboxes live: `<inboxPrefix>.<client id>.<n>`. Default `_INBOX.<scope subject>`
   * (e.g. `_INBOX.kubemeta.prod.node.n1`), so that NATS permissions can confine a user's
   * inboxes to its scope and the service can bind replays to them (docs/security.md).
   */
  inboxPrefix?: string;
}

/** Where the consumer stands, read before every request (a partial answer moved it). */
export interface ReplayPosition {
  readonly after: Version;
  readonly knownStreamId: StreamId | undefined;
}

/** The consumer of a replay: the subscription that applies it. */
export interface ReplayHandler {
  position(): ReplayPosition;
  /**
   * Called for every response in order (the end marker included, errors not). It runs before
   * the response is acknowledged, so flow control paces the service to the consumer (design
   * §11). Throwing abandons this answer; the client asks again from `position()`.
   */
  onMessage(message: ReplayMessage): void;
  /** The attempt failed; the next one starts after `delayMs`. */
  onRetry?(error: Error, delayMs: number): void;
}

export interface ReplayResult {
  /** The scope's head according to the last answer. */
  readonly head: Version;
  /** Where the answers brought the consumer. */
  readonly lastVersion: Version;
  readonly requests: number;
  readonly updates: number;
}

type PendingInit = { scope: Scope; after: Version; knownStreamId: StreamId | undefined };

/**
 * Replay requests on `kubemeta.<cluster>.replay` (wire-protocol §7, docs/design.md §4).
 *
 * `request` sends one ReplayRequest (a new request id each time) and yields its answer:
 * sequences are checked (a jump means a response was lost: ReplayLostError), every response
 * that carries a NATS reply subject is acknowledged with ReplayAck once the consumer has
 * processed it (flow control), silence beyond the response timeout is ReplayTimeoutError, an
 * error body is ReplayRefusedError, no responder is ServiceUnavailableError.
 *
 * `run` drives a consumer to the head: follow-up requests while `last_version < head` (a
 * limit cut the tail), retries after BUSY/UNAVAILABLE (after `retry_after_ms` plus jitter),
 * ABORTED, INTERNAL, timeouts, lost responses and an unavailable service (exponential backoff
 * with jitter), until the AbortSignal fires. Refusals that retrying cannot fix (BAD_REQUEST,
 * INVALID_SCOPE, INVALID_LIMIT, VERSION_IN_FUTURE) are thrown for the caller to handle.
 */
export class ReplayClient {
  readonly #nc: SdkConnection;
  readonly #subject: string;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #timeoutMs: number;
  readonly #limit: number;
  readonly #maxChunkBytes: number;
  readonly #maxQueued: number;
  readonly #backoff: BackoffOptions;
  readonly #idPrefix = crypto.randomUUID().slice(0, 8);
  /**
   * Reply inboxes are `<prefix>.<client id>.<n>`: the service identifies a requester by the
   * reply subject without its last token (its per-requester limits, docs/design.md §11), so one client
   * is one requester, and two clients never share an identity.
   */
  readonly #inboxPrefix: (scope: Scope) => string;
  readonly #clientId = nuid.next();
  #requests = 0;

  constructor(options: ReplayClientOptions) {
    this.#nc = options.connection;
    const subjects = clusterSubjects(options.cluster);
    this.#subject = subjects.replay;
    const prefix = options.inboxPrefix;
    if (prefix !== undefined && !/^[^\s.*>]+(\.[^\s.*>]+)*$/.test(prefix)) {
      throw new SdkInvalidArgumentError('inboxPrefix', `must be a NATS subject without wildcards, got ${JSON.stringify(prefix)}`);
    }
    this.#inboxPrefix = prefix === undefined ? (scope) => `_INBOX.${subjects.scope(scope)}` : () => prefix;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#timeoutMs = positive(options.responseTimeoutMs ?? 10_000, 'responseTimeoutMs');
    this.#limit = options.limit ?? 0;
    this.#maxChunkBytes = options.maxChunkBytes ?? 0;
    this.#maxQueued = positive(options.maxQueuedResponses ?? 1024, 'maxQueuedResponses');
    this.#backoff = { initialMs: 250, maxMs: 15_000, jitter: 0.5, random: this.#random, ...options.backoff };
  }

  /** Requests sent so far (each attempt and follow-up is one). */
  get requests(): number {
    return this.#requests;
  }

  /** One request and its answer (see the class comment). Ends after the end marker. */
  async *request(init: PendingInit, signal?: AbortSignal): AsyncGenerator<ReplayMessage, void, undefined> {
    const scope = formatScope(init.scope);
    const requestId = `${this.#idPrefix}-${++this.#requests}`;
    const payload = encodeReplayRequest({
      scope: init.scope,
      after: init.after,
      knownStreamId: init.knownStreamId,
      requestId,
      limit: this.#limit,
      maxChunkBytes: this.#maxChunkBytes,
    });
    const inbox = new Inbox(this.#nc, `${this.#inboxPrefix(init.scope)}.${this.#clientId}.${this.#requests}`, this.#maxQueued);
    try {
      this.#nc.publish(this.#subject, payload, { reply: inbox.subject });
      for (let expected = 0; ; expected++) {
        const msg = await inbox.next(this.#clock, this.#timeoutMs, signal, () => new ReplayTimeoutError(scope, this.#timeoutMs, expected));
        if (msg === 'overflow') throw new ReplayLostError(scope, `more than ${this.#maxQueued} responses waited unprocessed`);
        if (msg.headers?.code === 503) throw new ServiceUnavailableError(this.#subject);
        const m = decode(scope, msg);
        if (m.requestId !== requestId) {
          expected--; // a late response to an earlier request on a reused inbox: not ours
          continue;
        }
        if (m.sequence !== expected) throw new ReplayLostError(scope, `response ${expected} is missing (got sequence ${m.sequence})`);
        if (m.type === 'error') throw new ReplayRefusedError(scope, m.error.code, m.error.message, m.error.retryAfterMs);
        yield m;
        if (msg.reply !== undefined && msg.reply !== '') this.#nc.publish(msg.reply, encodeReplayAck({ requestId, sequence: m.sequence }));
        if (m.type === 'end') return;
      }
    } finally {
      inbox.close();
    }
  }

  /** Replays until the consumer reaches the head (see the class comment). */
  async run(scope: Scope, handler: ReplayHandler, signal?: AbortSignal): Promise<ReplayResult> {
    const backoff = new Backoff(this.#backoff);
    let requests = 0;
    let updates = 0;
    for (;;) {
      signal?.throwIfAborted();
      const position = handler.position();
      requests++;
      try {
        let end: Extract<ReplayMessage, { type: 'end' }> | undefined;
        let snapshot = false;
        for await (const m of this.request({ scope, ...position }, signal)) {
          handler.onMessage(m);
          if (m.type === 'updates') updates += m.frames.length;
          else if (m.type === 'snapshotStart') snapshot = true;
          else if (m.type === 'end') end = m;
        }
        if (!end) throw new ReplayLostError(formatScope(scope), 'the answer ended without its end marker');
        if (end.lastVersion >= end.head) return { head: end.head, lastVersion: end.lastVersion, requests, updates };
        // A limit cut the tail: ask again from where it stopped. An answer that moved nothing
        // would loop; treat it as lost and back off.
        if (!snapshot && end.lastVersion <= position.after) throw new ReplayLostError(formatScope(scope), `the answer made no progress past ${position.after}`);
        backoff.reset();
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (!isRetriable(err)) throw err;
        const delayMs = this.#retryDelay(err, backoff);
        handler.onRetry?.(err as Error, delayMs);
        await this.#clock.sleep(delayMs, signal);
      }
    }
  }

  #retryDelay(err: unknown, backoff: Backoff): number {
    const fallback = backoff.next();
    if (err instanceof ReplayRefusedError && err.retryAfterMs > 0) {
      // The service's advice plus up to 50% jitter, so a restarted cluster's agents spread out.
      return Math.round(err.retryAfterMs * (1 + 0.5 * this.#random()));
    }
    return fallback;
  }
}

/** Retried by `run`: the failure is transient (or a lost response), not a wrong request. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof ReplayRefusedError) {
    const c = err.requestErrorCode;
    return c === RequestErrorCode.BUSY || c === RequestErrorCode.UNAVAILABLE || c === RequestErrorCode.ABORTED || c === RequestErrorCode.INTERNAL;
  }
  return err instanceof ReplayTimeoutError || err instanceof ReplayLostError || err instanceof ServiceUnavailableError || !isSdkError(err);
}

function decode(scope: string, msg: SdkMsg): ReplayMessage {
  try {
    return decodeReplayResponse(msg.data);
  } catch (cause) {
    throw new ReplayLostError(scope, 'a response did not decode', { cause });
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new SdkInvalidArgumentError(name, `must be a positive number, got ${value}`);
  return value;
}

/**
 * The reply inbox of one request: a subscription whose callback queues messages (bounded) and
 * wakes the waiting reader; the reader waits with a timeout on the injected clock.
 */
class Inbox {
  readonly subject: string;
  readonly #sub: { unsubscribe(): void };
  readonly #max: number;
  #queue: SdkMsg[] = [];
  #overflow = false;
  #wake: (() => void) | undefined;

  constructor(nc: SdkConnection, subject: string, max: number) {
    this.subject = subject;
    this.#max = max;
    this.#sub = nc.subscribe(this.subject, {
      callback: (err, msg) => {
        if (err) return; // the subscription ends with the request; errors surface as a timeout
        if (this.#queue.length >= this.#max) this.#overflow = true;
        else this.#queue.push(msg);
        this.#wake?.();
      },
    });
  }

  async next(clock: Clock, timeoutMs: number, signal: AbortSignal | undefined, timeout: () => Error): Promise<SdkMsg | 'overflow'> {
    if (this.#overflow) return 'overflow';
    const queued = this.#queue.shift();
    if (queued) return queued;
    const timer = new AbortController();
    const sleepSignal = signal ? AbortSignal.any([signal, timer.signal]) : timer.signal;
    const arrived = new Promise<'arrived'>((resolve) => (this.#wake = () => resolve('arrived')));
    const slept = clock.sleep(timeoutMs, sleepSignal).then(() => 'timeout' as const);
    try {
      const winner = await Promise.race([arrived, slept]);
      if (winner === 'timeout') throw timeout();
    } finally {
      this.#wake = undefined;
      timer.abort();
      slept.catch(() => undefined);
    }
    if (this.#overflow) return 'overflow';
    return this.#queue.shift() as SdkMsg;
  }

  close(): void {
    this.#sub.unsubscribe();
    this.#wake?.();
  }
}
