// A small replay client for tests (wire protocol §7): sends one ReplayRequest with its own
// inbox, acks every response that carries a reply subject (unless told not to), and collects
// the answer until `end` or `error`. Not the SDK's ReplayClient (src/sdk/replay-client.ts) on
// purpose: it shows every raw response and can play a stalled consumer (`ack: 'never'`), and the
// server's tests do not depend on the SDK's retries.
import { createInbox, headers, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { sleep } from '../../src/core/index.ts';
import {
  RequestErrorCode,
  decodeReplayResponse,
  encodeReplayAck,
  encodeReplayRequest,
  type ReplayMessage,
  type ReplayRequestInit,
  type RequestErrorInfo,
  type UpdateFrame,
} from '../../src/schema/index.ts';

export interface ReplayCallOptions {
  /** 'never': do not ack (a stalled consumer). Default: ack every response that asks. */
  ack?: 'all' | 'never';
  /** Acks wait until this settles: holds answers open without stalling them for good. */
  ackGate?: Promise<unknown>;
  /** Sent as the `kubemeta-requester` header. */
  requester?: string;
  /** Give up when nothing arrives for this long (liveness only). */
  silenceMs?: number;
  /** Called for every response, in order. */
  onMessage?: (m: ReplayMessage) => void;
}

export interface ReplayResult {
  readonly messages: ReplayMessage[];
  readonly snapshot: { version: number; frames: UpdateFrame[] } | undefined;
  readonly tail: UpdateFrame[];
  readonly end: { head: number; lastVersion: number } | undefined;
  readonly error: RequestErrorInfo | undefined;
  /** Responses that carried a reply subject (wanted an ack). */
  readonly ackRequests: number;
}

class Collector {
  readonly messages: ReplayMessage[] = [];
  snapshot: { version: number; frames: UpdateFrame[] } | undefined;
  inSnapshot = false;
  readonly tail: UpdateFrame[] = [];
  end: { head: number; lastVersion: number } | undefined;
  error: RequestErrorInfo | undefined;
  ackRequests = 0;

  add(m: ReplayMessage): boolean {
    if (m.sequence !== this.messages.length) throw new Error(`sequence jumped from ${this.messages.length - 1} to ${m.sequence}`);
    this.messages.push(m);
    if (m.type === 'snapshotStart') {
      this.snapshot = { version: m.version, frames: [] };
      this.inSnapshot = true;
    } else if (m.type === 'updates') {
      (this.inSnapshot ? (this.snapshot as { frames: UpdateFrame[] }).frames : this.tail).push(...m.frames);
    } else if (m.type === 'snapshotEnd') {
      this.inSnapshot = false;
    } else if (m.type === 'end') {
      this.end = { head: m.head, lastVersion: m.lastVersion };
      return true;
    } else {
      this.error = m.error;
      return true;
    }
    return false;
  }
}

/** Sends `request` (an init, or raw bytes for bad-request tests) and collects the answer. */
export async function replay(
  nc: NatsConnection,
  subject: string,
  request: ReplayRequestInit | Uint8Array,
  options: ReplayCallOptions = {},
): Promise<ReplayResult> {
  const inbox = createInbox();
  const collected = new Collector();
  const silenceMs = options.silenceMs ?? 15_000;
  let sub: Subscription | undefined;
  const done = new Promise<void>((resolve, reject) => {
    let timer = setTimeout(onSilence, silenceMs);
    function onSilence(): void {
      reject(new Error(`replay on ${subject}: nothing received for ${silenceMs} ms after ${collected.messages.length} responses`));
    }
    sub = nc.subscribe(inbox, {
      callback: (err, msg) => {
        clearTimeout(timer);
        timer = setTimeout(onSilence, silenceMs);
        try {
          if (err) throw err;
          const m = decodeReplayResponse(msg.data);
          options.onMessage?.(m);
          const finished = collected.add(m);
          if (msg.reply) {
            collected.ackRequests++;
            if (options.ack !== 'never') void sendAck(nc, msg.reply, m, options.ackGate);
          }
          if (finished) {
            clearTimeout(timer);
            resolve();
          }
        } catch (e) {
          clearTimeout(timer);
          reject(e as Error);
        }
      },
    });
  });
  try {
    const bytes = request instanceof Uint8Array ? request : encodeReplayRequest(request);
    const h = options.requester === undefined ? undefined : headers();
    h?.set('kubemeta-requester', options.requester as string);
    nc.publish(subject, bytes, { reply: inbox, ...(h ? { headers: h } : {}) });
    await done;
  } finally {
    sub?.unsubscribe();
  }
  return collected;
}

async function sendAck(nc: NatsConnection, reply: string, m: ReplayMessage, gate: Promise<unknown> | undefined): Promise<void> {
  if (gate) await gate.catch(() => undefined);
  if (!nc.isClosed()) nc.publish(reply, encodeReplayAck({ requestId: m.requestId, sequence: m.sequence }));
}

export interface CatchUpResult {
  /** Every answer, in order (BUSY ones included). */
  readonly answers: ReplayResult[];
  /** The snapshot of the last answer that had one. */
  readonly snapshot: { version: number; frames: UpdateFrame[] } | undefined;
  /** Tail frames after that snapshot, over all follow-up answers. */
  readonly tail: UpdateFrame[];
  readonly head: number;
  readonly busy: number;
}

/**
 * What a consumer does to get in sync: ask, retry after BUSY (retry_after_ms plus jitter), and
 * ask again after `last_version` while a limit cut the answer.
 */
export async function catchUp(
  nc: NatsConnection,
  subject: string,
  request: ReplayRequestInit,
  options: ReplayCallOptions & { maxAttempts?: number } = {},
): Promise<CatchUpResult> {
  const answers: ReplayResult[] = [];
  let snapshot: CatchUpResult['snapshot'];
  let tail: UpdateFrame[] = [];
  let after = request.after;
  let busy = 0;
  for (let attempt = 0; attempt < (options.maxAttempts ?? 100); attempt++) {
    const r = await replay(nc, subject, { ...request, after, requestId: `${request.requestId}-${attempt}` }, options);
    answers.push(r);
    if (r.error?.code === RequestErrorCode.BUSY) {
      busy++;
      await sleep(r.error.retryAfterMs + Math.random() * r.error.retryAfterMs);
      continue;
    }
    if (r.error) throw new Error(`replay failed: ${r.error.code} ${r.error.message}`);
    if (r.snapshot) {
      snapshot = r.snapshot;
      tail = [];
    }
    tail.push(...r.tail);
    const end = r.end as { head: number; lastVersion: number };
    if (end.lastVersion >= end.head) return { answers, snapshot, tail, head: end.head, busy };
    after = end.lastVersion;
  }
  throw new Error(`replay of ${JSON.stringify(request.scope)} did not complete in ${options.maxAttempts ?? 100} attempts`);
}
