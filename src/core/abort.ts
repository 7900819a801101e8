/**
 * A signal that aborts when `signal` does or after `timeoutMs`, whichever comes first.
 * (AbortSignal.any and AbortSignal.timeout are both in Node 20.)
 */
export function withTimeout(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

/** True when `err` is the rejection of an aborted signal (an AbortError or TimeoutError DOMException). */
export function isAbortError(err: unknown): boolean {
  return err instanceof DOMException && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/**
 * `pending`, or the abort reason as soon as `signal` aborts. For operations that take no signal
 * themselves (nats.js connect): what they produce after the abort is handed to `dispose`
 * (closed), so nothing opened late is leaked.
 */
export function abortable<T>(pending: Promise<T>, signal: AbortSignal | undefined, dispose: (late: T) => unknown): Promise<T> {
  if (!signal) return pending;
  if (signal.aborted) {
    void pending.then(dispose).catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason);
      void pending.then(dispose).catch(() => undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
