import type { NatsConnection } from '@nats-io/transport-node';
import { KubemetaError } from '../core/index.ts';
import {
  RequestErrorCode,
  ReplayResponseWriter,
  SchemaErrorCode,
  formatScope,
  isSchemaError,
  requestErrorFor,
  type ReplayAck,
  type ReplayRequest,
  type RequestErrorInfo,
  type StreamId,
  type UpdateFrame,
} from '../schema/index.ts';
import { LogErrorCode, type TailPage } from '../log/index.ts';
import { AckWindow } from './ack-window.ts';
import { BusErrorCode, RequestRefusedError } from './errors.ts';
import type { ReplayLog, ReplayServerConfig } from './replay-config.ts';
import type { SnapshotShares } from './shared-snapshot.ts';

/** Counters the answers add to (the server's stats). */
export interface AnswerCounters {
  snapshotsSent: number;
  snapshotEntries: number;
  tailUpdates: number;
  messages: number;
  bytes: number;
}

export interface AnswerContext {
  readonly connection: NatsConnection;
  readonly log: ReplayLog;
  readonly shares: SnapshotShares;
  readonly config: ReplayServerConfig;
  readonly counters: AnswerCounters;
  /** NATS max_payload of the connection. */
  readonly maxPayloadBytes: number;
}

/** How an answer ended: undefined = end marker sent; else the error sent and its cause. */
export type AnswerResult = undefined | { readonly error: RequestErrorInfo; readonly cause: unknown };

const FIRST_PAGE_GUESS = 1000;
const MAX_PAGE = 100_000;

function refused(code: RequestErrorCode, message: string, retryAfterMs = 0): RequestRefusedError {
  return new RequestRefusedError({ code, message, retryAfterMs });
}

function hasCode(err: unknown, code: string): boolean {
  return KubemetaError.is(err) && err.code === code;
}

/**
 * One replay answer (docs/design.md §4, wire protocol §7): a tail `(after, head]`, or a snapshot at V
 * followed by the tail `(V, head]`, in bounded chunks, always closed by `end` or `error`.
 *
 * Flow control (docs/design.md §11): every response except the last goes out with `ackSubject` as its
 * NATS reply subject; at most `maxUnackedResponses` may be unacknowledged, and the answer is
 * abandoned with ABORTED when the window stays full for `ackTimeoutMs`. The tail is read a page
 * at a time and the snapshot a chunk at a time, only as acks make room, so memory per answer is
 * about one page plus the unacknowledged responses, whatever the scope's size.
 *
 * The tail stops at the scope head seen when the answer started (plus what its last page held),
 * so an answer on a busy scope ends; `end.head` tells the consumer where live updates chain on.
 */
export class ReplayAnswer {
  readonly request: ReplayRequest;
  readonly #ctx: AnswerContext;
  readonly #replyTo: string;
  readonly #ackSubject: string;
  readonly #scope: string;
  readonly #writer: ReplayResponseWriter;
  readonly #window: AckWindow;
  readonly #abort = new AbortController();
  readonly #limit: number;
  readonly #pageBytes: number;
  #sequence = 0;
  #avgPayload = 0;
  #unsent: Uint8Array[] = [];

  /** Throws SchemaError when the chunk size cannot work with the connection's max_payload. */
  constructor(ctx: AnswerContext, request: ReplayRequest, replyTo: string, ackSubject: string) {
    this.request = request;
    this.#ctx = ctx;
    this.#replyTo = replyTo;
    this.#ackSubject = ackSubject;
    this.#scope = formatScope(request.scope);
    this.#limit = request.limit === 0 ? ctx.config.defaultLimit : request.limit;
    const chunk = Math.min(request.maxChunkBytes === 0 ? ctx.config.defaultChunkBytes : request.maxChunkBytes, ctx.maxPayloadBytes);
    this.#pageBytes = chunk;
    this.#writer = new ReplayResponseWriter({
      streamId: ctx.log.streamId as StreamId,
      requestId: request.requestId,
      scope: request.scope,
      maxChunkBytes: chunk,
      maxPayloadBytes: ctx.maxPayloadBytes,
    });
    this.#window = new AckWindow(ctx.config.maxUnackedResponses);
  }

  /** An ack arrived on this answer's ack subject; false when it does not belong to it. */
  onAck(ack: ReplayAck): boolean {
    return ack.requestId === this.request.requestId && this.#window.ack(ack.sequence);
  }

  /** Stops the answer at its next step; the consumer gets `reason.requestError`. */
  abort(reason: RequestRefusedError): void {
    if (!this.#abort.signal.aborted) this.#abort.abort(reason);
  }

  /** Streams the whole answer. Never rejects: a failure becomes the error response. */
  async run(): Promise<AnswerResult> {
    try {
      const { head, last } = await this.#answer();
      const out = this.#writer.end(head, last);
      await this.#publish(out.slice(0, -1));
      this.#publishLast(out.at(-1));
      return undefined;
    } catch (err) {
      const error = errorInfoFor(this.#abort.signal.aborted ? this.#abort.signal.reason : err);
      if (!this.#writer.closed) this.#publishLast(this.#writer.error(error)[0]);
      return { error, cause: err };
    }
  }

  async #answer(): Promise<{ head: number; last: number }> {
    const plan = await this.#plan();
    if (plan === 'snapshot') return this.#sendTail(await this.#sendSnapshot(), undefined);
    return this.#sendTail(this.request.after, plan);
  }

  /** 'snapshot', or the first tail page when the tail alone answers (docs/design.md §4, §7). */
  async #plan(): Promise<'snapshot' | TailPage> {
    const { after, knownStreamId } = this.request;
    const log = this.#ctx.log;
    if (knownStreamId !== undefined && knownStreamId !== log.streamId) return 'snapshot';
    if (after > log.head) {
      throw refused(
        RequestErrorCode.VERSION_IN_FUTURE,
        `after ${after} is beyond the head ${log.head} of stream ${log.streamId}: your state is not from this stream or is corrupt; bootstrap again with after = 0`,
      );
    }
    if (after === 0) return 'snapshot';
    try {
      return await this.#readPage(after, this.#limit);
    } catch (err) {
      if (hasCode(err, LogErrorCode.HISTORY_COMPACTED)) return 'snapshot';
      if (hasCode(err, LogErrorCode.VERSION_AHEAD)) {
        throw refused(
          RequestErrorCode.VERSION_IN_FUTURE,
          `after ${after} is beyond the head ${log.scopeHead(this.#scope)} of scope ${this.#scope}: your state is not from this stream or is corrupt; bootstrap again with after = 0`,
        );
      }
      throw err;
    }
  }

  /**
   * snapshot_start(V), one entry per object of the scope's current state (prev_version 0;
   * tombstones within retention included, their payload being the deletion), snapshot_end(V).
   */
  async #sendSnapshot(): Promise<number> {
    const cursor = await this.#ctx.shares.join(this.#scope, (reason) => this.abort(reason));
    try {
      await this.#publish(this.#writer.snapshotStart(cursor.version));
      let entries = 0;
      for (let chunk = await cursor.next(); chunk; chunk = await cursor.next()) {
        this.#abort.signal.throwIfAborted();
        for (const e of chunk) {
          const sending = this.#add({ version: e.version, prevVersion: 0, payload: e.payload });
          if (sending) await sending;
        }
        entries += chunk.length;
      }
      await this.#publish(this.#writer.snapshotEnd(cursor.version));
      this.#ctx.counters.snapshotsSent++;
      this.#ctx.counters.snapshotEntries += entries;
      return cursor.version;
    } finally {
      cursor.close();
    }
  }

  /** The tail after `after`, up to the limit and to the head seen on the first page. */
  async #sendTail(after: number, first: TailPage | undefined): Promise<{ head: number; last: number }> {
    let remaining = this.#limit;
    let last = after;
    let page = first;
    let target = first?.scopeHead;
    while (remaining > 0 && (target === undefined || last < target)) {
      if (!page) {
        try {
          page = await this.#readPage(last, remaining);
        } catch (err) {
          // Compaction overtook this answer: end here; asking again after `last` gets a snapshot.
          if (hasCode(err, LogErrorCode.HISTORY_COMPACTED)) break;
          throw err;
        }
      }
      target ??= page.scopeHead;
      const n = Math.min(remaining, page.entries.length);
      for (let i = 0; i < n; i++) {
        const sending = this.#add(page.entries[i] as UpdateFrame);
        if (sending) await sending;
      }
      if (n > 0) last = (page.entries[n - 1] as UpdateFrame).version;
      remaining -= n;
      this.#ctx.counters.tailUpdates += n;
      if (page.next === undefined) break;
      page = undefined;
      this.#abort.signal.throwIfAborted();
    }
    const head = Math.max(target ?? this.#ctx.log.scopeHead(this.#scope), last);
    return { head, last };
  }

  async #readPage(after: number, remaining: number): Promise<TailPage> {
    const guess = this.#avgPayload > 0 ? Math.ceil(this.#pageBytes / this.#avgPayload) + 8 : FIRST_PAGE_GUESS;
    const page = await this.#ctx.log.readTail(this.#scope, after, { limit: Math.min(remaining, guess, MAX_PAGE), maxBytes: this.#pageBytes });
    if (page.entries.length > 0) {
      let bytes = 0;
      for (const e of page.entries) bytes += e.payload.byteLength;
      this.#avgPayload = Math.max(1, bytes / page.entries.length);
    }
    return page;
  }

  /** Adds one update; returns a promise only when a full response has to go out. */
  #add(frame: UpdateFrame): Promise<void> | undefined {
    const out = this.#writer.add(frame);
    return out.length === 0 ? undefined : this.#publish(out);
  }

  /**
   * Publishes responses that want an ack, each once the window has room. Messages the writer
   * numbered but the window held back stay in `#unsent`, so an error can follow them without a
   * gap in `sequence`.
   */
  async #publish(messages: readonly Uint8Array[]): Promise<void> {
    const { clock, ackTimeoutMs } = this.#ctx.config;
    this.#unsent.push(...messages);
    while (this.#unsent.length > 0) {
      if (!(await this.#window.waitForRoom(clock, ackTimeoutMs, this.#abort.signal))) {
        throw new RequestRefusedError(
          {
            code: RequestErrorCode.ABORTED,
            message: `no acknowledgement for ${ackTimeoutMs} ms: ack every replay response that has a reply subject (wire protocol §7), then ask again`,
            retryAfterMs: 0,
          },
          BusErrorCode.ACK_TIMEOUT,
        );
      }
      const m = this.#unsent.shift() as Uint8Array;
      this.#ctx.connection.publish(this.#replyTo, m, { reply: this.#ackSubject });
      this.#window.sent(this.#sequence++);
      this.#count(m);
    }
  }

  /**
   * The last message (end or error), after any numbered but unsent ones (at most two: a chunk
   * and a control message), without asking for acks. A closed connection just loses them.
   */
  #publishLast(message: Uint8Array | undefined): void {
    const out = this.#unsent.splice(0);
    if (message) out.push(message);
    try {
      for (const m of out) {
        this.#ctx.connection.publish(this.#replyTo, m);
        this.#sequence++;
        this.#count(m);
      }
    } catch {
      // the connection is gone: the consumer times out and asks again
    }
  }

  #count(message: Uint8Array): void {
    this.#ctx.counters.messages++;
    this.#ctx.counters.bytes += message.byteLength;
  }
}

/** The RequestError to answer with for whatever ended an answer. */
export function errorInfoFor(err: unknown): RequestErrorInfo {
  if (err instanceof RequestRefusedError) return err.requestError;
  if (isSchemaError(err) && err.code !== SchemaErrorCode.MESSAGE_TOO_LARGE) return requestErrorFor(err);
  if (hasCode(err, LogErrorCode.LOG_CLOSED) || hasCode(err, LogErrorCode.STORE_CLOSED) || hasCode(err, LogErrorCode.READ_FAILED)) {
    return {
      code: RequestErrorCode.UNAVAILABLE,
      message: `the update log cannot be read now (${(err as Error).message}); retry later`,
      retryAfterMs: 1_000,
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: RequestErrorCode.INTERNAL, message: `internal error while answering: ${message}`, retryAfterMs: 0 };
}
