import { KubemetaError, brandClass } from '../core/index.ts';
import type { CredentialRefusalCode, ProcessErrorCode, RequestErrorCode } from '../schema/index.ts';

/**
 * Stable codes of the SDK's errors (listed in docs/sdk.md, "Errors"). Codes are the contract;
 * messages say what to do and may change.
 */
export const SdkErrorCode = {
  /** An option, filter or argument can never work: fix the call, do not retry. */
  INVALID_ARGUMENT: 'SDK_INVALID_ARGUMENT',
  /** The service answered a replay request with an error (see `requestErrorCode`). */
  REPLAY_REFUSED: 'SDK_REPLAY_REFUSED',
  /** No replay response arrived within the response timeout. */
  REPLAY_TIMEOUT: 'SDK_REPLAY_TIMEOUT',
  /** Part of a replay answer was lost (sequence jump, broken chain, unreadable message). */
  REPLAY_LOST: 'SDK_REPLAY_LOST',
  /** Nobody answers on a kubemeta request subject: the service is down or starting. */
  SERVICE_UNAVAILABLE: 'SDK_SERVICE_UNAVAILABLE',
  /** The agent registry refused to register this agent. */
  REGISTER_FAILED: 'SDK_REGISTER_FAILED',
  /** Local persistence could not be read or written. */
  PERSIST_FAILED: 'SDK_PERSIST_FAILED',
  /** A live message on a scope subject did not decode (counted and skipped). */
  BAD_MESSAGE: 'SDK_BAD_MESSAGE',
  /** The client was closed (or failed) while the call was waiting. */
  CLOSED: 'SDK_CLOSED',
  /** The credential issuer refused this agent's service-account token (see `refusal`). */
  CREDENTIALS_REFUSED: 'SDK_CREDENTIALS_REFUSED',
  /** The agent's issued NATS credentials expired before new ones could be obtained. */
  CREDENTIALS_EXPIRED: 'SDK_CREDENTIALS_EXPIRED',
  /** The service refused process reports, or some processes of one (see `processErrorCode`). */
  PROCESS_REPORT_REFUSED: 'SDK_PROCESS_REPORT_REFUSED',
  /** A process query (by pod or UPID) got no answer or was refused. */
  PROCESS_QUERY_FAILED: 'SDK_PROCESS_QUERY_FAILED',
} as const;
export type SdkErrorCode = (typeof SdkErrorCode)[keyof typeof SdkErrorCode];

/** Brands an SDK error class for `instanceof` across duplicate installs (core's brandClass). */
function brand(cls: abstract new (...args: never[]) => object, name: string): void {
  brandClass(cls, `kubemeta.sdk.${name}`);
}

/** Base of every SDK error: a KubemetaError (stable `code`, `cause`) with an SDK_* code. */
export class SdkError extends KubemetaError {
  declare readonly code: SdkErrorCode;
  constructor(code: SdkErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
brand(SdkError, 'SdkError');

/** True for any SDK error, also one created by another copy of this package. */
export function isSdkError(value: unknown): value is SdkError {
  return value instanceof SdkError;
}

export class SdkInvalidArgumentError extends SdkError {
  readonly argument: string;
  constructor(argument: string, problem: string, options?: ErrorOptions) {
    super(SdkErrorCode.INVALID_ARGUMENT, `invalid ${argument}: ${problem}`, options);
    this.argument = argument;
  }
}
brand(SdkInvalidArgumentError, 'SdkInvalidArgumentError');

/** The service refused a replay request; `requestErrorCode` says why (wire-protocol §7). */
export class ReplayRefusedError extends SdkError {
  readonly requestErrorCode: RequestErrorCode;
  /** The service's advice; 0 = none. */
  readonly retryAfterMs: number;
  readonly scope: string;
  constructor(scope: string, requestErrorCode: RequestErrorCode, message: string, retryAfterMs: number) {
    super(SdkErrorCode.REPLAY_REFUSED, `replay of ${scope} refused (code ${requestErrorCode}): ${message}`);
    this.scope = scope;
    this.requestErrorCode = requestErrorCode;
    this.retryAfterMs = retryAfterMs;
  }
}
brand(ReplayRefusedError, 'ReplayRefusedError');

export class ReplayTimeoutError extends SdkError {
  readonly timeoutMs: number;
  constructor(scope: string, timeoutMs: number, sequence: number) {
    super(
      SdkErrorCode.REPLAY_TIMEOUT,
      `no replay response for ${scope} within ${timeoutMs} ms (waiting for sequence ${sequence}); asking again`,
    );
    this.timeoutMs = timeoutMs;
  }
}
brand(ReplayTimeoutError, 'ReplayTimeoutError');

export class ReplayLostError extends SdkError {
  constructor(scope: string, problem: string, options?: ErrorOptions) {
    super(SdkErrorCode.REPLAY_LOST, `replay answer for ${scope} is incomplete: ${problem}; asking again`, options);
  }
}
brand(ReplayLostError, 'ReplayLostError');

export class ServiceUnavailableError extends SdkError {
  readonly subject: string;
  constructor(subject: string, options?: ErrorOptions) {
    super(
      SdkErrorCode.SERVICE_UNAVAILABLE,
      `nobody answers on ${subject}: is kubemeta running and connected to the same NATS (and cluster name)?`,
      options,
    );
    this.subject = subject;
  }
}
brand(ServiceUnavailableError, 'ServiceUnavailableError');

export class RegisterAgentError extends SdkError {
  readonly requestErrorCode: RequestErrorCode | undefined;
  constructor(message: string, requestErrorCode?: RequestErrorCode, options?: ErrorOptions) {
    super(SdkErrorCode.REGISTER_FAILED, message, options);
    this.requestErrorCode = requestErrorCode;
  }
}
brand(RegisterAgentError, 'RegisterAgentError');

/**
 * The credential issuer did not give this agent credentials: `refusal` is the issuer's code
 * (CREDENTIALS_…, docs/errors.md), undefined when no answer came (no issuer on NATS, timeout) or
 * the answer was unreadable. The client retries with backoff, reading the token file anew.
 */
export class CredentialsRefusedError extends SdkError {
  readonly refusal: CredentialRefusalCode | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, refusal?: CredentialRefusalCode, options?: ErrorOptions & { retryAfterMs?: number }) {
    super(SdkErrorCode.CREDENTIALS_REFUSED, refusal === undefined ? message : `${refusal}: ${message}`, options);
    this.refusal = refusal;
    this.retryAfterMs = options?.retryAfterMs;
  }
}
brand(CredentialsRefusedError, 'CredentialsRefusedError');

/** The issued credentials expired and none could be renewed: NATS refuses this agent until they are. */
export class CredentialsExpiredError extends SdkError {
  readonly expiredAtMs: number;
  constructor(expiredAtMs: number, options?: ErrorOptions) {
    super(SdkErrorCode.CREDENTIALS_EXPIRED, `the agent's NATS credentials expired at ${new Date(expiredAtMs).toISOString()} and could not be renewed yet (see the preceding SDK_CREDENTIALS_REFUSED errors); retrying`, options);
    this.expiredAtMs = expiredAtMs;
  }
}
brand(CredentialsExpiredError, 'CredentialsExpiredError');

export class PersistenceError extends SdkError {
  readonly path: string;
  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(SdkErrorCode.PERSIST_FAILED, `local state ${path}: ${problem}`, options);
    this.path = path;
  }
}
brand(PersistenceError, 'PersistenceError');

export class BadMessageError extends SdkError {
  constructor(subject: string, problem: string, options?: ErrorOptions) {
    super(SdkErrorCode.BAD_MESSAGE, `message on ${subject} skipped: ${problem}`, options);
  }
}
brand(BadMessageError, 'BadMessageError');

export class ClientClosedError extends SdkError {
  constructor(what: string, options?: ErrorOptions) {
    super(SdkErrorCode.CLOSED, `${what} is closed; create a new client`, options);
  }
}
brand(ClientClosedError, 'ClientClosedError');

/**
 * The service refused process events of this agent (wire-protocol §12): `processErrorCode` is
 * its ProcessErrorCode (WRONG_ASID, FOREIGN_CONTAINER, NODE_CAP, BAD_REQUEST …; RATE_LIMITED and
 * UNAVAILABLE are retried by the client and reported only when events had to be dropped).
 * `events` is how many events this concerns. Emitted as an `error` status; never thrown.
 */
export class ProcessReportRefusedError extends SdkError {
  readonly processErrorCode: ProcessErrorCode;
  readonly events: number;
  constructor(message: string, processErrorCode: ProcessErrorCode, events: number) {
    super(SdkErrorCode.PROCESS_REPORT_REFUSED, message);
    this.processErrorCode = processErrorCode;
    this.events = events;
  }
}
brand(ProcessReportRefusedError, 'ProcessReportRefusedError');

/** A process query failed: no answer in time, no service, or refused (`processErrorCode`). */
export class ProcessQueryError extends SdkError {
  readonly processErrorCode: ProcessErrorCode | undefined;
  readonly retryAfterMs: number;
  constructor(message: string, processErrorCode?: ProcessErrorCode, retryAfterMs = 0, options?: ErrorOptions) {
    super(SdkErrorCode.PROCESS_QUERY_FAILED, message, options);
    this.processErrorCode = processErrorCode;
    this.retryAfterMs = retryAfterMs;
  }
}
brand(ProcessQueryError, 'ProcessQueryError');
