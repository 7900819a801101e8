import { KubemetaError } from '../core/index.ts';

/** What a list/watch loop does about an error (client-go's reflector makes the same split). */
export type ErrorClass =
  /** The resourceVersion is too old (410 Gone): list again, publish only differences. */
  | 'expired'
  /** Worth retrying from the same resourceVersion after a backoff: network, 429, 5xx, timeouts. */
  | 'retriable'
  /** The resource does not exist on this server (404 on the collection): stop watching this kind. */
  | 'unsupported'
  /** Credentials or permissions are wrong: keep retrying slowly, and say what to fix. */
  | 'forbidden';

/** The codes of SourceError (docs/errors.md). */
export type SourceErrorCode =
  | 'SOURCE_GONE'
  | 'SOURCE_FORBIDDEN'
  | 'SOURCE_NOT_SERVED'
  | 'SOURCE_API_ERROR'
  | 'SOURCE_UNREACHABLE'
  | 'SOURCE_WATCH_IDLE'
  | 'SOURCE_WATCH_LIST_INVALID'
  | 'SOURCE_WATCH_LIST_INCOMPLETE';

export class SourceError extends KubemetaError {
  declare readonly code: SourceErrorCode;
  readonly errorClass: ErrorClass;
  readonly httpStatus: number | undefined;
  /** Seconds the server asked us to wait (Retry-After), if it did. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: SourceErrorCode,
    message: string,
    fields: { errorClass: ErrorClass; httpStatus?: number; retryAfterSeconds?: number },
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.errorClass = fields.errorClass;
    this.httpStatus = fields.httpStatus;
    this.retryAfterSeconds = fields.retryAfterSeconds;
  }
}

/** Builds the error for a non-2xx answer (or a watch ERROR event) of the API server. */
export function apiStatusError(what: string, httpStatus: number, message: string, retryAfterSeconds?: number): SourceError {
  if (httpStatus === 410) {
    return new SourceError('SOURCE_GONE', `${what}: resourceVersion expired (410 Gone): ${message}`, { errorClass: 'expired', httpStatus });
  }
  if (httpStatus === 401 || httpStatus === 403) {
    return new SourceError(
      'SOURCE_FORBIDDEN',
      `${what}: the API server refused our credentials (${httpStatus}): ${message}. Check the kubeconfig user or the service account's RBAC (deploy/ has the read-only ClusterRole kubemeta needs).`,
      { errorClass: 'forbidden', httpStatus },
    );
  }
  if (httpStatus === 404) {
    return new SourceError('SOURCE_NOT_SERVED', `${what}: the API server does not serve this resource (404): ${message}`, {
      errorClass: 'unsupported',
      httpStatus,
    });
  }
  return new SourceError('SOURCE_API_ERROR', `${what}: API server answered ${httpStatus}: ${message}`, {
    errorClass: 'retriable',
    httpStatus,
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  });
}

/** Network-level failures (refused, reset, timed out, malformed stream) are retriable. */
export function networkError(what: string, cause: unknown): SourceError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new SourceError('SOURCE_UNREACHABLE', `${what}: ${detail}`, { errorClass: 'retriable' }, { cause });
}

/** A response or stream that does not have the shape the API defines: retried like a network failure. */
export function malformedResponseError(what: string, problem: string, cause?: unknown): SourceError {
  return new SourceError('SOURCE_UNREACHABLE', `${what}: ${problem}`, { errorClass: 'retriable' }, cause === undefined ? undefined : { cause });
}

/** The loop's decision for any error; anything unknown is retried (a loop never dies silently). */
export function classifyError(err: unknown): ErrorClass {
  return err instanceof SourceError ? err.errorClass : 'retriable';
}

/** A kubeconfig or in-cluster config that cannot work at all: the service stops with this advice. */
export class SourceConfigError extends KubemetaError {
  constructor(message: string, options?: ErrorOptions) {
    super('SOURCE_CONFIG_INVALID', message, options);
  }
}

/**
 * The leader-election Lease cannot be created because its namespace does not exist (the API
 * server answers 404 `namespaces "<ns>" not found` to the create). The Lease API is served;
 * what is missing is the namespace, and only the operator can add it (or choose another).
 */
export class LeaseNamespaceMissingError extends KubemetaError {
  readonly namespace: string;

  constructor(namespace: string, lease: string, options?: ErrorOptions) {
    super(
      'SOURCE_LEASE_NAMESPACE_MISSING',
      `cannot create the leader-election Lease ${namespace}/${lease}: the namespace "${namespace}" does not exist. ` +
        `Create it (kubectl create namespace ${namespace}) or run with --lease-namespace set to an existing namespace (usually the one kubemeta runs in); ` +
        'this replica stands by, not ready, and tries again meanwhile',
      options,
    );
    this.namespace = namespace;
  }
}

/** Why a Leadership's signal aborted: released, lost to another replica, or not renewed in time. */
export class LeadershipLostError extends KubemetaError {
  declare readonly code: 'SOURCE_LEADERSHIP_LOST';
  constructor(message: string) {
    super('SOURCE_LEADERSHIP_LOST', message);
  }
}
