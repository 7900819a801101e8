export {
  brandClass,
  CoreErrorCode,
  KubemetaError,
  isKubemetaError,
  InvalidArgumentError,
  AbortedError,
  TimeoutError,
  ClosedError,
  toError,
} from './errors.ts';
export type { Clock } from './clock.ts';
export { systemClock, sleep, ManualClock } from './clock.ts';
export type { BackoffOptions } from './backoff.ts';
export { Backoff } from './backoff.ts';
export type { Logger, LogRecord } from './logger.ts';
export { silentLogger, MemoryLogger } from './logger.ts';
export { BoundedQueue } from './bounded-queue.ts';
export type { WaitForOptions } from './wait-for.ts';
export { waitFor } from './wait-for.ts';
export { withTimeout, isAbortError, abortable } from './abort.ts';
export type { RngAlgorithm } from './rng.ts';
export { Rng, NAME_ALPHABET } from './rng.ts';
export type { LabelOperator, LabelRequirement, LabelSelector, LabelSelectorOptions } from './label-selector.ts';
export { LabelSelectorError, parseLabelSelector } from './label-selector.ts';
export type { ObjectEventType } from './object-event.ts';
