import { fromBinary } from '@bufbuild/protobuf';
import { UnknownSchema } from '../../gen/k8s/meta/v1/runtime_pb.js';
import { ProtobufBodyError } from './protobuf-errors.ts';

/**
 * Kubernetes' protobuf framing (k8s.io/apimachinery/pkg/runtime/serializer/protobuf), written
 * by hand around message bytes so that an object encoded once is reused as it is in every LIST
 * page and watch frame that carries it:
 *
 * - a body is MAGIC followed by a `runtime.Unknown` whose type_meta (apiVersion, kind) names
 *   the object and whose raw field holds the object's own encoding;
 * - a list is such a body around a `<Kind>List` message: its ListMeta (field 1) and each item
 *   (field 2);
 * - a watch stream is a sequence of frames: a 4-byte big-endian length, then a bare
 *   `metav1.WatchEvent` (no magic, no envelope) whose object.raw is a whole body as above.
 */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
export const PROTOBUF_WATCH_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf;stream=watch';

/** "k8s" and the encoding style 0 (a runtime.Unknown follows). */
export const MAGIC: Uint8Array = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

/** The parts of a body: written one after the other (or concatenated) they form it. */
export type Parts = readonly Uint8Array[];

export interface Envelope {
  readonly apiVersion: string;
  readonly kind: string;
  readonly raw: Uint8Array;
}

/** Takes a body apart; a ProtobufBodyError says what is wrong with one that is not a Kubernetes protobuf message. */
export function openEnvelope(body: Uint8Array): Envelope {
  if (body.length === 0) throw new ProtobufBodyError('the request body is empty: send a Kubernetes protobuf message (k8s\\0 followed by a runtime.Unknown)');
  if (body.length < MAGIC.length || MAGIC.some((b, i) => body[i] !== b)) {
    throw new ProtobufBodyError(
      `provided data does not appear to be a protobuf message, expected prefix [107 56 115 0] ("k8s\\0"); got [${[...body.subarray(0, 4)].join(' ')}]: a Content-Type of ${PROTOBUF_MEDIA_TYPE} needs a Kubernetes protobuf body`,
    );
  }
  try {
    const unknown = fromBinary(UnknownSchema, body.subarray(MAGIC.length));
    return { apiVersion: unknown.typeMeta?.apiVersion ?? '', kind: unknown.typeMeta?.kind ?? '', raw: unknown.raw };
  } catch (err) {
    throw new ProtobufBodyError(`the request body is not a valid runtime.Unknown after the k8s\\0 prefix: ${messageOf(err)}`, { cause: err });
  }
}

/** The body that carries `raw` (one object's or one list's encoding) as `apiVersion`/`kind`. */
export function envelope(apiVersion: string, kind: string, raw: Parts): Parts {
  const typeMeta = concat([stringField(1, apiVersion), stringField(2, kind)]);
  return [concat([MAGIC, tagAndLength(1, typeMeta.length), typeMeta, tagAndLength(2, totalLength(raw))]), ...raw];
}

/** The encoding of a `<Kind>List` with `listMeta` (ListMeta bytes) and `items` (each an object's bytes). */
export function listMessage(listMeta: Uint8Array, items: Parts): Parts {
  const parts: Uint8Array[] = [concat([tagAndLength(1, listMeta.length), listMeta])];
  for (const item of items) parts.push(tagAndLength(2, item.length), item);
  return parts;
}

/** One watch frame: the length prefix and a WatchEvent of `type` whose object is the body `object`. */
export function watchFrame(type: string, object: Parts): Buffer {
  const objectLength = totalLength(object);
  // RawExtension { raw = 1 }
  const rawExtensionLength = tagAndLength(1, objectLength).length + objectLength;
  const head = concat([stringField(1, type), tagAndLength(2, rawExtensionLength), tagAndLength(1, objectLength)]);
  const eventLength = head.length + objectLength;
  const frame = Buffer.allocUnsafe(4 + eventLength);
  frame.writeUInt32BE(eventLength, 0);
  frame.set(head, 4);
  let offset = 4 + head.length;
  for (const part of object) {
    frame.set(part, offset);
    offset += part.length;
  }
  return frame;
}

export function totalLength(parts: Parts): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

export function concat(parts: Parts): Uint8Array {
  return Buffer.concat(parts as Uint8Array[]);
}

function stringField(field: number, value: string): Uint8Array {
  if (value === '') return new Uint8Array(0);
  const bytes = Buffer.from(value, 'utf8');
  return concat([tagAndLength(field, bytes.length), bytes]);
}

/** The key of a length-delimited field (wire type 2) and the payload's length, as varints. */
function tagAndLength(field: number, length: number): Uint8Array {
  return concat([varint((field << 3) | 2), varint(length)]);
}

function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
