import { SchemaError, SchemaErrorCode } from './errors.ts';

declare const streamIdBrand: unique symbol;

/**
 * The random identity of a store's update stream (docs/design.md §7): 128 random bits as 32
 * lowercase hex digits. Branded so that an arbitrary string cannot be passed where a checked
 * stream id is expected.
 */
export type StreamId = string & { readonly [streamIdBrand]: true };

const STREAM_ID = /^[0-9a-f]{32}$/;
const HEX = '0123456789abcdef';

/** A fresh stream id from the platform's CSPRNG (Web Crypto, present in Node 20). */
export function newStreamId(): StreamId {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = '';
  for (const b of bytes) out += HEX[b >> 4]! + HEX[b & 15]!;
  return out as StreamId;
}

export function isStreamId(value: unknown): value is StreamId {
  return typeof value === 'string' && STREAM_ID.test(value);
}

/** Checks a stream id read from the wire, a file or a flag; throws SchemaError INVALID_STREAM_ID. */
export function parseStreamId(text: string): StreamId {
  if (isStreamId(text)) return text;
  throw new SchemaError(
    SchemaErrorCode.INVALID_STREAM_ID,
    `stream id ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)} is not 32 lowercase hex digits`,
  );
}
