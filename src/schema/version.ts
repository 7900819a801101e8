import { SchemaError, SchemaErrorCode } from './errors.ts';

/**
 * A materialized version (docs/design.md §1). uint64 on the wire, a JS number here: the largest
 * safe integer, 2^53 - 1, lasts ~285 years at 1M updates/s, and numbers are much cheaper
 * than bigints on every hot path. Anything above is refused, never silently rounded.
 */
export type Version = number;

/** The highest version this implementation can carry exactly. */
export const MAX_VERSION: Version = Number.MAX_SAFE_INTEGER;

/**
 * Returns `value` as a Version, or throws SchemaError: VERSION_OVERFLOW above MAX_VERSION,
 * INVALID_VERSION for negative, fractional or NaN values. `what` names the field in the message.
 */
export function toVersion(value: number | bigint, what: string): Version {
  if (typeof value === 'bigint') {
    if (value > BigInt(MAX_VERSION)) throw versionOverflow(value, what);
    if (value < 0n) throw invalidVersion(value, what);
    return Number(value);
  }
  if (value > MAX_VERSION) throw versionOverflow(value, what);
  if (!Number.isInteger(value) || value < 0) throw invalidVersion(value, what);
  return value;
}

/** True when `value` can be carried as a version (0 included: "none yet"). */
export function isVersion(value: unknown): value is Version {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_VERSION;
}

function versionOverflow(value: number | bigint, what: string): SchemaError {
  return new SchemaError(
    SchemaErrorCode.VERSION_OVERFLOW,
    `${what} ${String(value)} is above ${MAX_VERSION} (2^53 - 1), the largest version kubemeta ` +
      'carries exactly; the store is corrupt or was written by another implementation — start a new store (new stream id)',
  );
}

function invalidVersion(value: number | bigint, what: string): SchemaError {
  return new SchemaError(
    SchemaErrorCode.INVALID_VERSION,
    `${what} must be a non-negative integer, got ${String(value)}`,
  );
}
