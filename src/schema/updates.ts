import { create, fromBinary, toJson } from '@bufbuild/protobuf';
import type { JsonObject, MessageInitShape } from '@bufbuild/protobuf';
import { ResourceUpdateSchema } from './gen/kubemeta/v1/resources_pb.js';
import type { ResourceUpdate } from './gen/kubemeta/v1/resources_pb.js';
import { SchemaError, SchemaErrorCode, decodeFailed } from './errors.ts';
import { updateIdentity } from './kinds.ts';
import { writeResourceUpdate } from './payload-encoder.ts';
import { formatScope, parseScope } from './scope.ts';
import type { Scope } from './scope.ts';
import { parseStreamId } from './stream-id.ts';
import type { StreamId } from './stream-id.ts';
import { toVersion } from './version.ts';
import type { Version } from './version.ts';
import {
  ProtoReader, WIRE_LEN, WIRE_VARINT, bytesFieldSize, concatBytes, lenFieldSize, tag, varintFieldSize,
  writeBytesField, writeLenHeader, writeVarintField,
} from './wire.ts';

/** What `createResourceUpdate` accepts: plain objects for every nested message. */
export type ResourceUpdateInit = MessageInitShape<typeof ResourceUpdateSchema>;

/** Builds a ResourceUpdate from plain objects (missing fields get their zero values). */
export function createResourceUpdate(init: ResourceUpdateInit): ResourceUpdate {
  return create(ResourceUpdateSchema, init);
}

/**
 * Serializes one update, once: the bytes are stored by the log and embedded unchanged in every
 * scope's batch and every replay chunk. Uses the hand-written encoder (payload-encoder.ts):
 * byte-identical to toBinary, about 3× faster. Throws SchemaError INVALID_MESSAGE for an
 * update without an object or identity (a projection bug that consumers could not key).
 */
export function encodeResourceUpdate(update: ResourceUpdate): Uint8Array {
  updateIdentity(update);
  return writeResourceUpdate(update);
}

/** Decodes and checks one update's bytes (from a frame or the store); throws SchemaError. */
export function decodeResourceUpdate(bytes: Uint8Array): ResourceUpdate {
  let update: ResourceUpdate;
  try {
    update = fromBinary(ResourceUpdateSchema, bytes, { readUnknownFields: false });
  } catch (cause) {
    throw decodeFailed('ResourceUpdate', bytes, cause);
  }
  updateIdentity(update);
  return update;
}

/** The protobuf JSON form of an update (int64 times as strings): for logs and `kubemeta tail`. */
export function resourceUpdateToJson(update: ResourceUpdate): JsonObject {
  return toJson(ResourceUpdateSchema, update) as JsonObject;
}

/**
 * One update as it goes out on one scope: its place in that scope's chain and the cached
 * ResourceUpdate bytes from encodeResourceUpdate. When read back, `payload` is a view into the
 * received message (no copy).
 */
export interface UpdateFrame {
  readonly version: Version;
  /** The previous version on this scope; 0 for the scope's first update and for snapshot entries. */
  readonly prevVersion: Version;
  readonly payload: Uint8Array;
}

/** A live batch for one scope (the UpdateBatch message), before encoding. */
export interface UpdateBatchFrames {
  readonly streamId: StreamId;
  readonly scope: Scope;
  readonly frames: readonly UpdateFrame[];
}

/** A received batch, decoded and checked. */
export interface DecodedUpdate {
  readonly version: Version;
  readonly prevVersion: Version;
  readonly update: ResourceUpdate;
}
export interface DecodedBatch {
  readonly streamId: StreamId;
  readonly scope: Scope;
  readonly updates: readonly DecodedUpdate[];
}

// Field numbers of updates.proto.
const SU_VERSION = 1;
const SU_PREV = 2;
const SU_UPDATE = 3;
const UB_STREAM_ID = 1;
const UB_SCOPE = 2;
const UB_UPDATES = 3;
const UB_COUNT = 4;

const utf8 = new TextEncoder();

/** Size of a ScopedUpdate message body for `frame`. */
export function scopedUpdateSize(frame: UpdateFrame): number {
  return varintFieldSize(SU_VERSION, frame.version) + varintFieldSize(SU_PREV, frame.prevVersion) +
    lenFieldSize(SU_UPDATE, frame.payload.length);
}

/** Writes `frame` as a length-delimited ScopedUpdate in field `field` of the enclosing message. */
export function writeScopedUpdate(buf: Uint8Array, pos: number, field: number, frame: UpdateFrame, size: number): number {
  pos = writeLenHeader(buf, pos, field, size);
  pos = writeVarintField(buf, pos, SU_VERSION, frame.version);
  pos = writeVarintField(buf, pos, SU_PREV, frame.prevVersion);
  pos = writeLenHeader(buf, pos, SU_UPDATE, frame.payload.length);
  buf.set(frame.payload, pos);
  return pos + frame.payload.length;
}

/**
 * Checks a frame before it goes on the wire: versions exact and ≥ 1, prev below version, a
 * payload present. Throws SchemaError (VERSION_OVERFLOW, INVALID_VERSION, INVALID_MESSAGE).
 */
export function checkFrame(frame: UpdateFrame, what: string): void {
  if (toVersion(frame.version, `${what} version`) === 0 || toVersion(frame.prevVersion, `${what} prev_version`) >= frame.version) {
    throw new SchemaError(
      SchemaErrorCode.INVALID_VERSION,
      `${what}: version ${frame.version} must be ≥ 1 and above prev_version ${frame.prevVersion}`,
    );
  }
  if (frame.payload.length === 0) throw new SchemaError(SchemaErrorCode.INVALID_MESSAGE, `${what} has an empty payload`);
}

/**
 * Encodes an UpdateBatch by framing the cached payloads: the payload bytes are copied once into
 * the output and never re-serialized. The result is byte-for-byte what protobuf's own encoder
 * produces for the same message. Checks the chain (docs/design.md §2): every prevVersion equals the
 * version before it in the batch. Throws SchemaError.
 */
export function encodeUpdateBatch(batch: UpdateBatchFrames): Uint8Array {
  if (batch.frames.length === 0) throw new SchemaError(SchemaErrorCode.INVALID_MESSAGE, 'an UpdateBatch needs at least one update');
  const streamId = utf8.encode(parseStreamId(batch.streamId));
  const scopeText = formatScope(batch.scope);
  parseScope(scopeText); // a hand-built Scope object may hold an invalid node name
  const scope = utf8.encode(scopeText);
  const sizes = new Array<number>(batch.frames.length);
  let total = bytesFieldSize(UB_STREAM_ID, streamId) + bytesFieldSize(UB_SCOPE, scope) + varintFieldSize(UB_COUNT, batch.frames.length);
  let prev: UpdateFrame | undefined;
  for (let i = 0; i < batch.frames.length; i++) {
    const frame = batch.frames[i]!;
    checkFrame(frame, `update ${i} of the batch for ${formatScope(batch.scope)}`);
    if (prev !== undefined && frame.prevVersion !== prev.version) throw brokenChain(batch.scope, prev, frame);
    prev = frame;
    sizes[i] = scopedUpdateSize(frame);
    total += lenFieldSize(UB_UPDATES, sizes[i]!);
  }
  const buf = new Uint8Array(total);
  let pos = writeBytesField(buf, 0, UB_STREAM_ID, streamId);
  pos = writeBytesField(buf, pos, UB_SCOPE, scope);
  for (let i = 0; i < batch.frames.length; i++) pos = writeScopedUpdate(buf, pos, UB_UPDATES, batch.frames[i]!, sizes[i]!);
  writeVarintField(buf, pos, UB_COUNT, batch.frames.length);
  return buf;
}

function brokenChain(scope: Scope, prev: UpdateFrame, frame: UpdateFrame): SchemaError {
  return new SchemaError(
    SchemaErrorCode.INVALID_VERSION,
    `batch for ${formatScope(scope)} breaks the chain: version ${frame.version} has prev_version ` +
      `${frame.prevVersion} but follows version ${prev.version}`,
  );
}

/**
 * Splits a long run of frames into as many UpdateBatch messages as needed so that each stays
 * within `maxMessageBytes` (a single update larger than that goes alone; one larger than
 * `hardLimitBytes`, NATS's max_payload, throws SchemaError MESSAGE_TOO_LARGE).
 */
export function encodeUpdateBatches(
  batch: UpdateBatchFrames,
  limits: { readonly maxMessageBytes: number; readonly hardLimitBytes?: number },
): Uint8Array[] {
  const hard = limits.hardLimitBytes ?? Number.MAX_SAFE_INTEGER;
  // Envelope: stream id + scope + a 1+5 byte count field, whatever the count.
  const envelope = lenFieldSize(UB_STREAM_ID, 32) + lenFieldSize(UB_SCOPE, utf8.encode(formatScope(batch.scope)).length) + 6;
  const out: Uint8Array[] = [];
  let start = 0;
  let size = envelope;
  for (let i = 0; i < batch.frames.length; i++) {
    const entry = lenFieldSize(UB_UPDATES, scopedUpdateSize(batch.frames[i]!));
    if (envelope + entry > hard) {
      throw new SchemaError(
        SchemaErrorCode.MESSAGE_TOO_LARGE,
        `update version ${batch.frames[i]!.version} needs ${envelope + entry} bytes, above the ${hard}-byte ` +
          'message limit; raise NATS max_payload or shrink the object (labels?)',
      );
    }
    if (i > start && size + entry > limits.maxMessageBytes) {
      out.push(encodeUpdateBatch({ ...batch, frames: batch.frames.slice(start, i) }));
      start = i;
      size = envelope;
    }
    size += entry;
  }
  if (start < batch.frames.length) out.push(encodeUpdateBatch({ ...batch, frames: batch.frames.slice(start) }));
  return out;
}

/** Reads the ScopedUpdate body at bytes[start, end) into a frame (exact versions, payload as a view). */
export function readScopedUpdate(bytes: Uint8Array, start: number, end: number): UpdateFrame {
  const sub = new ProtoReader(bytes, start, end);
  let version = 0;
  let prevVersion = 0;
  const payloads: Uint8Array[] = [];
  while (!sub.done()) {
    const t = sub.tag();
    if (t === tag(SU_VERSION, WIRE_VARINT)) version = toVersion(sub.uint64(), 'version');
    else if (t === tag(SU_PREV, WIRE_VARINT)) prevVersion = toVersion(sub.uint64(), 'prev_version');
    else if (t === tag(SU_UPDATE, WIRE_LEN)) payloads.push(sub.bytesView());
    else sub.skip(t & 7);
  }
  if (payloads.length === 0) throw new SchemaError(SchemaErrorCode.INVALID_MESSAGE, `update version ${version} has no payload`);
  if (version === 0 || prevVersion >= version) {
    throw new SchemaError(
      SchemaErrorCode.INVALID_VERSION,
      `update version ${version} with prev_version ${prevVersion}: version must be ≥ 1 and above prev_version`,
    );
  }
  return { version, prevVersion, payload: concatBytes(payloads) };
}

/**
 * Reads an UpdateBatch's envelope without decoding the payloads: lets a consumer skip
 * duplicates or detect a gap before paying for payload decoding. Throws SchemaError.
 */
export function readUpdateBatch(bytes: Uint8Array): UpdateBatchFrames {
  try {
    return readUpdateBatchUnchecked(bytes);
  } catch (cause) {
    throw decodeFailed('UpdateBatch', bytes, cause);
  }
}

function readUpdateBatchUnchecked(bytes: Uint8Array): UpdateBatchFrames {
  const r = new ProtoReader(bytes);
  let streamId = '';
  let scope = '';
  let count = 0;
  const frames: UpdateFrame[] = [];
  while (!r.done()) {
    const t = r.tag();
    if (t === tag(UB_UPDATES, WIRE_LEN)) {
      const [start, end] = r.lenRange();
      frames.push(readScopedUpdate(bytes, start, end));
    } else if (t === tag(UB_STREAM_ID, WIRE_LEN)) streamId = r.string();
    else if (t === tag(UB_SCOPE, WIRE_LEN)) scope = r.string();
    else if (t === tag(UB_COUNT, WIRE_VARINT)) count = r.varint();
    else r.skip(t & 7);
  }
  if (count !== frames.length || count === 0) {
    throw new SchemaError(
      SchemaErrorCode.DECODE_FAILED,
      `UpdateBatch says ${count} updates but holds ${frames.length}: the message was cut (a batch is never empty)`,
    );
  }
  return { streamId: parseStreamId(streamId), scope: parseScope(scope), frames };
}

/** Decodes and checks a live UpdateBatch, payloads included. Throws SchemaError. */
export function decodeUpdateBatch(bytes: Uint8Array): DecodedBatch {
  const batch = readUpdateBatch(bytes);
  return { streamId: batch.streamId, scope: batch.scope, updates: batch.frames.map(decodeFrame) };
}

/** Decodes a frame's payload (from readUpdateBatch or a replay chunk). Throws SchemaError. */
export function decodeFrame(frame: UpdateFrame): DecodedUpdate {
  return { version: frame.version, prevVersion: frame.prevVersion, update: decodeResourceUpdate(frame.payload) };
}
