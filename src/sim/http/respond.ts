import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, statusObject, type StatusOptions } from './http-io.ts';
import { contentTypeOf, negotiate, singleJson, type Encoding, type Negotiated } from './media.ts';
import type { StoredObject } from '../model/objects.ts';
import { encodeJsonObject, encodeStored } from './protobuf/protobuf-codec.ts';
import { concat } from './protobuf/protobuf-wire.ts';

/**
 * Single-object answers in the encoding the client negotiated: stored objects, other API
 * objects (Scale, a deletion's Status) and Status errors. The API server encodes its errors in
 * the negotiated media type too, so a client that asked for protobuf gets its Status in
 * protobuf (client-go decodes by the response's Content-Type either way).
 */
export function sendStored(res: ServerResponse, code: number, n: Negotiated, stored: StoredObject, nowMs: number): void {
  if (n.encoding === 'protobuf') sendJson(res, code, concat(encodeStored(stored)), contentTypeOf(n, false));
  else sendJson(res, code, singleJson(n.representation, stored, nowMs), contentTypeOf(n, false));
}

/** An API object given as JSON text with its apiVersion and kind (Scale, Status). */
export function sendApiObject(res: ServerResponse, code: number, encoding: Encoding, json: string, headers: Record<string, string> = {}): void {
  if (encoding === 'protobuf') {
    const object = JSON.parse(json) as { apiVersion: string; kind: string };
    sendJson(res, code, concat(encodeJsonObject(object)), contentTypeOf({ encoding, representation: { as: 'object' } }, false), headers);
  } else {
    sendJson(res, code, json, encoding === 'yaml' ? 'application/yaml' : 'application/json', headers);
  }
}

export function sendStatus(res: ServerResponse, options: StatusOptions, encoding: Encoding, headers: Record<string, string> = {}): void {
  sendApiObject(res, options.code, encoding, JSON.stringify(statusObject(options)), headers);
}

/** The encoding for an error answer: what the client negotiated, JSON when its Accept cannot be served. */
export function errorEncoding(req: IncomingMessage): Encoding {
  try {
    return negotiate(req.headers.accept, new URLSearchParams()).encoding;
  } catch {
    return 'json';
  }
}
