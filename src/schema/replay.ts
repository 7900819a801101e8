import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ReplayAckSchema, ReplayRequestSchema, ReplayResponseSchema } from './gen/kubemeta/v1/replay_pb.js';
import type { RequestErrorCode } from './gen/kubemeta/v1/errors_pb.js';
import { SchemaError, SchemaErrorCode, decodeFailed } from './errors.ts';
import { MIN_CHUNK_BYTES, NATS_DEFAULT_MAX_PAYLOAD } from './limits.ts';
import { formatScope, parseScope } from './scope.ts';
import type { Scope } from './scope.ts';
import { parseStreamId } from './stream-id.ts';
import type { StreamId } from './stream-id.ts';
import { readScopedUpdate } from './updates.ts';
import type { UpdateFrame } from './updates.ts';
import { toVersion } from './version.ts';
import type { Version } from './version.ts';
import { ProtoReader, WIRE_LEN, WIRE_VARINT, lenFieldSize, tag, writeLenHeader } from './wire.ts';

/** A replay request (docs/design.md §4), checked. */
export interface ReplayRequest {
  readonly scope: Scope;
  /** Last version the consumer applied on the scope; 0 = new consumer (snapshot). */
  readonly after: Version;
  /** Most tail updates wanted; 0 = the server's default. */
  readonly limit: number;
  /** Stream id the consumer's state came from; undefined when it has none. */
  readonly knownStreamId: StreamId | undefined;
  /** Echoed in every response; 1–128 characters. */
  readonly requestId: string;
  /** 0 = the server's default; otherwise within [MIN_CHUNK_BYTES, NATS_DEFAULT_MAX_PAYLOAD]. */
  readonly maxChunkBytes: number;
}

export type ReplayRequestInit = Pick<ReplayRequest, 'scope' | 'after' | 'requestId'> &
  Partial<Pick<ReplayRequest, 'limit' | 'knownStreamId' | 'maxChunkBytes'>>;

const MAX_REQUEST_ID = 128;

export function encodeReplayRequest(init: ReplayRequestInit): Uint8Array {
  const request = checkReplayRequest({
    scope: init.scope,
    after: init.after,
    limit: init.limit ?? 0,
    knownStreamId: init.knownStreamId,
    requestId: init.requestId,
    maxChunkBytes: init.maxChunkBytes ?? 0,
  });
  return toBinary(ReplayRequestSchema, create(ReplayRequestSchema, {
    scope: formatScope(request.scope),
    after: BigInt(request.after),
    limit: request.limit,
    knownStreamId: request.knownStreamId ?? '',
    requestId: request.requestId,
    maxChunkBytes: request.maxChunkBytes,
  }));
}

/**
 * Decodes and checks a request. Throws SchemaError: DECODE_FAILED (garbage), INVALID_SCOPE,
 * INVALID_VERSION / VERSION_OVERFLOW (`after`), INVALID_LIMIT (chunk size), INVALID_MESSAGE
 * (request id). `requestErrorFor` turns it into the error answer.
 */
export function decodeReplayRequest(bytes: Uint8Array): ReplayRequest {
  let m;
  try {
    m = fromBinary(ReplayRequestSchema, bytes, { readUnknownFields: false });
  } catch (cause) {
    throw decodeFailed('ReplayRequest', bytes, cause);
  }
  return checkReplayRequest({
    scope: parseScope(m.scope),
    after: toVersion(m.after, 'after'),
    limit: m.limit,
    knownStreamId: m.knownStreamId === '' ? undefined : parseStreamId(m.knownStreamId),
    requestId: m.requestId,
    maxChunkBytes: m.maxChunkBytes,
  });
}

function checkReplayRequest(r: ReplayRequest): ReplayRequest {
  parseScope(formatScope(r.scope)); // a hand-built Scope object may hold an invalid node name
  toVersion(r.after, 'after');
  if (r.knownStreamId !== undefined) parseStreamId(r.knownStreamId);
  if (r.requestId.length === 0 || r.requestId.length > MAX_REQUEST_ID) {
    throw new SchemaError(SchemaErrorCode.INVALID_MESSAGE, `request id must be 1–${MAX_REQUEST_ID} characters, got ${r.requestId.length}`);
  }
  if (!Number.isInteger(r.limit) || r.limit < 0 || r.limit > 0xffffffff) {
    throw new SchemaError(SchemaErrorCode.INVALID_LIMIT, `limit must be an integer in [0, 2^32), got ${r.limit}`);
  }
  const c = r.maxChunkBytes;
  if (c !== 0 && !(Number.isInteger(c) && c >= MIN_CHUNK_BYTES && c <= NATS_DEFAULT_MAX_PAYLOAD)) {
    throw new SchemaError(
      SchemaErrorCode.INVALID_LIMIT,
      `max_chunk_bytes must be 0 (server default) or within [${MIN_CHUNK_BYTES}, ${NATS_DEFAULT_MAX_PAYLOAD}], got ${c}`,
    );
  }
  return r;
}

/** The error answer of a request: what the consumer sees in ReplayResponse.error. */
export interface RequestErrorInfo {
  readonly code: RequestErrorCode;
  readonly message: string;
  /** 0 = no advice. */
  readonly retryAfterMs: number;
}

/** One decoded response message; `type` says which body it carries. */
export type ReplayMessage = ReplayEnvelope & ReplayBody;
export interface ReplayEnvelope {
  readonly streamId: StreamId;
  readonly requestId: string;
  readonly scope: Scope;
  /** 0, 1, 2 … within one answer. */
  readonly sequence: number;
}
export type ReplayBody =
  | { readonly type: 'snapshotStart'; readonly version: Version }
  | { readonly type: 'updates'; readonly frames: readonly UpdateFrame[] }
  | { readonly type: 'snapshotEnd'; readonly version: Version }
  | { readonly type: 'end'; readonly head: Version; readonly lastVersion: Version }
  | { readonly type: 'error'; readonly error: RequestErrorInfo };

// Field numbers of replay.proto (ReplayResponse and bodies).
export const RR_STREAM_ID = 1;
export const RR_REQUEST_ID = 2;
export const RR_SCOPE = 3;
export const RR_SEQUENCE = 4;
export const RR_SNAPSHOT_START = 5;
export const RR_UPDATES = 6;
export const RR_SNAPSHOT_END = 7;
export const RR_END = 8;
export const RR_ERROR = 9;
export const CHUNK_UPDATES = 1;

/**
 * Decodes one response message. Update payloads stay encoded (frames); decode them with
 * decodeFrame when applying. Throws SchemaError for garbage, a message without body or a
 * malformed envelope.
 */
export function decodeReplayResponse(bytes: Uint8Array): ReplayMessage {
  try {
    return readReplayResponse(bytes);
  } catch (cause) {
    throw decodeFailed('ReplayResponse', bytes, cause);
  }
}

function readReplayResponse(bytes: Uint8Array): ReplayMessage {
  const r = new ProtoReader(bytes);
  let streamId = '';
  let requestId = '';
  let scope = '';
  let sequence = 0;
  let body: ReplayBody | undefined;
  while (!r.done()) {
    const t = r.tag();
    if (t === tag(RR_STREAM_ID, WIRE_LEN)) streamId = r.string();
    else if (t === tag(RR_REQUEST_ID, WIRE_LEN)) requestId = r.string();
    else if (t === tag(RR_SCOPE, WIRE_LEN)) scope = r.string();
    else if (t === tag(RR_SEQUENCE, WIRE_VARINT)) sequence = r.varint();
    else if ((t & 7) === WIRE_LEN && t >>> 3 >= RR_SNAPSHOT_START && t >>> 3 <= RR_ERROR) body = readBody(t >>> 3, r);
    else r.skip(t & 7);
  }
  if (body === undefined) throw new SchemaError(SchemaErrorCode.INVALID_MESSAGE, 'ReplayResponse has no body (cut, or from a newer schema)');
  if (sequence > 0xffffffff) throw new SchemaError(SchemaErrorCode.INVALID_MESSAGE, `sequence ${sequence} is not a uint32`);
  return { streamId: parseStreamId(streamId), requestId, scope: parseScope(scope), sequence, ...body };
}

function readBody(field: number, r: ProtoReader): ReplayBody {
  const [start, end] = r.lenRange();
  if (field === RR_UPDATES) {
    const sub = new ProtoReader(r.bytes, start, end);
    const frames: UpdateFrame[] = [];
    while (!sub.done()) {
      const t = sub.tag();
      if (t === tag(CHUNK_UPDATES, WIRE_LEN)) {
        const [s, e] = sub.lenRange();
        frames.push(readScopedUpdate(r.bytes, s, e));
      } else sub.skip(t & 7);
    }
    return { type: 'updates', frames };
  }
  // The other bodies are a few scalars: the generated decoder is the simplest correct reader.
  const view = r.bytes.subarray(start, end);
  const m = fromBinary(ReplayResponseSchema, frameBody(field, view), { readUnknownFields: false });
  const b = m.body;
  switch (b.case) {
    case 'snapshotStart':
      return { type: 'snapshotStart', version: toVersion(b.value.version, 'snapshot_start.version') };
    case 'snapshotEnd':
      return { type: 'snapshotEnd', version: toVersion(b.value.version, 'snapshot_end.version') };
    case 'end':
      return { type: 'end', head: toVersion(b.value.head, 'end.head'), lastVersion: toVersion(b.value.lastVersion, 'end.last_version') };
    case 'error':
      return { type: 'error', error: { code: b.value.code, message: b.value.message, retryAfterMs: b.value.retryAfterMs } };
    default:
      throw new SchemaError(SchemaErrorCode.INVALID_MESSAGE, `ReplayResponse body field ${field} is unknown`);
  }
}

/** Re-wraps a body as a ReplayResponse holding only that field, for the generated decoder. */
function frameBody(field: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(lenFieldSize(field, body.length));
  out.set(body, writeLenHeader(out, 0, field, body.length));
  return out;
}

/** Flow-control acknowledgement (see replay.proto ReplayAck). */
export interface ReplayAck {
  readonly requestId: string;
  readonly sequence: number;
}

export function encodeReplayAck(ack: ReplayAck): Uint8Array {
  return toBinary(ReplayAckSchema, create(ReplayAckSchema, { requestId: ack.requestId, sequence: ack.sequence }));
}

export function decodeReplayAck(bytes: Uint8Array): ReplayAck {
  let m;
  try {
    m = fromBinary(ReplayAckSchema, bytes, { readUnknownFields: false });
  } catch (cause) {
    throw decodeFailed('ReplayAck', bytes, cause);
  }
  if (m.requestId === '') throw new SchemaError(SchemaErrorCode.INVALID_MESSAGE, `ReplayAck has no request id (sequence ${m.sequence})`);
  return { requestId: m.requestId, sequence: m.sequence };
}
