import { fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { ListMetaSchema } from '../../gen/k8s/meta/v1/meta_pb.js';
import type { StoredObject } from '../../model/objects.ts';
import { ProtobufBodyError } from './protobuf-errors.ts';
import { jsonToMessage, messageToJson, type JsonObject } from './protobuf-json.ts';
import { objectSchemaOf } from './protobuf-schemas.ts';
import { envelope, listMessage, openEnvelope, type Parts } from './protobuf-wire.ts';

/**
 * Kubernetes objects in protobuf, as the sim's HTTP API reads and writes them: request bodies
 * decoded to the sim's JSON objects, stored objects and other API objects (Status, Scale,
 * bookmarks) encoded with their `k8s\0` envelope, LIST bodies framed around cached item bytes.
 */
export interface ExpectedType {
  /** The kind the request path expects; the body's own kind, when it names one, wins (the caller checks it). */
  readonly kind: string;
  readonly apiVersion: string;
}

/** A protobuf request body as the JSON object a JSON client would have sent. */
export function decodeObject(body: Uint8Array, expected: ExpectedType): JsonObject & { apiVersion: string; kind: string } {
  const env = openEnvelope(body);
  const kind = env.kind || expected.kind;
  const apiVersion = env.apiVersion || expected.apiVersion;
  const schema = objectSchemaOf(kind);
  if (!schema) {
    throw new ProtobufBodyError(`no kind "${kind}" is registered for version "${apiVersion}" in kubemeta sim: send a ${expected.kind} to this path`);
  }
  let json: JsonObject;
  try {
    json = messageToJson(schema, fromBinary(schema, env.raw));
  } catch (err) {
    if (err instanceof ProtobufBodyError) throw new ProtobufBodyError(`${kind} in version "${versionOf(apiVersion)}" cannot be handled as a ${expected.kind}: ${err.message}`);
    const problem = err instanceof Error ? err.message : String(err);
    throw new ProtobufBodyError(`${kind} in version "${versionOf(apiVersion)}" cannot be handled as a ${expected.kind}: the protobuf message is malformed (${problem})`, { cause: err });
  }
  return { apiVersion, kind, ...json };
}

/** A whole body for a JSON API object that has `apiVersion` and `kind` (Status, Scale, a bookmark's object). */
export function encodeJsonObject(object: { readonly apiVersion: string; readonly kind: string; readonly [field: string]: unknown }): Parts {
  return envelope(object.apiVersion, object.kind, [toBinary(schemaOf(object.kind), jsonToMessage(schemaOf(object.kind), object))]);
}

/** A whole body for a stored object (GET, and the answer to a write). */
export function encodeStored(stored: StoredObject): Parts {
  return envelope(stored.object.apiVersion, stored.object.kind, [storedBytes(stored)]);
}

export interface ListMetaJson {
  readonly resourceVersion: string;
  readonly continue?: string;
  readonly remainingItemCount?: number;
}

/** A whole LIST body: `<Kind>List` with `meta` and `items`, each item encoded once and cached. */
export function encodeList(apiVersion: string, listKind: string, meta: ListMetaJson, items: readonly StoredObject[]): Parts {
  const listMeta = toBinary(ListMetaSchema, jsonToMessage(ListMetaSchema, meta));
  return envelope(apiVersion, listKind, listMessage(listMeta, items.map(storedBytes)));
}

const CACHE: unique symbol = Symbol('kubemeta.sim.protobufBytes');
type Cacheable = StoredObject & { [CACHE]?: Uint8Array };

/**
 * The object's own encoding (no envelope), made on first use and kept on the record: stored
 * records are immutable, so a LIST page or watch frame reuses it, as the JSON is reused.
 */
export function storedBytes(stored: StoredObject): Uint8Array {
  const cached = (stored as Cacheable)[CACHE];
  if (cached !== undefined) return cached;
  const schema = schemaOf(stored.kind);
  const bytes = toBinary(schema, jsonToMessage(schema, stored.object));
  if (Object.isExtensible(stored)) Object.defineProperty(stored, CACHE, { value: bytes });
  return bytes;
}

function schemaOf(kind: string): DescMessage {
  const schema = objectSchemaOf(kind);
  // Every kind the sim serves has a schema (protobuf-schemas.test.ts): reaching this is a bug.
  if (!schema) throw new Error(`kubemeta sim has no protobuf schema for kind ${kind}`);
  return schema;
}

function versionOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
}
