/**
 * Callers waiting for a condition (the client to be in sync): each `wait` resolves at the next
 * `resolveAll`, rejects at `rejectAll`, or rejects with the signal's reason when it aborts.
 */
export class Waiters {
  readonly #waiting = new Set<{ resolve: () => void; reject: (err: unknown) => void }>();

  wait(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiting.delete(waiter);
        reject(signal?.reason);
      };
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      this.#waiting.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  resolveAll(): void {
    const all = [...this.#waiting];
    this.#waiting.clear();
    for (const w of all) w.resolve();
  }

  rejectAll(err: unknown): void {
    const all = [...this.#waiting];
    this.#waiting.clear();
    for (const w of all) w.reject(err);
  }
}
