import { create, toBinary } from '@bufbuild/protobuf';
import { ReplayResponseSchema } from './gen/kubemeta/v1/replay_pb.js';
import { RequestErrorCode } from './gen/kubemeta/v1/errors_pb.js';
import { ClosedError } from '../core/index.ts';
import { SchemaError, SchemaErrorCode, isSchemaError } from './errors.ts';
import { DEFAULT_MAX_CHUNK_BYTES, MIN_CHUNK_BYTES, NATS_DEFAULT_MAX_PAYLOAD } from './limits.ts';
import { CHUNK_UPDATES, RR_REQUEST_ID, RR_SCOPE, RR_SEQUENCE, RR_STREAM_ID, RR_UPDATES } from './replay.ts';
import type { RequestErrorInfo } from './replay.ts';
import { formatScope, parseScope } from './scope.ts';
import type { Scope } from './scope.ts';
import { parseStreamId } from './stream-id.ts';
import type { StreamId } from './stream-id.ts';
import { checkFrame, scopedUpdateSize, writeScopedUpdate } from './updates.ts';
import type { UpdateFrame } from './updates.ts';
import { toVersion } from './version.ts';
import type { Version } from './version.ts';
import { bytesFieldSize, lenFieldSize, varintFieldSize, writeBytesField, writeLenHeader, writeVarintField } from './wire.ts';

export interface ReplayWriterOptions {
  readonly streamId: StreamId;
  readonly requestId: string;
  readonly scope: Scope;
  /** Bound for one response message; default DEFAULT_MAX_CHUNK_BYTES (256 KiB). */
  readonly maxChunkBytes?: number;
  /** No message may exceed this (NATS max_payload); default 1 MiB. */
  readonly maxPayloadBytes?: number;
}

/** Where the answer is: a snapshot may only open it; nothing follows end or error. */
type Phase = 'start' | 'snapshot' | 'tail' | 'closed';

// A sequence field is at most 1 tag byte + 5 varint bytes (uint32).
const SEQUENCE_FIELD_MAX = 6;
const utf8 = new TextEncoder();

/**
 * Turns one replay answer into the ReplayResponse messages to publish, in order: numbers them
 * (sequence), packs updates into chunks bounded by maxChunkBytes, and refuses sequences that
 * break the contract (docs/design.md §4): a snapshot only at the start, snapshot entries with
 * prev_version 0, tail versions increasing, nothing after end or error. Every method returns
 * the messages that became complete (zero or more); publish them in order.
 *
 * A chunk exceeds maxChunkBytes only when one update alone does; one that cannot fit in
 * maxPayloadBytes throws SchemaError MESSAGE_TOO_LARGE.
 */
export class ReplayResponseWriter {
  readonly #streamId: string;
  readonly #requestId: string;
  readonly #scope: string;
  readonly #envelope: Uint8Array;
  readonly #maxChunk: number;
  readonly #maxPayload: number;
  #phase: Phase = 'start';
  #sequence = 0;
  #snapshotVersion = 0;
  #lastTailVersion = 0;
  #pending: UpdateFrame[] = [];
  #pendingSizes: number[] = [];
  #pendingBody = 0;

  constructor(options: ReplayWriterOptions) {
    this.#streamId = parseStreamId(options.streamId);
    this.#requestId = options.requestId;
    this.#scope = formatScope(parseScope(formatScope(options.scope)));
    this.#maxPayload = options.maxPayloadBytes ?? NATS_DEFAULT_MAX_PAYLOAD;
    this.#maxChunk = options.maxChunkBytes ?? Math.min(DEFAULT_MAX_CHUNK_BYTES, this.#maxPayload);
    if (!(this.#maxChunk >= MIN_CHUNK_BYTES && this.#maxChunk <= this.#maxPayload)) {
      throw new SchemaError(
        SchemaErrorCode.INVALID_LIMIT,
        `maxChunkBytes ${this.#maxChunk} must be within [${MIN_CHUNK_BYTES}, maxPayloadBytes ${this.#maxPayload}]`,
      );
    }
    const fields = [[RR_STREAM_ID, this.#streamId], [RR_REQUEST_ID, this.#requestId], [RR_SCOPE, this.#scope]] as const;
    const encoded = fields.map(([f, s]) => [f, utf8.encode(s)] as const);
    this.#envelope = new Uint8Array(encoded.reduce((n, [f, b]) => n + bytesFieldSize(f, b), 0));
    encoded.reduce((pos, [f, b]) => writeBytesField(this.#envelope, pos, f, b), 0);
  }

  /** Messages produced so far (the next message's sequence). */
  get sequence(): number {
    return this.#sequence;
  }

  get closed(): boolean {
    return this.#phase === 'closed';
  }

  /** Opens a snapshot of the scope as of `version`; only as the first thing in an answer. */
  snapshotStart(version: Version): Uint8Array[] {
    this.#expect(this.#phase === 'start', 'snapshotStart must come first');
    this.#snapshotVersion = toVersion(version, 'snapshot version');
    this.#phase = 'snapshot';
    return [this.#control({ case: 'snapshotStart', value: { version: BigInt(version) } })];
  }

  /** Adds one update: a snapshot entry (prevVersion 0) inside a snapshot, else a tail update. */
  add(frame: UpdateFrame): Uint8Array[] {
    this.#expect(this.#phase !== 'closed', 'add after end or error');
    if (this.#phase === 'snapshot') {
      checkFrame(frame, 'snapshot entry');
      this.#expect(frame.prevVersion === 0, `snapshot entry version ${frame.version} must have prev_version 0`);
    } else {
      checkFrame(frame, 'tail update');
      this.#expect(frame.version > this.#lastTailVersion, `tail version ${frame.version} does not follow ${this.#lastTailVersion}`);
      this.#lastTailVersion = frame.version;
      this.#phase = 'tail';
    }
    const size = scopedUpdateSize(frame);
    const entry = lenFieldSize(CHUNK_UPDATES, size);
    const alone = this.#chunkMessageSize(entry);
    if (alone > this.#maxPayload) {
      throw new SchemaError(
        SchemaErrorCode.MESSAGE_TOO_LARGE,
        `update version ${frame.version} needs a ${alone}-byte message, above the ${this.#maxPayload}-byte limit; ` +
          'raise NATS max_payload or shrink the object',
      );
    }
    const out = this.#pending.length > 0 && this.#chunkMessageSize(this.#pendingBody + entry) > this.#maxChunk ? this.#flush() : [];
    this.#pending.push(frame);
    this.#pendingSizes.push(size);
    this.#pendingBody += entry;
    return out;
  }

  /** Closes the snapshot opened at `version`: the consumer swaps in the new state. */
  snapshotEnd(version: Version): Uint8Array[] {
    this.#expect(this.#phase === 'snapshot', 'snapshotEnd without snapshotStart');
    this.#expect(version === this.#snapshotVersion, `snapshotEnd(${version}) does not match snapshotStart(${this.#snapshotVersion})`);
    const out = this.#flush();
    this.#phase = 'tail';
    this.#lastTailVersion = Math.max(this.#lastTailVersion, version);
    out.push(this.#control({ case: 'snapshotEnd', value: { version: BigInt(version) } }));
    return out;
  }

  /**
   * Ends a successful answer: `head` is the scope's newest version, `lastVersion` the version the
   * answer brought the consumer to (< head when a limit cut the tail).
   */
  end(head: Version, lastVersion: Version): Uint8Array[] {
    this.#expect(this.#phase !== 'closed' && this.#phase !== 'snapshot', 'end inside a snapshot or after end/error');
    toVersion(head, 'head');
    toVersion(lastVersion, 'last version');
    this.#expect(lastVersion <= head && lastVersion >= this.#lastTailVersion, `end(head ${head}, last ${lastVersion}) contradicts the updates sent (up to ${this.#lastTailVersion})`);
    const out = this.#flush();
    out.push(this.#control({ case: 'end', value: { head: BigInt(head), lastVersion: BigInt(lastVersion) } }));
    this.#phase = 'closed';
    return out;
  }

  /** Abandons the answer with an error; updates not yet emitted are dropped (the answer is void). */
  error(error: RequestErrorInfo): Uint8Array[] {
    this.#expect(this.#phase !== 'closed', 'error after end or error');
    this.#pending = [];
    this.#pendingSizes = [];
    this.#pendingBody = 0;
    this.#phase = 'closed';
    return [this.#control({ case: 'error', value: { code: error.code, message: error.message, retryAfterMs: error.retryAfterMs } })];
  }

  #chunkMessageSize(body: number): number {
    return this.#envelope.length + SEQUENCE_FIELD_MAX + lenFieldSize(RR_UPDATES, body);
  }

  #flush(): Uint8Array[] {
    if (this.#pending.length === 0) return [];
    const seq = this.#sequence++;
    const buf = new Uint8Array(this.#envelope.length + varintFieldSize(RR_SEQUENCE, seq) + lenFieldSize(RR_UPDATES, this.#pendingBody));
    buf.set(this.#envelope, 0);
    let pos = writeVarintField(buf, this.#envelope.length, RR_SEQUENCE, seq);
    pos = writeLenHeader(buf, pos, RR_UPDATES, this.#pendingBody);
    for (let i = 0; i < this.#pending.length; i++) pos = writeScopedUpdate(buf, pos, CHUNK_UPDATES, this.#pending[i]!, this.#pendingSizes[i]!);
    this.#pending = [];
    this.#pendingSizes = [];
    this.#pendingBody = 0;
    return [buf];
  }

  #control(body: ControlInit): Uint8Array {
    const message = create(ReplayResponseSchema, {
      streamId: this.#streamId,
      requestId: this.#requestId,
      scope: this.#scope,
      sequence: this.#sequence++,
      body,
    });
    return toBinary(ReplayResponseSchema, message);
  }

  #expect(condition: boolean, problem: string): void {
    if (condition) return;
    if (this.#phase === 'closed') throw new ClosedError(`replay answer ${this.#requestId}`);
    throw new SchemaError(SchemaErrorCode.INVALID_MESSAGE, `replay answer ${this.#requestId} for ${this.#scope}: ${problem}`);
  }
}

type ControlInit =
  | { case: 'snapshotStart' | 'snapshotEnd'; value: { version: bigint } }
  | { case: 'end'; value: { head: bigint; lastVersion: bigint } }
  | { case: 'error'; value: { code: RequestErrorCode; message: string; retryAfterMs: number } };

/**
 * The error answer for a request that failed: SchemaErrors from decodeReplayRequest map to
 * BAD_REQUEST / INVALID_SCOPE / INVALID_LIMIT with their message; anything else is INTERNAL.
 */
export function requestErrorFor(err: unknown): RequestErrorInfo {
  if (!isSchemaError(err)) {
    return { code: RequestErrorCode.INTERNAL, message: `internal error: ${err instanceof Error ? err.message : String(err)}`, retryAfterMs: 0 };
  }
  const code = err.code === SchemaErrorCode.INVALID_SCOPE
    ? RequestErrorCode.INVALID_SCOPE
    : err.code === SchemaErrorCode.INVALID_LIMIT ? RequestErrorCode.INVALID_LIMIT : RequestErrorCode.BAD_REQUEST;
  return { code, message: err.message, retryAfterMs: 0 };
}
