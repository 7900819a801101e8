import { SchemaError, SchemaErrorCode } from './errors.ts';
import { quote } from './scope.ts';

/**
 * Wire timestamps: nanoseconds since the Unix epoch as a bigint, 0n = unset. A double cannot
 * hold today's time in nanoseconds exactly (1.7e18 > 2^53), so these stay bigint end to end.
 */
export type TimeNs = bigint;

const NS_PER_MS = 1_000_000n;
// Kubernetes writes Time as RFC 3339 seconds ("2024-05-01T12:00:00Z") and MicroTime with
// 6 fraction digits; accept 0–9 digits and any offset.
const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Converts a Kubernetes timestamp to TimeNs, keeping all fraction digits. `undefined`, `null`
 * and '' (an unset Kubernetes time) give 0n; anything else that is not RFC 3339 throws
 * SchemaError INVALID_TIME.
 */
export function timeNsFromRfc3339(text: string | null | undefined): TimeNs {
  if (text === undefined || text === null || text === '') return 0n;
  const m = RFC3339.exec(text);
  const ms = m === null ? Number.NaN : Date.parse(`${m[1]}${m[3]}`);
  if (m === null || Number.isNaN(ms)) {
    throw new SchemaError(SchemaErrorCode.INVALID_TIME, `timestamp ${quote(text)} is not RFC 3339 (e.g. 2024-05-01T12:00:00Z)`);
  }
  const fraction = BigInt((m[2] ?? '').padEnd(9, '0'));
  return BigInt(ms) * NS_PER_MS + fraction;
}

/** Milliseconds since the epoch (Date.now(), a Clock) to TimeNs. */
export function timeNsFromMs(ms: number): TimeNs {
  const whole = Math.trunc(ms);
  return BigInt(whole) * NS_PER_MS + BigInt(Math.round((ms - whole) * 1e6));
}

/** TimeNs to milliseconds since the epoch (sub-millisecond digits dropped, toward -∞). */
export function timeNsToMs(ns: TimeNs): number {
  const q = ns / NS_PER_MS;
  return Number(ns < 0n && q * NS_PER_MS !== ns ? q - 1n : q);
}

/** TimeNs as RFC 3339 with nanoseconds ("2024-05-01T12:00:00.123456789Z"); '' for 0n. */
export function formatTimeNs(ns: TimeNs): string {
  if (ns === 0n) return '';
  const ms = timeNsToMs(ns);
  const subMs = ns - BigInt(ms) * NS_PER_MS;
  const iso = new Date(ms).toISOString(); // …T12:00:00.123Z
  return `${iso.slice(0, -1)}${subMs.toString().padStart(6, '0')}Z`;
}
