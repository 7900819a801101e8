import { Match, createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { silentLogger, toError, type Logger } from '../core/index.ts';
import {
  RequestErrorCode,
  ReplayResponseWriter,
  clusterSubjects,
  decodeReplayAck,
  decodeReplayRequest,
  formatScope,
  requestErrorFor,
  type ReplayRequest,
  type ClusterSubjects,
  type RequestErrorInfo,
  type Scope,
  type StreamId,
} from '../schema/index.ts';
import { Admission } from './admission.ts';
import { BusError, BusErrorCode, RequestRefusedError } from './errors.ts';
import { ReplayAnswer, errorInfoFor, type AnswerContext, type AnswerCounters } from './replay-answer.ts';
import { compileReplayOptions, type ReplayLog, type ReplayServerConfig, type ReplayServerOptions } from './replay-config.ts';
import { isRefusedReplySubject, scopedInboxPrefix } from './reply-subjects.ts';
import { echoOfRequest } from './request-echo.ts';
import { SnapshotShares } from './shared-snapshot.ts';
import { subscriptionsSent } from './subscriptions.ts';

/** NATS header naming the requester for per-requester limits (wire protocol §7). */
export const REQUESTER_HEADER = 'kubemeta-requester';
const MAX_REQUESTER_ID = 128;

export type ReplayServerState = 'created' | 'running' | 'draining' | 'closed';

/** How requests ended, by RequestError code (or `completed`: the end marker went out). */
export type ReplayOutcome =
  | 'completed'
  | 'badRequest'
  | 'invalidScope'
  | 'versionInFuture'
  | 'invalidLimit'
  | 'busy'
  | 'unavailable'
  | 'aborted'
  | 'internal';

const OUTCOME_OF: Readonly<Record<number, ReplayOutcome>> = {
  [RequestErrorCode.BAD_REQUEST]: 'badRequest',
  [RequestErrorCode.INVALID_SCOPE]: 'invalidScope',
  [RequestErrorCode.VERSION_IN_FUTURE]: 'versionInFuture',
  [RequestErrorCode.INVALID_LIMIT]: 'invalidLimit',
  [RequestErrorCode.BUSY]: 'busy',
  [RequestErrorCode.UNAVAILABLE]: 'unavailable',
  [RequestErrorCode.ABORTED]: 'aborted',
};

export interface ReplayServerStats {
  readonly state: ReplayServerState;
  /** Messages received on the replay subject. */
  readonly received: number;
  /** Messages without a reply subject (not a NATS request): counted and dropped. */
  readonly droppedNoReply: number;
  /**
   * Messages whose reply subject the service never answers into (a `kubemeta.…` subject, its
   * own ack inboxes, wildcards): counted and dropped.
   */
  readonly droppedBadReply: number;
  readonly outcomes: Readonly<Record<ReplayOutcome, number>>;
  /** Answers streaming now. */
  readonly inFlight: number;
  readonly peakInFlight: number;
  /** Requests waiting for a slot now. */
  readonly queued: number;
  /** Answers abandoned midway with ABORTED (ack timeout, lag behind a shared read, shutdown). */
  readonly aborted: number;
  /** Answers that carried a snapshot. */
  readonly snapshotsSent: number;
  /** Snapshots read from the store (≤ snapshotsSent when reads are shared). */
  readonly snapshotReads: number;
  /** Answers that joined a snapshot read already running. */
  readonly sharedSnapshotHits: number;
  readonly sharedSnapshotLagAborts: number;
  readonly snapshotEntries: number;
  readonly tailUpdates: number;
  /** Response messages and their bytes. */
  readonly messages: number;
  readonly bytes: number;
  readonly acks: number;
  /** Acks that did not decode or matched no answer in flight (late acks of ended answers too). */
  readonly strayAcks: number;
}

/**
 * Answers replay requests on `kubemeta.<cluster>.replay` (docs/design.md §4, §7, §9, §11; wire
 * protocol §7), as a member of a NATS queue group so that service replicas share the load.
 *
 * Guarantees:
 * - Every request with a reply subject gets exactly one answer that ends with `end` (also for a
 *   scope without updates: head 0, §9) or `error` — unless the connection drops; a message
 *   without reply subject is counted and dropped. Nothing a requester sends can crash the
 *   server or change state: bad requests get BAD_REQUEST / INVALID_SCOPE / VERSION_IN_FUTURE /
 *   INVALID_LIMIT, overload BUSY with retry_after_ms.
 * - A snapshot is sent when `after` is 0, when the tail was compacted, or when
 *   `known_stream_id` differs from this stream (§7); otherwise the tail `(after, head]`.
 * - No requester holds the others back (§11): each answer is flow-controlled by its own acks
 *   and aborted when they stop; concurrent answers and the wait queue are capped; per-requester
 *   token buckets; identical concurrent snapshot reads are shared through a bounded buffer.
 *
 * Requester identity (for per-requester limits): the request's `kubemeta-requester` header when
 * present (1–128 characters), else the reply subject without its last token — for nats.js and
 * most clients that is the connection's request inbox prefix, so one connection is one requester.
 */
export class ReplayServer {
  readonly #nc: NatsConnection;
  readonly #updateLog: ReplayLog;
  readonly #config: ReplayServerConfig;
  readonly #logger: Logger;
  readonly #subject: string;
  readonly #subjects: ClusterSubjects;
  readonly #ackPrefix = createInbox();
  readonly #admission: Admission;
  readonly #shares: SnapshotShares;
  readonly #answers = new Map<string, ReplayAnswer>();
  readonly #running = new Set<Promise<void>>();
  readonly #counters: AnswerCounters = { snapshotsSent: 0, snapshotEntries: 0, tailUpdates: 0, messages: 0, bytes: 0 };
  readonly #stats = { received: 0, droppedNoReply: 0, droppedBadReply: 0, acks: 0, strayAcks: 0 };
  readonly #outcomes: Record<ReplayOutcome, number> = {
    completed: 0, badRequest: 0, invalidScope: 0, versionInFuture: 0, invalidLimit: 0, busy: 0, unavailable: 0, aborted: 0, internal: 0,
  };
  #state: ReplayServerState = 'created';
  #requestSub: Subscription | undefined;
  #ackSub: Subscription | undefined;
  #nextAnswer = 0;
  readonly #signal: AbortSignal | undefined;

  /** Throws InvalidArgumentError for bad options, SchemaError for a bad cluster name. */
  constructor(options: ReplayServerOptions) {
    this.#config = compileReplayOptions(options);
    this.#nc = options.connection;
    this.#updateLog = options.log;
    this.#logger = (options.logger ?? silentLogger).child({ module: 'bus', component: 'replay' });
    this.#subjects = clusterSubjects(options.cluster);
    this.#subject = this.#subjects.replay;
    const c = this.#config;
    this.#admission = new Admission(
      {
        maxConcurrent: c.maxConcurrentAnswers,
        maxQueued: c.maxQueuedRequests,
        maxQueueWaitMs: c.maxQueueWaitMs,
        busyRetryAfterMs: c.busyRetryAfterMs,
        requesterRatePerSec: c.requesterRatePerSec,
        requesterBurst: c.requesterBurst,
        maxAnswersPerRequester: c.maxAnswersPerRequester,
        maxTrackedRequesters: c.maxTrackedRequesters,
      },
      c.clock,
    );
    this.#shares = new SnapshotShares(options.log, {
      share: c.shareSnapshots,
      maxBufferedChunks: c.sharedSnapshotChunks,
      chunkEntries: c.snapshotReadEntries,
      chunkBytes: c.snapshotReadBytes,
    });
    this.#signal = options.signal;
  }

  get state(): ReplayServerState {
    return this.#state;
  }

  /**
   * Subscribes to the replay subject (and the ack subjects) and resolves once the NATS server
   * has the subscriptions, so requests sent afterwards are served.
   */
  async start(): Promise<void> {
    if (this.#state !== 'created') throw new BusError(BusErrorCode.ALREADY_STARTED, `the replay server is ${this.#state}; create a new one`);
    this.#state = 'running';
    this.#ackSub = this.#nc.subscribe(`${this.#ackPrefix}.*`, {
      callback: (err, msg) => {
        if (!err) this.#onAck(msg);
      },
    });
    this.#requestSub = this.#nc.subscribe(this.#subject, {
      queue: this.#config.queueGroup,
      callback: (err, msg) => {
        if (!err) this.#onRequest(msg);
      },
    });
    this.#signal?.addEventListener('abort', () => void this.close(), { once: true });
    if (this.#signal?.aborted) return this.close();
    await subscriptionsSent(this.#nc);
    this.#logger.info({ subject: this.#subject, queue: this.#config.queueGroup }, 'replay server listening');
  }

  stats(): ReplayServerStats {
    const shares = this.#shares.stats();
    return {
      state: this.#state,
      ...this.#stats,
      outcomes: { ...this.#outcomes },
      inFlight: this.#admission.running,
      peakInFlight: this.#admission.peakRunning,
      queued: this.#admission.queued,
      aborted: this.#outcomes.aborted,
      snapshotReads: shares.reads,
      sharedSnapshotHits: shares.hits,
      sharedSnapshotLagAborts: shares.lagAborts,
      ...this.#counters,
    };
  }

  /**
   * Stops taking requests and lets the answers in flight finish; queued requests get
   * UNAVAILABLE (another replica, or this service after its restart, answers them). An aborted
   * `signal` turns the drain into close().
   */
  async drain(signal?: AbortSignal): Promise<void> {
    if (this.#state === 'closed') return;
    this.#stopTaking('draining');
    const onAbort = (): void => void this.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) await this.close();
      while (this.#running.size > 0) await Promise.all([...this.#running]);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    this.#finish();
  }

  /** Stops now: answers in flight end with ABORTED, queued requests get UNAVAILABLE. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#stopTaking('closed');
    const reason = new RequestRefusedError({ code: RequestErrorCode.ABORTED, message: 'the replay server is shutting down; ask again', retryAfterMs: 0 });
    for (const answer of this.#answers.values()) answer.abort(reason);
    while (this.#running.size > 0) await Promise.all([...this.#running]);
    this.#finish();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #stopTaking(state: 'draining' | 'closed'): void {
    if (this.#state === 'running' || this.#state === 'created') this.#logger.info({ state }, 'replay server stopping');
    this.#state = state;
    this.#unsubscribe(this.#requestSub);
    this.#requestSub = undefined;
    this.#admission.close(
      new RequestRefusedError({
        code: RequestErrorCode.UNAVAILABLE,
        message: 'the replay server is shutting down; retry (another replica may answer)',
        retryAfterMs: this.#config.unavailableRetryAfterMs,
      }),
    );
  }

  #finish(): void {
    this.#state = 'closed';
    this.#unsubscribe(this.#ackSub);
    this.#ackSub = undefined;
  }

  #unsubscribe(sub: Subscription | undefined): void {
    try {
      sub?.unsubscribe();
    } catch {
      // the connection is closed already
    }
  }

  #onAck(msg: Msg): void {
    const answer = this.#answers.get(msg.subject.slice(this.#ackPrefix.length + 1));
    let ok = false;
    try {
      ok = answer !== undefined && answer.onAck(decodeReplayAck(msg.data));
    } catch {
      ok = false;
    }
    if (ok) this.#stats.acks++;
    else this.#stats.strayAcks++;
  }

  #onRequest(msg: Msg): void {
    this.#stats.received++;
    if (!msg.reply) {
      this.#stats.droppedNoReply++;
      return;
    }
    if (isRefusedReplySubject(msg.reply) || msg.reply.startsWith(`${this.#ackPrefix}.`)) {
      this.#stats.droppedBadReply++;
      return;
    }
    const task = this.#serve(msg, msg.reply).catch((err: unknown) => {
      this.#logger.error({ err: toError(err) }, 'replay request handling failed');
    });
    this.#running.add(task);
    void task.finally(() => this.#running.delete(task));
  }

  async #serve(msg: Msg, replyTo: string): Promise<void> {
    let request: ReplayRequest;
    try {
      request = decodeReplayRequest(msg.data);
    } catch (err) {
      const echo = echoOfRequest(msg.data);
      this.#refuse(replyTo, echo.requestId, echo.scope, requestErrorFor(err));
      return;
    }
    const problem = this.#precheck(request, replyTo);
    if (problem) return this.#refuse(replyTo, request.requestId, request.scope, problem);
    let slot;
    try {
      slot = await this.#admission.admit(requesterOf(msg, replyTo));
    } catch (err) {
      return this.#refuse(replyTo, request.requestId, request.scope, errorInfoFor(err));
    }
    try {
      await this.#runAnswer(request, replyTo);
    } finally {
      slot.release();
    }
  }

  /** Refusals that need no slot: absurd limit, foreign inbox, service unavailable, log closed. */
  #precheck(request: ReplayRequest, replyTo: string): RequestErrorInfo | undefined {
    const { maxLimit, unavailableRetryAfterMs } = this.#config;
    const inbox = this.#config.requireScopedInboxes ? scopedInboxPrefix(this.#subjects, request.scope) : '';
    if (!replyTo.startsWith(inbox)) {
      return {
        code: RequestErrorCode.BAD_REQUEST,
        message: `this service answers a replay of ${formatScope(request.scope)} only into a reply inbox under ${inbox} (require scoped inboxes is on); the kubemeta SDK does so unless its inboxPrefix is set`,
        retryAfterMs: 0,
      };
    }
    if (request.limit > maxLimit) {
      return { code: RequestErrorCode.INVALID_LIMIT, message: `limit ${request.limit} is above this server's maximum ${maxLimit}; ask for at most ${maxLimit} (0 = server default)`, retryAfterMs: 0 };
    }
    if (this.#state !== 'running' || !this.#config.available() || this.#updateLog.state === 'closed' || this.#updateLog.state === 'failed') {
      return { code: RequestErrorCode.UNAVAILABLE, message: 'the replay server cannot answer now (starting, shutting down, or not the leader); retry later', retryAfterMs: unavailableRetryAfterMs };
    }
    return undefined;
  }

  async #runAnswer(request: ReplayRequest, replyTo: string): Promise<void> {
    if (this.#state === 'closed') {
      return this.#refuse(replyTo, request.requestId, request.scope, {
        code: RequestErrorCode.UNAVAILABLE,
        message: 'the replay server is shutting down; retry (another replica may answer)',
        retryAfterMs: this.#config.unavailableRetryAfterMs,
      });
    }
    const id = String(this.#nextAnswer++);
    let answer: ReplayAnswer;
    try {
      answer = new ReplayAnswer(this.#context(), request, replyTo, `${this.#ackPrefix}.${id}`);
    } catch (err) {
      return this.#refuse(replyTo, request.requestId, request.scope, errorInfoFor(err));
    }
    this.#answers.set(id, answer);
    try {
      const result = await answer.run();
      this.#record(result?.error);
      if (result) this.#logResult(request, result.error, result.cause);
    } finally {
      this.#answers.delete(id);
    }
  }

  #context(): AnswerContext {
    return {
      connection: this.#nc,
      log: this.#updateLog,
      shares: this.#shares,
      config: this.#config,
      counters: this.#counters,
      maxPayloadBytes: this.#nc.info?.max_payload ?? 1024 * 1024,
    };
  }

  /** A one-message answer: the error. */
  #refuse(replyTo: string, requestId: string, scope: Scope, error: RequestErrorInfo): void {
    this.#record(error);
    try {
      const writer = new ReplayResponseWriter({ streamId: this.#updateLog.streamId as StreamId, requestId, scope });
      const [message] = writer.error(error);
      if (message) {
        this.#nc.publish(replyTo, message);
        this.#counters.messages++;
        this.#counters.bytes += message.byteLength;
      }
    } catch (err) {
      this.#logger.debug({ err: toError(err) }, 'could not send a replay error answer');
    }
  }

  #record(error: RequestErrorInfo | undefined): void {
    this.#outcomes[error ? (OUTCOME_OF[error.code] ?? 'internal') : 'completed']++;
  }

  #logResult(request: ReplayRequest, error: RequestErrorInfo, cause: unknown): void {
    const fields = { scope: formatScope(request.scope), requestId: request.requestId, code: error.code, err: toError(cause) };
    if (error.code === RequestErrorCode.INTERNAL) this.#logger.error(fields, 'replay answer failed');
    else this.#logger.debug(fields, 'replay answer ended with an error');
  }
}

/** The requester identity (see ReplayServer): header, else the reply subject's inbox prefix. */
function requesterOf(msg: Pick<Msg, 'headers'>, replyTo: string): string {
  let header = '';
  try {
    header = msg.headers?.get(REQUESTER_HEADER, Match.IgnoreCase) ?? '';
  } catch {
    // malformed headers: fall back to the reply subject
  }
  if (header.length > 0 && header.length <= MAX_REQUESTER_ID) return `h:${header}`;
  const cut = replyTo.lastIndexOf('.');
  return `r:${cut > 0 && replyTo.indexOf('.') < cut ? replyTo.slice(0, cut) : replyTo}`;
}
