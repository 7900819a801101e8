import {
  decodeProcessQueryResponse,
  encodeProcessQuery,
  processErrorName,
  type ProcessInfo,
  type ProcessQuery,
  type Upid,
} from '../schema/index.ts';
import type { SdkConnection } from './connection.ts';
import { ProcessQueryError, SdkInvalidArgumentError } from './errors.ts';

/** Options of a process query (ClusterClient.processesOfPod, lookupProcess). */
export interface ProcessQueryOptions {
  /** Include processes stopped within the service's retention (default false; UPID lookups always do). */
  readonly includeStopped?: boolean;
  /** How long to wait for the answer (default 5 s). */
  readonly timeoutMs?: number;
}

/**
 * One request/reply to the service's process registry (wire-protocol §12). Processes are not
 * in the scope stream: a client asks for the few it shows instead of holding every process of
 * the cluster. Throws ProcessQueryError (no service, timeout, refusal).
 */
export async function queryProcesses(connection: SdkConnection, subject: string, query: ProcessQuery, timeoutMs = 5_000): Promise<ProcessInfo[]> {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new SdkInvalidArgumentError('timeoutMs', `must be a positive integer, got ${timeoutMs}`);
  let payload: Uint8Array;
  try {
    payload = encodeProcessQuery(query);
  } catch (err) {
    throw new SdkInvalidArgumentError('process query', (err as Error).message);
  }
  let data: Uint8Array;
  try {
    const msg = await connection.request(subject, payload, { timeout: timeoutMs });
    if (msg.headers?.code === 503) throw new ProcessQueryError(`nobody answers on ${subject}: is kubemeta running (and ready) on this NATS?`);
    data = msg.data;
  } catch (err) {
    if (err instanceof ProcessQueryError) throw err;
    throw new ProcessQueryError(`process query on ${subject} failed: ${(err as Error).message}`, undefined, 0, { cause: err });
  }
  const result = decodeProcessQueryResponse(data);
  if (!result.ok) throw new ProcessQueryError(`process query refused (${processErrorName(result.error.code)}): ${result.error.message}`, result.error.code, result.error.retryAfterMs);
  return [...result.processes];
}

/** The process of `upid` (any node's), or undefined when the service does not hold it. */
export async function lookupProcess(connection: SdkConnection, subject: string, upid: Upid, timeoutMs?: number): Promise<ProcessInfo | undefined> {
  return (await queryProcesses(connection, subject, { upid }, timeoutMs))[0];
}
