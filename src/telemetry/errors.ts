import { KubemetaError } from '../core/index.ts';

/** Stable codes of the telemetry module's errors (docs/errors.md, docs/agents.md). */
export const TelemetryErrorCode = {
  /** Options of runAgents, an agent or the broker that can never work. */
  INVALID_ARGUMENT: 'TELEMETRY_INVALID_ARGUMENT',
  /** Query text that does not parse; the error carries the position and what was expected. */
  QUERY_INVALID: 'TELEMETRY_QUERY_INVALID',
  /** A query request or reply on NATS that is not the protocol (a broken or foreign peer). */
  BAD_MESSAGE: 'TELEMETRY_BAD_MESSAGE',
  /** The agents or broker were closed while the call waited. */
  CLOSED: 'TELEMETRY_CLOSED',
} as const;
export type TelemetryErrorCode = (typeof TelemetryErrorCode)[keyof typeof TelemetryErrorCode];

export class TelemetryError extends KubemetaError {
  declare readonly code: TelemetryErrorCode;
  constructor(code: TelemetryErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

export function isTelemetryError(value: unknown): value is TelemetryError {
  return KubemetaError.is(value) && value.code.startsWith('TELEMETRY_');
}

export class TelemetryInvalidArgumentError extends TelemetryError {
  readonly argument: string;
  constructor(argument: string, problem: string) {
    super(TelemetryErrorCode.INVALID_ARGUMENT, `invalid ${argument}: ${problem}`);
    this.argument = argument;
  }
}

/**
 * Query text that does not parse. `position` is the 0-based offset of the offending token in
 * the text (the message says it too), `expected` what would have been accepted there, so a UI
 * can underline the token and offer the alternatives.
 */
export class QueryParseError extends TelemetryError {
  readonly position: number;
  readonly expected: readonly string[];
  constructor(message: string, position: number, expected: readonly string[] = []) {
    super(TelemetryErrorCode.QUERY_INVALID, message);
    this.position = position;
    this.expected = expected;
  }
}

export function isQueryParseError(value: unknown): value is QueryParseError {
  return isTelemetryError(value) && value.code === TelemetryErrorCode.QUERY_INVALID && typeof (value as { position?: unknown }).position === 'number';
}
