import { KubemetaError } from '../core/index.ts';

/** Why the service refused, stopped or could not start (docs/errors.md). */
export const ServiceErrorCode = {
  /** whenReady() on a service that failed or was stopped: its `cause` is the failure. */
  NOT_RUNNING: 'SERVICE_NOT_RUNNING',
  /** Lost the Lease (or a newer leader fenced the store): a standby takes over. */
  DEPOSED: 'SERVICE_DEPOSED',
  /** The reason given to everything the shutdown aborts. */
  STOPPING: 'SERVICE_STOPPING',
  /** --issuer-signing-key-file cannot be read or holds no account signing key seed. */
  ISSUER_CONFIG: 'SERVICE_ISSUER_CONFIG',
} as const;
export type ServiceErrorCode = (typeof ServiceErrorCode)[keyof typeof ServiceErrorCode];

/** A service-level failure with one of the SERVICE_* codes. */
export class ServiceError extends KubemetaError {
  declare readonly code: ServiceErrorCode;
  constructor(code: ServiceErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
