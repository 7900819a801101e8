import { KubemetaError } from '../core/index.ts';

/**
 * Stable codes of the console's errors, each with the HTTP status the API answers with. The
 * API's error body is `{ "error": { "code", "message" } }`; codes are the contract, messages
 * say what to fix and may change. Listed in docs/console.md.
 */
export const ConsoleErrorCode = {
  /** A query parameter is missing, malformed or out of range. */
  BAD_REQUEST: 'CONSOLE_BAD_REQUEST',
  /** The query text names a kind that does not exist (`foo:bar`), or the kind path segment does. */
  UNKNOWN_KIND: 'CONSOLE_UNKNOWN_KIND',
  /** The `cluster` parameter names a cluster this console does not follow. */
  UNKNOWN_CLUSTER: 'CONSOLE_UNKNOWN_CLUSTER',
  /** No bearer token, or not the right one (the answer does not say which). */
  UNAUTHORIZED: 'CONSOLE_UNAUTHORIZED',
  /** No such route. */
  NOT_FOUND: 'CONSOLE_NOT_FOUND',
  /** /api/entity names an object the cluster's state does not hold (never seen, or forgotten after retention). */
  UNKNOWN_ENTITY: 'CONSOLE_UNKNOWN_ENTITY',
  /** POST /api/query: the query text does not parse (the body adds `position` and `expected`). */
  QUERY_INVALID: 'CONSOLE_QUERY_INVALID',
  /** POST /api/query: agents were asked and none answered in time, or the query ran past its deadline. */
  QUERY_TIMEOUT: 'CONSOLE_QUERY_TIMEOUT',
  /** The console failed to answer; the log says why. */
  INTERNAL: 'CONSOLE_INTERNAL',
  /** startConsoleServer or the index got options that can never work. */
  INVALID_OPTIONS: 'CONSOLE_INVALID_OPTIONS',
} as const;
export type ConsoleErrorCode = (typeof ConsoleErrorCode)[keyof typeof ConsoleErrorCode];

const STATUS: Readonly<Record<ConsoleErrorCode, number>> = {
  CONSOLE_BAD_REQUEST: 400,
  CONSOLE_UNKNOWN_KIND: 400,
  CONSOLE_UNKNOWN_CLUSTER: 400,
  CONSOLE_UNAUTHORIZED: 401,
  CONSOLE_NOT_FOUND: 404,
  CONSOLE_UNKNOWN_ENTITY: 404,
  CONSOLE_QUERY_INVALID: 400,
  CONSOLE_QUERY_TIMEOUT: 504,
  CONSOLE_INTERNAL: 500,
  CONSOLE_INVALID_OPTIONS: 500,
};

/** An error of the console module; `status` is the HTTP status the API answers it with. */
export class ConsoleError extends KubemetaError {
  declare readonly code: ConsoleErrorCode;
  readonly status: number;

  constructor(code: ConsoleErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.status = STATUS[code];
  }
}

export function isConsoleError(value: unknown): value is ConsoleError {
  return KubemetaError.is(value) && value.code.startsWith('CONSOLE_') && typeof (value as { status?: unknown }).status === 'number';
}
