import { TimeoutError } from './errors.ts';
import { sleep } from './clock.ts';

export interface WaitForOptions {
  /** Liveness bound only: how long before giving up. Speed is measured in bench/, not here. */
  timeoutMs?: number;
  /** What is being waited for; the TimeoutError message names it. */
  what: string;
  intervalMs?: number;
  signal?: AbortSignal;
}

/**
 * Polls `predicate` until it returns a truthy value and resolves with that value; rejects
 * with a TimeoutError naming `what` (and the last error the predicate threw) otherwise.
 * Tests use it instead of sleeping and then asserting.
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, options: WaitForOptions): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new TimeoutError(options.what, timeoutMs, lastError === undefined ? undefined : { cause: lastError });
    }
    await sleep(intervalMs, options.signal);
  }
}
