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
