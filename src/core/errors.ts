/**
 * The error base of every kubemeta module.
 *
 * Every error carries a stable `code` (SCREAMING_SNAKE, prefixed by the module that raises it;
 * all codes are listed in docs/errors.md), a message that says what to do, and the underlying
 * `cause`. The classes users catch are branded (`brandClass`) so that `instanceof` and
 * `isKubemetaError` work even when two copies of the package are installed side by side (an
 * SDK user's dependency tree) or the error comes from another realm.
 */

/**
 * Makes `value instanceof cls` hold for every object whose prototype chain carries the global
 * symbol `Symbol.for(key)`. Duplicate installs of this package have different classes but the
 * same Symbol.for keys, and the global symbol registry is shared by all realms of a process.
 * Subclass prototypes inherit their parents' brands, so `x instanceof SdkError` holds for every
 * SDK error and `x instanceof ReplayRefusedError` only for that kind; a subclass not branded
 * itself keeps the ordinary `instanceof` (Temporal's SymbolBasedInstanceOfError does the same).
 * A key never changes once released: older copies check for it.
 */
export function brandClass(cls: abstract new (...args: never[]) => object, key: string): void {
  const mark = Symbol.for(key);
  Object.defineProperty(cls.prototype, mark, { value: true, enumerable: false });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value: function hasBrand(this: abstract new (...args: never[]) => object, value: unknown): boolean {
      if (this !== cls) return Function.prototype[Symbol.hasInstance].call(this, value);
      return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[mark] === true;
    },
  });
}

/** Stable codes of core's errors (docs/errors.md, section "core"). */
export const CoreErrorCode = {
  INVALID_ARGUMENT: 'CORE_INVALID_ARGUMENT',
  ABORTED: 'CORE_ABORTED',
  TIMEOUT: 'CORE_TIMEOUT',
  CLOSED: 'CORE_CLOSED',
} as const;
export type CoreErrorCode = (typeof CoreErrorCode)[keyof typeof CoreErrorCode];

export class KubemetaError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** True for any KubemetaError, also one created by another copy of this package. */
  static is(value: unknown): value is KubemetaError {
    return value instanceof KubemetaError;
  }
}
// The key of the brand core set as an instance field before brandClass existed.
brandClass(KubemetaError, 'kubemeta.error');

export function isKubemetaError(value: unknown): value is KubemetaError {
  return KubemetaError.is(value);
}

/** A caller passed something that can never work: fix the input, do not retry. */
export class InvalidArgumentError extends KubemetaError {
  declare readonly code: typeof CoreErrorCode.INVALID_ARGUMENT;
  readonly argument: string;
  constructor(argument: string, problem: string, options?: ErrorOptions) {
    super(CoreErrorCode.INVALID_ARGUMENT, `invalid ${argument}: ${problem}`, options);
    this.argument = argument;
  }
}
brandClass(InvalidArgumentError, 'kubemeta.core.InvalidArgumentError');

/** An operation was cancelled through its AbortSignal. */
export class AbortedError extends KubemetaError {
  declare readonly code: typeof CoreErrorCode.ABORTED;
  constructor(what: string, options?: ErrorOptions) {
    super(CoreErrorCode.ABORTED, `${what} was aborted`, options);
  }
}
brandClass(AbortedError, 'kubemeta.core.AbortedError');

/** A wait or request ran out of time; `what` names the thing that did not happen. */
export class TimeoutError extends KubemetaError {
  declare readonly code: typeof CoreErrorCode.TIMEOUT;
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number, options?: ErrorOptions) {
    super(CoreErrorCode.TIMEOUT, `timed out after ${timeoutMs} ms waiting for ${what}`, options);
    this.timeoutMs = timeoutMs;
  }
}
brandClass(TimeoutError, 'kubemeta.core.TimeoutError');

/** An object was used after close(); create a new one. */
export class ClosedError extends KubemetaError {
  declare readonly code: typeof CoreErrorCode.CLOSED;
  constructor(what: string, options?: ErrorOptions) {
    super(CoreErrorCode.CLOSED, `${what} is closed`, options);
  }
}
brandClass(ClosedError, 'kubemeta.core.ClosedError');

/** Turns anything thrown into an Error, so loggers and `cause` chains always get one. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}
