import { KubemetaError } from '../core/index.ts';
import type { CredentialRefusalCode, RequestErrorInfo } from '../schema/index.ts';

/** Every error code the bus module raises (docs/errors.md, section "bus", says what to do). */
export const BusErrorCode = {
  /** Publishing failed in a way the publisher cannot repair by itself. */
  PUBLISH_FAILED: 'BUS_PUBLISH_FAILED',
  /** A replay answer ended with a RequestError reply (`requestError` says which). */
  REPLAY_REFUSED: 'BUS_REPLAY_REFUSED',
  /** A requester stopped acknowledging replay responses; its answer was aborted (docs/design.md §11). */
  ACK_TIMEOUT: 'BUS_ACK_TIMEOUT',
  /** A requester fell too far behind a snapshot read shared with others; its answer was aborted. */
  SHARED_SNAPSHOT_LAG: 'BUS_SHARED_SNAPSHOT_LAG',
  /** Every ASID (1 … 2^32 − 1) is taken: the store has seen 4 billion agent instances. */
  ASID_EXHAUSTED: 'BUS_ASID_EXHAUSTED',
  /** A stored agent record does not decode: the store is damaged or was written by something else. */
  REGISTRY_CORRUPT: 'BUS_REGISTRY_CORRUPT',
  /** start() was called twice, or on a closed server. */
  ALREADY_STARTED: 'BUS_ALREADY_STARTED',
} as const;
export type BusErrorCode = (typeof BusErrorCode)[keyof typeof BusErrorCode];

/** A bus-level failure with one of the BUS_* codes. */
export class BusError extends KubemetaError {
  declare readonly code: BusErrorCode;
  constructor(code: BusErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** Publishing failed in a way the publisher cannot repair by itself (the message says why). */
export class PublishError extends BusError {
  constructor(message: string, options?: ErrorOptions) {
    super(BusErrorCode.PUBLISH_FAILED, message, options);
  }
}

/**
 * A request (replay or agent registration) was answered with a RequestError instead of data.
 * `requestError` is exactly what went on the wire; `code` says which bus rule refused it
 * (BUS_REPLAY_REFUSED in general, BUS_ACK_TIMEOUT / BUS_SHARED_SNAPSHOT_LAG for aborts).
 */
export class RequestRefusedError extends BusError {
  readonly requestError: RequestErrorInfo;
  constructor(requestError: RequestErrorInfo, code: BusErrorCode = BusErrorCode.REPLAY_REFUSED, options?: ErrorOptions) {
    super(code, requestError.message, options);
    this.requestError = requestError;
  }
}

/**
 * The credential issuer refused a request (wire-protocol §11): `code` is what the agent gets.
 * Thrown by the check the service plugs into the issuer (`CredentialIssuerOptions.authorize`).
 */
export class CredentialRefusedError extends KubemetaError {
  declare readonly code: CredentialRefusalCode;
  readonly retryAfterMs: number | undefined;
  constructor(code: CredentialRefusalCode, message: string, options?: ErrorOptions & { retryAfterMs?: number }) {
    super(code, message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}
