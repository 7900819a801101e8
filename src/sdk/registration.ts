import { Backoff, toError, type BackoffOptions, type Clock } from '../core/index.ts';
import {
  RequestErrorCode,
  decodeRegisterAgentResponse,
  encodeRegisterAgentRequest,
  type RegisterAgentRequest,
  type StreamId,
} from '../schema/index.ts';
import type { SdkConnection } from './connection.ts';
import { RegisterAgentError, ServiceUnavailableError } from './errors.ts';

export interface RegistrationOptions {
  connection: SdkConnection;
  /** `kubemeta.<cluster>.agents.register`. */
  subject: string;
  request: RegisterAgentRequest;
  clock: Clock;
  timeoutMs: number;
  backoff?: BackoffOptions;
  signal?: AbortSignal;
  /** A try failed and the next one follows after `delayMs`. */
  onRetry?: (error: Error, delayMs: number) => void;
}

export interface Registration {
  /** The agent short id (≥ 1), unique in the cluster; the same agent gets it back after a restart. */
  readonly asid: number;
  readonly streamId: StreamId;
}

const RETRIABLE = new Set<number>([RequestErrorCode.BUSY, RequestErrorCode.UNAVAILABLE, RequestErrorCode.ABORTED, RequestErrorCode.INTERNAL]);

/**
 * Registers an agent with the service's agent registry (wire-protocol §8) and returns its ASID.
 * Retries, with backoff, while nobody answers, the request times out, or the registry is busy
 * or unavailable (the service may be starting with the agents); throws RegisterAgentError for
 * a refusal that retrying cannot fix, or the signal's reason when it aborts.
 */
export async function registerAgent(options: RegistrationOptions): Promise<Registration> {
  const payload = encodeRegisterAgentRequest(options.request);
  const backoff = new Backoff({ initialMs: 250, maxMs: 15_000, jitter: 0.5, ...options.backoff });
  for (;;) {
    options.signal?.throwIfAborted();
    let error: Error;
    let delayMs: number;
    try {
      const msg = await options.connection.request(options.subject, payload, { timeout: options.timeoutMs });
      if (msg.headers?.code === 503) throw new ServiceUnavailableError(options.subject);
      const result = decodeRegisterAgentResponse(msg.data);
      if (result.ok) return { asid: result.asid, streamId: result.streamId };
      if (!RETRIABLE.has(result.error.code)) {
        throw new RegisterAgentError(`the agent registry refused ${options.request.nodeName}/${options.request.agentInstanceId}: ${result.error.message}`, result.error.code);
      }
      error = new RegisterAgentError(`the agent registry is not ready: ${result.error.message}`, result.error.code);
      delayMs = result.error.retryAfterMs > 0 ? Math.round(result.error.retryAfterMs * (1 + 0.5 * Math.random())) : backoff.next();
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (err instanceof RegisterAgentError) throw err;
      // No responders, timeouts, a dropped connection: the service is not there yet.
      error = toError(err);
      delayMs = backoff.next();
    }
    options.onRetry?.(error, delayMs);
    await options.clock.sleep(delayMs, options.signal);
  }
}
