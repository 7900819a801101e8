import { KubemetaError, toError } from '../core/index.ts';

/** One part of a command to stop: `undefined` when it never started. */
export type StopStep = readonly [what: string, stop: (() => Promise<unknown>) | undefined];

/** Some parts of a command did not stop cleanly; `failures` names each with its error. */
export class ShutdownError extends KubemetaError {
  declare readonly code: 'CLI_SHUTDOWN_FAILED';
  readonly failures: ReadonlyArray<{ readonly what: string; readonly error: Error }>;

  constructor(failures: ReadonlyArray<{ readonly what: string; readonly error: Error }>) {
    super('CLI_SHUTDOWN_FAILED', `stopping failed for ${failures.map((f) => `${f.what} (${f.error.message})`).join('; ')}`, { cause: failures[0]?.error });
    this.failures = failures;
  }
}

/**
 * Stops the parts of a command one after the other, in the order given (consumers before what
 * they consume: a client before the service it follows, the service before the NATS server it
 * publishes to). Every step runs even when an earlier one fails, so that one failure does not
 * leave servers, sockets and child processes open and keep the process alive; the failures are
 * returned together (undefined when everything stopped).
 */
export async function stopInOrder(steps: readonly StopStep[]): Promise<ShutdownError | undefined> {
  const failures: Array<{ what: string; error: Error }> = [];
  for (const [what, stop] of steps) {
    if (!stop) continue;
    try {
      await stop();
    } catch (err) {
      failures.push({ what, error: toError(err) });
    }
  }
  return failures.length > 0 ? new ShutdownError(failures) : undefined;
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: a stop is not an error). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
