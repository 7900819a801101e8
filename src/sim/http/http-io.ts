import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { SimApiError, STATUS_REASONS, type StatusReason } from '../model/errors.ts';
import { requestEncoding } from './media.ts';
import { decodeObject, type ExpectedType } from './protobuf/protobuf-codec.ts';

/** The request body limit of the real API server (3 MiB), so clients see the same refusal. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface StatusOptions {
  code: number;
  reason: string;
  message: string;
  details?: Record<string, unknown> | undefined;
  success?: boolean;
  /** ListMeta of the Status: a 410 for an expired continue token carries a fresh token here. */
  metadata?: { continue?: string };
}

/** A Kubernetes `Status` object (kind Status, apiVersion v1). */
export function statusObject(options: StatusOptions): { apiVersion: string; kind: string; [field: string]: unknown } {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: options.metadata ?? {},
    status: options.success ? 'Success' : 'Failure',
    message: options.message,
    reason: options.reason,
    details: options.details ?? {},
    code: options.code,
  };
}

/** A Kubernetes `Status` object as JSON text. */
export function statusJson(options: StatusOptions): string {
  return JSON.stringify(statusObject(options));
}

export function statusOptionsOf(err: SimApiError): StatusOptions {
  return { code: err.httpStatus, reason: err.reason, message: err.message, details: err.details };
}

/** The Status reason a fault-injected HTTP status is reported with. */
export function reasonForStatus(code: number): StatusReason {
  const found = (Object.entries(STATUS_REASONS) as Array<[StatusReason, number]>).find(([, c]) => c === code);
  return found ? found[0] : code >= 500 ? 'InternalError' : 'BadRequest';
}

export function sendJson(res: ServerResponse, code: number, body: string | Uint8Array, contentType = 'application/json', headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(code, {
    'Content-Type': contentType,
    'Content-Length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
    'Cache-Control': 'no-cache, private',
    ...headers,
  });
  res.end(body);
}

/** Reads the whole body, refusing more than MAX_BODY_BYTES with 413 as the real server does. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new SimApiError('RequestEntityTooLarge', `the request body is larger than ${MAX_BODY_BYTES} bytes: send smaller objects`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON (or YAML, when the Content-Type says so) request body; 400 Status when malformed. */
export async function readJsonBody(req: IncomingMessage, options: { optional?: boolean } = {}): Promise<unknown> {
  return parseTextBody((await readBody(req)).toString('utf8'), /yaml/i.test(req.headers['content-type'] ?? '') ? 'yaml' : 'json', options);
}

function parseTextBody(text: string, encoding: 'json' | 'yaml', options: { optional?: boolean }): unknown {
  if (text.trim() === '') {
    if (options.optional) return undefined;
    throw new SimApiError('BadRequest', 'the request body is empty: send a JSON object');
  }
  try {
    return encoding === 'yaml' ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    const problem = err instanceof Error ? err.message : String(err);
    throw new SimApiError('BadRequest', `the request body is not valid ${encoding === 'yaml' ? 'YAML' : 'JSON'}: ${problem}`);
  }
}

/**
 * Reads an object body (create, update, delete options) in the encoding its Content-Type names:
 * JSON (also when there is none), YAML, or Kubernetes protobuf, decoded to the JSON object a
 * JSON client would have sent (`expected` is the kind and apiVersion the path takes). Other
 * Content-Types are 415, a malformed body is 400, as on the API server.
 */
export async function readObjectBody(req: IncomingMessage, expected: ExpectedType, options: { optional?: boolean } = {}): Promise<unknown> {
  const encoding = requestEncoding(req.headers['content-type']);
  const body = await readBody(req);
  if (encoding !== 'protobuf') return parseTextBody(body.toString('utf8'), encoding, options);
  if (body.length === 0 && options.optional) return undefined;
  return decodeObject(body, expected);
}

/** Body parts are encoded into buffers of about this size, one socket write each. */
const WRITE_CHUNK = 1024 * 1024;

/**
 * Coalesces many small parts (LIST items, watch events: JSON strings or protobuf bytes) into
 * large socket writes, honouring backpressure. Strings are encoded straight into preallocated
 * buffers: no string concatenation (a rope would have to be flattened, i.e. copied, before it
 * is written) and one UTF-8 pass; a string never needs more than 3 bytes per UTF-16 unit.
 *
 * `add` returns true synchronously unless it had to write a full buffer and wait for
 * 'drain'; then it returns a promise of false if the client went away meanwhile.
 */
export class BodyWriter {
  readonly #res: ServerResponse;
  #buffer = Buffer.allocUnsafe(WRITE_CHUNK);
  #used = 0;
  /** Bytes handed to the socket so far. */
  bytes = 0;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  add(part: string | Uint8Array): Promise<boolean> | true {
    const room = typeof part === 'string' ? part.length * 3 : part.length;
    if (this.#used + room > this.#buffer.length) {
      const flushed = this.flush();
      this.#buffer = Buffer.allocUnsafe(Math.max(WRITE_CHUNK, room));
      this.#used += this.#put(part, 0);
      if (flushed !== true) return flushed;
      return true;
    }
    this.#used += this.#put(part, this.#used);
    return true;
  }

  #put(part: string | Uint8Array, offset: number): number {
    if (typeof part === 'string') return this.#buffer.write(part, offset);
    this.#buffer.set(part, offset);
    return part.length;
  }

  /** Writes what is buffered (waiting for 'drain' if the socket is full). */
  flush(): Promise<boolean> | true {
    if (this.#used === 0) return true;
    const chunk = this.#buffer.subarray(0, this.#used);
    this.#buffer = this.#buffer.subarray(this.#used);
    this.#used = 0;
    this.bytes += chunk.length;
    const written = writeWithBackpressure(this.#res, chunk);
    return written === true ? true : written === false ? Promise.resolve(false) : written;
  }

  /** Writes what is buffered and ends the response. */
  end(): void {
    const chunk = this.#buffer.subarray(0, this.#used);
    this.bytes += chunk.length;
    this.#used = 0;
    this.#res.end(chunk);
  }
}

/** Writes `parts` as one chunked response body with BodyWriter; returns the bytes written. */
export async function writeParts(res: ServerResponse, parts: Iterable<string | Uint8Array>): Promise<number> {
  const writer = new BodyWriter(res);
  for (const part of parts) {
    const added = writer.add(part);
    if (added !== true && !(await added)) return writer.bytes;
  }
  writer.end();
  return writer.bytes;
}

/** Writes one chunk; when the buffer is full, waits for 'drain'. False when the response was closed. */
export function writeWithBackpressure(res: ServerResponse, chunk: string | Buffer): Promise<boolean> | boolean {
  if (res.destroyed || res.writableEnded) return false;
  if (res.write(chunk)) return true;
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = (): void => done(true);
    const onClose = (): void => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
