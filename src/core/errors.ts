/**
 * The error base of every kubemeta module.
 *
 * Every error carries a stable `code` (SCREAMING_SNAKE, prefixed by the module that raises it;
 * all codes are listed in docs/errors.md), a message that says what to do, and the underlying
 * `cause`. Instances are branded with a global symbol so that `isKubemetaError` works even
 * when two copies of the package are installed side by side (an SDK user's dependency tree).
 */
const BRAND: unique symbol = Symbol.for('kubemeta.error') as never;

export class KubemetaError extends Error {
  readonly code: string;
  readonly [BRAND] = true;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** True for any KubemetaError, also one created by another copy of this package. */
  static is(value: unknown): value is KubemetaError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

export function isKubemetaError(value: unknown): value is KubemetaError {
  return KubemetaError.is(value);
}

/** A caller passed something that can never work: fix the input, do not retry. */
export class InvalidArgumentError extends KubemetaError {
  readonly argument: string;
  constructor(argument: string, problem: string, options?: ErrorOptions) {
    super('CORE_INVALID_ARGUMENT', `invalid ${argument}: ${problem}`, options);
    this.argument = argument;
  }
}

/** An operation was cancelled through its AbortSignal. */
export class AbortedError extends KubemetaError {
  constructor(what: string, options?: ErrorOptions) {
    super('CORE_ABORTED', `${what} was aborted`, options);
  }
}

/** A wait or request ran out of time; `what` names the thing that did not happen. */
export class TimeoutError extends KubemetaError {
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number, options?: ErrorOptions) {
    super('CORE_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}`, options);
    this.timeoutMs = timeoutMs;
  }
}

/** An object was used after close(); create a new one. */
export class ClosedError extends KubemetaError {
  constructor(what: string, options?: ErrorOptions) {
    super('CORE_CLOSED', `${what} is closed`, options);
  }
}

/** Turns anything thrown into an Error, so loggers and `cause` chains always get one. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}
