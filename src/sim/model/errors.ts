import { KubemetaError } from '../../core/index.ts';

/** Kubernetes Status reasons the sim's API answers with, and their HTTP codes. */
export const STATUS_REASONS = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  BadRequest: 400,
  Expired: 410,
  Gone: 410,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  UnsupportedMediaType: 415,
  InternalError: 500,
  ServiceUnavailable: 503,
  TooManyRequests: 429,
  RequestEntityTooLarge: 413,
  Timeout: 504,
} as const;

export type StatusReason = keyof typeof STATUS_REASONS;

/**
 * A request the simulated cluster refuses, carrying the Kubernetes Status reason so the API
 * server can answer exactly as a real one would (`kubectl` prints the message).
 */
export class SimApiError extends KubemetaError {
  readonly reason: StatusReason;
  readonly httpStatus: number;
  readonly details: { name?: string; kind?: string; group?: string } | undefined;

  constructor(reason: StatusReason, message: string, details?: { name?: string; kind?: string; group?: string }, options?: ErrorOptions) {
    super(`SIM_${reason.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c : `_${c}`)).toUpperCase()}`, message, options);
    this.reason = reason;
    this.httpStatus = STATUS_REASONS[reason];
    this.details = details;
  }
}
