/**
 * The tiny binary encoding of the log's stored values. Each record starts with a tag byte (its
 * type; a new layout gets a new tag), then varints (LEB128, exact up to 2^53 - 1),
 * length-prefixed UTF-8 strings and byte strings. Payloads stay opaque: they are copied in
 * as bytes and handed back as views of the stored value (no per-entry copy on reads).
 */
import { LogErrorCode, LogError } from './errors.ts';
import type { ByteArena } from './byte-arena.ts';
import type { UpdateState } from './types.ts';

const TAG_NUMBER = 1;
const TAG_TEXT = 2;
const TAG_HISTORY = 3;
const TAG_STATE = 4;
const TAG_TOMBSTONE = 5;

const STATES: readonly UpdateState[] = ['upsert', 'tombstone', 'remove'];
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Bytes of `s` in UTF-8, and whether it is plain ASCII (written without a TextEncoder). */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return encoder.encode(s).byteLength;
  }
  return s.length;
}

function uintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}

/**
 * Writes into a buffer sized up front by the caller (exact for the hot records, so that with an
 * arena every value is one slice of a shared chunk: see byte-arena.ts).
 */
class Writer {
  #buf: Uint8Array;
  #pos = 0;

  constructor(sizeHint: number, arena?: ByteArena) {
    this.#buf = arena ? arena.alloc(sizeHint) : new Uint8Array(Math.max(16, sizeHint));
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#pos + n, 16));
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  byte(b: number): this {
    this.#ensure(1);
    this.#buf[this.#pos++] = b;
    return this;
  }

  uint(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`cannot encode ${n} as an unsigned varint`);
    this.#ensure(n < 0x80 ? 1 : uintLength(n));
    while (n >= 0x80) {
      this.#buf[this.#pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.#buf[this.#pos++] = n;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.uint(b.byteLength);
    this.#ensure(b.byteLength);
    this.#buf.set(b, this.#pos);
    this.#pos += b.byteLength;
    return this;
  }

  text(s: string): this {
    const len = utf8Length(s);
    if (len !== s.length) return this.bytes(encoder.encode(s));
    this.uint(len);
    this.#ensure(len);
    const buf = this.#buf;
    let pos = this.#pos;
    for (let i = 0; i < len; i++) buf[pos++] = s.charCodeAt(i);
    this.#pos = pos;
    return this;
  }

  finish(): Uint8Array {
    return this.#pos === this.#buf.length ? this.#buf : this.#buf.subarray(0, this.#pos);
  }
}

const textSize = (s: string): number => {
  const len = utf8Length(s);
  return uintLength(len) + len;
};
const bytesSize = (b: Uint8Array): number => uintLength(b.byteLength) + b.byteLength;


class Reader {
  readonly #buf: Uint8Array;
  readonly #what: string;
  #pos = 0;

  constructor(buf: Uint8Array, what: string, tag: number) {
    this.#buf = buf;
    this.#what = what;
    if (this.byte() !== tag) throw this.corrupt('unexpected record tag');
  }

  corrupt(problem: string): LogError {
    return new LogError(
      LogErrorCode.RECORD_CORRUPT,
      `stored record ${this.#what} does not decode (${problem}); the store is damaged or was written by ` +
        'another program: restore it from a backup or start a new store (consumers re-bootstrap, docs/design.md §7)',
    );
  }

  byte(): number {
    if (this.#pos >= this.#buf.length) throw this.corrupt('truncated');
    return this.#buf[this.#pos++] as number;
  }

  uint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 56) throw this.corrupt('varint too long');
    }
    if (!Number.isSafeInteger(n)) throw this.corrupt('number above 2^53 - 1');
    return n;
  }

  bytes(): Uint8Array {
    const len = this.uint();
    if (this.#pos + len > this.#buf.length) throw this.corrupt('truncated bytes');
    const out = this.#buf.subarray(this.#pos, this.#pos + len);
    this.#pos += len;
    return out;
  }

  text(): string {
    try {
      return decoder.decode(this.bytes());
    } catch (err) {
      if (err instanceof LogError) throw err;
      throw this.corrupt('invalid UTF-8');
    }
  }

  end(): void {
    if (this.#pos !== this.#buf.length) throw this.corrupt('trailing bytes');
  }
}

/** A number record: head, floor, scope heads, format, prevVersion in the scope index. */
export function encodeNumber(n: number, arena?: ByteArena): Uint8Array {
  return new Writer(1 + uintLength(n), arena).byte(TAG_NUMBER).uint(n).finish();
}

export function decodeNumber(value: Uint8Array, what: string): number {
  const r = new Reader(value, what, TAG_NUMBER);
  const n = r.uint();
  r.end();
  return n;
}

/** A text record: stream id, resourceVersions. */
export function encodeText(s: string): Uint8Array {
  return new Writer(1 + textSize(s)).byte(TAG_TEXT).text(s).finish();
}

export function decodeText(value: Uint8Array, what: string): string {
  const r = new Reader(value, what, TAG_TEXT);
  const s = r.text();
  r.end();
  return s;
}

export interface HistoryRecord {
  committedAtMs: number;
  state: UpdateState;
  objectKey: string;
  kind: string | undefined;
  scopes: Array<{ scope: string; prevVersion: number }>;
  payload: Uint8Array;
}

export function encodeHistory(h: HistoryRecord, arena?: ByteArena): Uint8Array {
  let size = 2 + uintLength(h.committedAtMs) + textSize(h.objectKey) + textSize(h.kind ?? '') + uintLength(h.scopes.length);
  for (const s of h.scopes) size += textSize(s.scope) + uintLength(s.prevVersion);
  const w = new Writer(size + bytesSize(h.payload), arena);
  w.byte(TAG_HISTORY).uint(h.committedAtMs).byte(STATES.indexOf(h.state)).text(h.objectKey).text(h.kind ?? '');
  w.uint(h.scopes.length);
  for (const s of h.scopes) w.text(s.scope).uint(s.prevVersion);
  return w.bytes(h.payload).finish();
}

export function decodeHistory(value: Uint8Array, what: string): HistoryRecord {
  const r = new Reader(value, what, TAG_HISTORY);
  const committedAtMs = r.uint();
  const state = STATES[r.byte()];
  if (state === undefined) throw r.corrupt('unknown state');
  const objectKey = r.text();
  const kind = r.text();
  const n = r.uint();
  const scopes: HistoryRecord['scopes'] = [];
  for (let i = 0; i < n; i++) scopes.push({ scope: r.text(), prevVersion: r.uint() });
  const payload = r.bytes();
  r.end();
  return { committedAtMs, state, objectKey, kind: kind === '' ? undefined : kind, scopes, payload };
}

/**
 * Current state of an object in a scope (c/) and in the object table (o/). The payload is not
 * copied here: it is the history record of `version` (h/), which compaction keeps as long as a
 * state entry points at it. So a payload is stored once, whatever the number of scopes.
 */
export interface StateRecord {
  version: number;
  deleted: boolean;
  /** When it was tombstoned (0 when not deleted). */
  deletedAtMs: number;
}

export function encodeState(s: StateRecord, arena?: ByteArena): Uint8Array {
  const at = s.deleted ? s.deletedAtMs : 0;
  return new Writer(2 + uintLength(s.version) + uintLength(at), arena).byte(TAG_STATE).uint(s.version).byte(s.deleted ? 1 : 0).uint(at).finish();
}

export function decodeState(value: Uint8Array, what: string): StateRecord {
  const r = new Reader(value, what, TAG_STATE);
  const version = r.uint();
  const flags = r.byte();
  if (flags > 1) throw r.corrupt('unknown flags');
  const deletedAtMs = r.uint();
  r.end();
  return { version, deleted: flags === 1, deletedAtMs };
}

/** A tombstone index entry: which state entries a tombstone at some version created. */
export interface TombstoneRecord {
  objectKey: string;
  scopes: string[];
}

export function encodeTombstone(t: TombstoneRecord): Uint8Array {
  const w = new Writer(t.objectKey.length + 32 * t.scopes.length + 8);
  w.byte(TAG_TOMBSTONE).text(t.objectKey).uint(t.scopes.length);
  for (const s of t.scopes) w.text(s);
  return w.finish();
}

export function decodeTombstone(value: Uint8Array, what: string): TombstoneRecord {
  const r = new Reader(value, what, TAG_TOMBSTONE);
  const objectKey = r.text();
  const n = r.uint();
  const scopes: string[] = [];
  for (let i = 0; i < n; i++) scopes.push(r.text());
  r.end();
  return { objectKey, scopes };
}

// The fast path of historyPayload reads the layout encodeHistory writes: tag 3, varint
// committedAtMs, state byte (0..2), text objectKey, text kind, varint scope count, that many
// (text scope, varint prevVersion), bytes payload; a text or bytes is a varint length + bytes.
const STATE_COUNT = STATES.length;
/** Set by readUint: the value of the varint it read. */
let uintValue = 0;

/**
 * A LEB128 varint at `pos`: returns the position after it (value in `uintValue`), or -1 when
 * it is not one this fast path takes (truncated, longer than 8 bytes, above 2^53 - 1).
 */
function readUint(buf: Uint8Array, pos: number, end: number): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= end) return -1;
    const b = buf[pos++] as number;
    n += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (!Number.isSafeInteger(n)) return -1;
      uintValue = n;
      return pos;
    }
    scale *= 0x80;
  }
  return -1;
}

/** Skips a length-prefixed string at `pos` if it is plain ASCII; -1 otherwise. */
function skipAscii(buf: Uint8Array, pos: number, end: number): number {
  pos = readUint(buf, pos, end);
  if (pos < 0) return -1;
  const stop = pos + uintValue;
  if (stop > end) return -1;
  for (let i = pos; i < stop; i++) if ((buf[i] as number) > 0x7f) return -1;
  return stop;
}

/**
 * The payload of a history record: `decodeHistory(value, what).payload`, the same bytes (a view
 * of `value`, not a copy) and the same LOG_RECORD_CORRUPT errors, without decoding the object
 * key, kind and scope names into strings, which a tail does not need. Those UTF-8 decodes (and
 * the key rebuilt per record only to name it in an error) were about a quarter of the CPU of a
 * tail read.
 *
 * Only well-formed records with ASCII names (every record the log writes: object keys, kinds
 * and scopes are ASCII in practice) take the fast path; anything else (another tag, a
 * truncation, trailing bytes, an unknown state, a non-ASCII name, an oversized varint) goes to
 * decodeHistory, which validates it fully and returns its payload or throws the error it always
 * threw. So this can only differ from decodeHistory in speed.
 */
export function historyPayload(value: Uint8Array, what: string): Uint8Array {
  const end = value.length;
  fast: {
    if (end === 0 || value[0] !== TAG_HISTORY) break fast;
    let pos = readUint(value, 1, end); // committedAtMs
    if (pos < 0 || pos >= end || (value[pos] as number) >= STATE_COUNT) break fast;
    pos = skipAscii(value, pos + 1, end); // objectKey
    if (pos < 0) break fast;
    pos = skipAscii(value, pos, end); // kind
    if (pos < 0) break fast;
    pos = readUint(value, pos, end); // scope count
    if (pos < 0) break fast;
    for (let count = uintValue; count > 0; count--) {
      pos = skipAscii(value, pos, end); // scope
      if (pos < 0) break fast;
      pos = readUint(value, pos, end); // prevVersion
      if (pos < 0) break fast;
    }
    pos = readUint(value, pos, end); // payload length
    if (pos < 0 || pos + uintValue !== end) break fast;
    return value.subarray(pos, end);
  }
  return decodeHistory(value, what).payload;
}
