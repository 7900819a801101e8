import { AbortedError } from '../core/index.ts';
import { LogError, LogErrorCode } from './errors.ts';

/**
 * Runs async tasks one at a time, in arrival order, with a bound on how many may wait. Commits
 * and compaction steps go through one queue, so the log has one writer at a time and its
 * in-memory heads always match what the store has (docs/design.md §1–2).
 */
export class SerialQueue {
  readonly #maxWaiting: number;
  #tail: Promise<void> = Promise.resolve();
  /** Tasks accepted and not finished: the running one plus those waiting. */
  #pending = 0;

  constructor(maxWaiting: number) {
    this.#maxWaiting = maxWaiting;
  }

  get waiting(): number {
    return Math.max(0, this.#pending - 1);
  }

  /**
   * Runs `task` after every task queued before it. Rejects with LOG_COMMIT_QUEUE_FULL when
   * `maxWaiting` tasks already wait, with AbortedError when `signal` aborts while waiting.
   */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (this.#pending > this.#maxWaiting) {
      throw new LogError(
        LogErrorCode.COMMIT_QUEUE_FULL,
        `${this.waiting} commits are already waiting for the store; batch updates into fewer, larger commits ` +
          'or wait for earlier commits before starting new ones',
      );
    }
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#pending++;
    try {
      await waitOrAbort(previous, signal);
    } catch (err) {
      this.#pending--;
      // Keep the order for those queued behind us: our turn ends when the previous one's does.
      void previous.then(release);
      throw err;
    }
    try {
      return await task();
    } finally {
      this.#pending--;
      release();
    }
  }

  /** Resolves once every task queued so far has finished. */
  idle(): Promise<void> {
    return this.#tail;
  }
}

function waitOrAbort(previous: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return previous;
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedError('waiting for an earlier commit', { cause: signal.reason }));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    void previous.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
