/**
 * Just enough of the protobuf wire format for the hand-built envelopes: varints up to 2^53,
 * length-delimited fields, and a bounds-checked reader. Payloads (ResourceUpdate) are encoded
 * and decoded by the generated code; these helpers wrap their cached bytes without copying
 * them through a generic encoder. Every reader error is a WireFormatError the codecs turn into
 * a SchemaError naming the message.
 */

import { WireFormatError } from './errors.ts';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

/** Bytes a varint of `n` (0 ≤ n ≤ 2^53) takes. */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 4;
  for (let rest = Math.floor(n / 0x10000000); rest > 0; rest = Math.floor(rest / 0x80)) size++;
  return size;
}

/** Writes the varint of `n` (0 ≤ n ≤ 2^53) at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  // Division instead of >>> above 2^31: bit operators would truncate to 32 bits.
  while (n > 0x7fffffff) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  while (n > 0x7f) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

/** The tag byte(s) value for field `field` with wire type `wire`. */
export function tag(field: number, wire: number): number {
  return field * 8 + wire;
}

/** Size of a length-delimited field (tag + length + body) with a body of `len` bytes. */
export function lenFieldSize(field: number, len: number): number {
  return varintSize(tag(field, WIRE_LEN)) + varintSize(len) + len;
}

/** Size of a varint field, 0 when the value is 0 (proto3 implicit presence omits it). */
export function varintFieldSize(field: number, value: number): number {
  return value === 0 ? 0 : varintSize(tag(field, WIRE_VARINT)) + varintSize(value);
}

export function writeVarintField(buf: Uint8Array, pos: number, field: number, value: number): number {
  if (value === 0) return pos;
  pos = writeVarint(buf, pos, tag(field, WIRE_VARINT));
  return writeVarint(buf, pos, value);
}

export function writeLenHeader(buf: Uint8Array, pos: number, field: number, len: number): number {
  pos = writeVarint(buf, pos, tag(field, WIRE_LEN));
  return writeVarint(buf, pos, len);
}

/** Writes a length-delimited field holding `body`; empty bodies are omitted like proto3 does. */
export function writeBytesField(buf: Uint8Array, pos: number, field: number, body: Uint8Array): number {
  if (body.length === 0) return pos;
  pos = writeLenHeader(buf, pos, field, body.length);
  buf.set(body, pos);
  return pos + body.length;
}

/** Size of a string/bytes field as proto3 writes it (omitted when empty). */
export function bytesFieldSize(field: number, body: Uint8Array): number {
  return body.length === 0 ? 0 : lenFieldSize(field, body.length);
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** A forward-only reader over one message's bytes that checks every bound. */
export class ProtoReader {
  readonly bytes: Uint8Array;
  pos: number;
  readonly end: number;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a varint as a number. Values ≥ 2^53 come back ≥ 2^53 (inexact); callers range-check. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireFormatError('varint runs past the end of the message');
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
    }
    throw new WireFormatError('varint longer than 10 bytes');
  }

  /** Reads a uint64 varint: a number when exact (≤ 2^53 - 1), else the exact bigint (for range errors). */
  uint64(): number | bigint {
    const start = this.pos;
    const value = this.varint();
    if (value <= Number.MAX_SAFE_INTEGER) return value;
    let exact = 0n;
    for (let i = start, shift = 0n; i < this.pos; i++, shift += 7n) exact |= BigInt(this.bytes[i]! & 0x7f) << shift;
    return BigInt.asUintN(64, exact);
  }

  /** Reads a tag; returns field number * 8 + wire type, checking the field number is valid. */
  tag(): number {
    const t = this.varint();
    if (t < 8 || t > 0xffffffff) throw new WireFormatError(`invalid tag ${t}`);
    return t;
  }

  /** Reads a length prefix and returns [start, end) of the body, checked against the message end. */
  lenRange(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (len > this.end - start) throw new WireFormatError(`length ${len} runs past the end of the message`);
    this.pos = start + len;
    return [start, start + len];
  }

  /** A view (no copy) of a length-delimited body. */
  bytesView(): Uint8Array {
    const [start, end] = this.lenRange();
    return this.bytes.subarray(start, end);
  }

  string(): string {
    const [start, end] = this.lenRange();
    return utf8Strict.decode(this.bytes.subarray(start, end));
  }

  /** Skips the value of an unknown field (forward compatibility: newer producers may add fields). */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.lenRange();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw new WireFormatError(`unsupported wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw new WireFormatError('fixed-width field runs past the end of the message');
    this.pos += n;
  }
}

/** Concatenates byte arrays (protobuf merges a repeated singular message field this way). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
