import { KubemetaError } from '../core/index.ts';

/** Stable codes of the schema module (listed in docs/errors.md and docs/wire-protocol.md). */
export const SchemaErrorCode = {
  /** A scope string or node name is not valid. */
  INVALID_SCOPE: 'SCHEMA_INVALID_SCOPE',
  /** A cluster name, subject or subject token is not valid. */
  INVALID_SUBJECT: 'SCHEMA_INVALID_SUBJECT',
  /** A stream id is not 32 lowercase hex digits. */
  INVALID_STREAM_ID: 'SCHEMA_INVALID_STREAM_ID',
  /** A version is negative, not an integer, or breaks the per-scope chain. */
  INVALID_VERSION: 'SCHEMA_INVALID_VERSION',
  /** A version is above Number.MAX_SAFE_INTEGER (2^53 - 1). */
  VERSION_OVERFLOW: 'SCHEMA_VERSION_OVERFLOW',
  /** Bytes are not a valid kubemeta v1 message (garbage, truncated, or another protocol). */
  DECODE_FAILED: 'SCHEMA_DECODE_FAILED',
  /** A message decoded but lacks what every kubemeta message has (uid, kind, body). */
  INVALID_MESSAGE: 'SCHEMA_INVALID_MESSAGE',
  /** A size or count limit is outside the accepted range. */
  INVALID_LIMIT: 'SCHEMA_INVALID_LIMIT',
  /** One update does not fit in the largest message the bus may publish. */
  MESSAGE_TOO_LARGE: 'SCHEMA_MESSAGE_TOO_LARGE',
  /** A timestamp string is not RFC 3339. */
  INVALID_TIME: 'SCHEMA_INVALID_TIME',
} as const;
export type SchemaErrorCode = (typeof SchemaErrorCode)[keyof typeof SchemaErrorCode];

/**
 * Something on the wire (or about to go on it) breaks the kubemeta v1 contract. Raised for bad
 * input, never for a bug in this module; the message says what was wrong and what to do.
 */
export class SchemaError extends KubemetaError {
  override readonly code: SchemaErrorCode;

  constructor(code: SchemaErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.code = code;
  }
}

/** True for a SchemaError, also one created by another copy of this package. */
export function isSchemaError(value: unknown): value is SchemaError {
  return KubemetaError.is(value) && value.code.startsWith('SCHEMA_');
}

/**
 * The protobuf wire format itself is broken (a varint or length running past the end, an
 * invalid tag). Raised by the envelope reader, which does not know which message it reads:
 * the codecs wrap it with `decodeFailed`, which names the message.
 */
export class WireFormatError extends SchemaError {
  constructor(problem: string) {
    super(SchemaErrorCode.DECODE_FAILED, problem);
  }
}

/** Wraps whatever a decoder threw into a SchemaError that names the message type. */
export function decodeFailed(what: string, bytes: Uint8Array, cause: unknown): SchemaError {
  if (isSchemaError(cause) && !(cause instanceof WireFormatError)) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new SchemaError(
    SchemaErrorCode.DECODE_FAILED,
    `cannot decode ${what} from ${bytes.length} bytes (${reason}); ` +
      'the sender is not speaking kubemeta v1 on this subject, or the message was cut or corrupted',
    { cause },
  );
}
