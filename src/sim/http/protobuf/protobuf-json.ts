import { create, getOption, ScalarType, type DescField, type DescMessage, type Message, type MessageShape, type UnknownField } from '@bufbuild/protobuf';
import { json_inline } from '../../gen/k8s/meta/v1/json_pb.js';
import { ProtobufBodyError } from './protobuf-errors.ts';

/**
 * Kubernetes protobuf messages (protobuf-es, generated from proto/k8s/) ↔ the sim's JSON
 * objects, walking the message descriptors.
 *
 * The sim stores every object as the JSON a client would read (src/sim/model/objects.ts), so a
 * protobuf body is converted to that JSON when it arrives and the stored JSON to protobuf when a
 * client asks for protobuf. The rules are Kubernetes' (Go's encoding/json over its types):
 *
 * - A field's JSON key is its json_name; a field marked `(k8s.meta.v1.json_inline)` (an
 *   embedded Go struct) has its fields in the parent's JSON object.
 * - A scalar with explicit presence (`optional`: a Go pointer or a field without omitempty)
 *   is in the JSON whenever it is set, zero or not; any other scalar only when non-zero.
 *   Lists and maps only when non-empty; messages whenever set (`"resources": {}`).
 * - Time and MicroTime are RFC 3339 strings (a set but empty Time is null, as Go's zero
 *   time.Time), Quantity its string, IntOrString a number or a string, bytes base64, int64 a
 *   JSON number.
 *
 * Fields the .proto files do not declare arrive as protobuf-es unknown fields. They are kept:
 * attached to the JSON object of their message under the UNKNOWN_FIELDS symbol (JSON.stringify
 * and Object.keys ignore symbols; object spreads, which the model uses to build the stored
 * object, copy them), and written back when the object is encoded again. So an object created
 * in protobuf by a newer client keeps every field when read back in protobuf; JSON clients do
 * not see those fields (a real API server would not have them at all).
 *
 * JSON values that do not fit the schema (the sim validates few fields of JSON writes) are
 * left out of the protobuf encoding rather than failing a read.
 */
export const UNKNOWN_FIELDS: unique symbol = Symbol('kubemeta.sim.protobufUnknownFields');

/** The unknown fields of one message, and of the inline messages whose fields share its JSON object. */
export interface UnknownFieldSet {
  readonly own?: readonly UnknownField[];
  readonly inline?: Readonly<Record<string, UnknownFieldSet>>;
}

export type JsonObject = { [key: string]: unknown; [UNKNOWN_FIELDS]?: UnknownFieldSet };

type Special = 'time' | 'microTime' | 'quantity' | 'intOrString';

const SPECIAL_TYPES: ReadonlyMap<string, Special> = new Map([
  ['k8s.meta.v1.Time', 'time'],
  ['k8s.meta.v1.MicroTime', 'microTime'],
  ['k8s.meta.v1.Quantity', 'quantity'],
  ['k8s.meta.v1.IntOrString', 'intOrString'],
]);

interface FieldPlan {
  readonly field: DescField;
  readonly json: string;
  readonly local: string;
  readonly inline: boolean;
  /** Explicit presence: the JSON shows the value whenever it is set, zero included. */
  readonly explicit: boolean;
  readonly special: Special | undefined;
}

const plans = new Map<DescMessage, readonly FieldPlan[]>();

function planOf(desc: DescMessage): readonly FieldPlan[] {
  let plan = plans.get(desc);
  if (plan === undefined) {
    plan = desc.fields.map((field): FieldPlan => {
      const inline = getOption(field, json_inline);
      if (inline && field.fieldKind !== 'message') throw new Error(`${field.toString()}: json_inline is only for message fields`);
      const message = field.fieldKind === 'message' ? field.message : field.fieldKind === 'list' || field.fieldKind === 'map' ? valueMessage(field) : undefined;
      return {
        field,
        json: field.jsonName,
        local: field.localName,
        inline,
        explicit: field.fieldKind === 'scalar' && field.presence !== IMPLICIT,
        special: message ? SPECIAL_TYPES.get(message.typeName) : undefined,
      };
    });
    plans.set(desc, plan);
  }
  return plan;
}

/** FeatureSet_FieldPresence.IMPLICIT: proto3 fields without `optional`. */
const IMPLICIT = 2;

function valueMessage(field: DescField): DescMessage | undefined {
  if (field.fieldKind === 'list' && field.listKind === 'message') return field.message;
  if (field.fieldKind === 'map' && field.mapKind === 'message') return field.message;
  return undefined;
}

type AnyMessage = Message & Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// protobuf → JSON

/** The JSON object of `message` (a message of `desc`). Throws ProtobufBodyError for values JSON cannot hold. */
export function messageToJson(desc: DescMessage, message: Message): JsonObject {
  const out: JsonObject = {};
  const unknown = writeFields(desc, message as AnyMessage, out);
  if (unknown) out[UNKNOWN_FIELDS] = unknown;
  return out;
}

function writeFields(desc: DescMessage, message: AnyMessage, out: JsonObject): UnknownFieldSet | undefined {
  let inline: Record<string, UnknownFieldSet> | undefined;
  for (const p of planOf(desc)) {
    const value = message[p.local];
    if (p.inline) {
      if (value === undefined) continue;
      const nested = writeFields((p.field as DescField & { message: DescMessage }).message, value as AnyMessage, out);
      if (nested) (inline ??= {})[p.local] = nested;
      continue;
    }
    const json = fieldToJson(p, value);
    if (json !== undefined) out[p.json] = json;
  }
  const own = message.$unknown;
  if ((own === undefined || own.length === 0) && inline === undefined) return undefined;
  return { ...(own && own.length > 0 ? { own } : {}), ...(inline ? { inline } : {}) };
}

function fieldToJson(p: FieldPlan, value: unknown): unknown {
  const f = p.field;
  switch (f.fieldKind) {
    case 'scalar':
      if (value === undefined || (!p.explicit && isZero(f.scalar, value))) return undefined;
      return scalarToJson(f.scalar, value);
    case 'enum':
      return value === undefined || (!p.explicit && value === 0) ? undefined : value;
    case 'message':
      return value === undefined ? undefined : valueToJson(p, f.message, value);
    case 'list': {
      const list = value as unknown[];
      if (list.length === 0) return undefined;
      if (f.listKind === 'message') return list.map((v) => valueToJson(p, f.message, v));
      if (f.listKind === 'scalar') return list.map((v) => scalarToJson(f.scalar, v));
      return list;
    }
    case 'map': {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0) return undefined;
      const out: Record<string, unknown> = {};
      for (const [k, v] of entries) {
        out[k] = f.mapKind === 'message' ? valueToJson(p, f.message, v) : f.mapKind === 'scalar' ? scalarToJson(f.scalar, v) : v;
      }
      return out;
    }
  }
}

function valueToJson(p: FieldPlan, desc: DescMessage, value: unknown): unknown {
  return p.special === undefined ? messageToJson(desc, value as Message) : specialToJson(p.special, value as AnyMessage);
}

function isZero(type: ScalarType, value: unknown): boolean {
  if (type === ScalarType.BYTES) return (value as Uint8Array).length === 0;
  return value === 0 || value === 0n || value === '' || value === false;
}

function scalarToJson(type: ScalarType, value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (type === ScalarType.BYTES) return Buffer.from(value as Uint8Array).toString('base64');
  return value;
}

function specialToJson(special: Special, m: AnyMessage): unknown {
  switch (special) {
    case 'time':
    case 'microTime': {
      const seconds = m['seconds'] as bigint;
      const nanos = m['nanos'] as number;
      // An empty Time is Go's zero time.Time, which its JSON writes as null.
      if (seconds === 0n && nanos === 0) return null;
      return formatTime(seconds, special === 'microTime' ? nanos : undefined);
    }
    case 'quantity':
      return (m['string'] as string) || '0';
    case 'intOrString':
      return m['type'] === 1n ? (m['strVal'] as string) : (m['intVal'] as number);
  }
}

/** Go's time range (years 0001–9999); beyond it RFC 3339 has no form. */
const MIN_SECONDS = -62135596800n;
const MAX_SECONDS = 253402300799n;

function formatTime(seconds: bigint, nanos: number | undefined): string {
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
    throw new ProtobufBodyError(`a time of ${seconds} seconds since 1970 is outside the years 0001–9999 that Kubernetes can represent`);
  }
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  if (nanos === undefined) return `${base}Z`;
  const micros = Math.floor(Math.min(Math.max(nanos, 0), 999_999_999) / 1000);
  return `${base}.${String(micros).padStart(6, '0')}Z`;
}

// ---------------------------------------------------------------------------------------------
// JSON → protobuf

/** A message of `desc` holding what `json` says (keys the schema does not declare are ignored). */
export function jsonToMessage<Desc extends DescMessage>(desc: Desc, json: unknown): MessageShape<Desc> {
  const message = create(desc) as MessageShape<Desc> & AnyMessage;
  if (isObject(json)) readFields(desc, json, message, json[UNKNOWN_FIELDS]);
  return message;
}

function readFields(desc: DescMessage, json: JsonObject, message: AnyMessage, unknown: UnknownFieldSet | undefined): void {
  for (const p of planOf(desc)) {
    if (p.inline) {
      const nestedDesc = (p.field as DescField & { message: DescMessage }).message;
      const nested = create(nestedDesc) as AnyMessage;
      readFields(nestedDesc, json, nested, unknown?.inline?.[p.local]);
      message[p.local] = nested;
      continue;
    }
    const value = json[p.json];
    if (value === undefined || value === null) continue;
    const converted = fieldFromJson(p, value);
    if (converted !== undefined) message[p.local] = converted;
  }
  if (unknown?.own && unknown.own.length > 0) message.$unknown = [...unknown.own];
}

function fieldFromJson(p: FieldPlan, value: unknown): unknown {
  const f = p.field;
  switch (f.fieldKind) {
    case 'scalar':
      return scalarFromJson(f.scalar, value);
    case 'enum':
      return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
    case 'message':
      return valueFromJson(p, f.message, value);
    case 'list': {
      if (!Array.isArray(value)) return undefined;
      const out: unknown[] = [];
      for (const v of value) {
        // Go decodes a null element as the zero value.
        const item = f.listKind === 'message' ? valueFromJson(p, f.message, v ?? {}) : f.listKind === 'scalar' ? scalarFromJson(f.scalar, v ?? zeroJson(f.scalar)) : undefined;
        if (item !== undefined) out.push(item);
      }
      return out;
    }
    case 'map': {
      if (!isObject(value)) return undefined;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const item = f.mapKind === 'message' ? valueFromJson(p, f.message, v ?? {}) : f.mapKind === 'scalar' ? scalarFromJson(f.scalar, v ?? zeroJson(f.scalar)) : undefined;
        if (item !== undefined) out[k] = item;
      }
      return out;
    }
  }
}

function valueFromJson(p: FieldPlan, desc: DescMessage, value: unknown): Message | undefined {
  if (p.special !== undefined) return specialFromJson(p.special, desc, value);
  return isObject(value) ? jsonToMessage(desc, value) : undefined;
}

function zeroJson(type: ScalarType): unknown {
  return type === ScalarType.STRING || type === ScalarType.BYTES ? '' : type === ScalarType.BOOL ? false : 0;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function scalarFromJson(type: ScalarType, value: unknown): unknown {
  switch (type) {
    case ScalarType.STRING:
      return typeof value === 'string' ? value : undefined;
    case ScalarType.BOOL:
      return typeof value === 'boolean' ? value : undefined;
    case ScalarType.BYTES:
      return typeof value === 'string' ? new Uint8Array(Buffer.from(value, 'base64')) : undefined;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return typeof value === 'number' ? value : undefined;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : undefined;
    default:
      return typeof value === 'number' && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX ? value : undefined;
  }
}

function specialFromJson(special: Special, desc: DescMessage, value: unknown): Message | undefined {
  const m = create(desc) as AnyMessage;
  switch (special) {
    case 'time':
    case 'microTime': {
      const t = typeof value === 'string' ? parseTime(value) : undefined;
      if (t === undefined) return undefined;
      m['seconds'] = t.seconds;
      // metav1.Time keeps whole seconds on the wire, as Kubernetes' own encoder does.
      if (special === 'microTime') m['nanos'] = Math.floor(t.nanos / 1000) * 1000;
      return m;
    }
    case 'quantity':
      if (typeof value === 'string') m['string'] = value;
      else if (typeof value === 'number' && Number.isFinite(value)) m['string'] = String(value);
      else return undefined;
      return m;
    case 'intOrString':
      if (typeof value === 'string') {
        m['type'] = 1n;
        m['strVal'] = value;
      } else if (typeof value === 'number' && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX) {
        m['intVal'] = value;
      } else {
        return undefined;
      }
      return m;
  }
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** An RFC 3339 time as seconds since 1970 and nanoseconds, or undefined when `text` is not one. */
export function parseTime(text: string): { seconds: bigint; nanos: number } | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return undefined;
  const offset = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om) * 60);
  // Date.UTC maps years 0–99 to 1900–1999; years before 100 do not occur in Kubernetes objects.
  return { seconds: BigInt(Math.floor(ms / 1000) - offset), nanos: frac === undefined ? 0 : Number(frac.padEnd(9, '0')) };
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
