import type { Clock, Logger } from '../core/index.ts';
import type { ReflectorStats } from '../source/index.ts';

export interface KindProgress {
  kind: string;
  phase: string;
  synced: boolean;
  objectsListed: number;
  pages: number;
  /** Objects still to come in the running LIST, as the API server estimates it. */
  remaining: number | undefined;
  /** Objects per second over the whole sync so far. */
  ratePerSecond: number;
  /** Seconds until this kind's LIST is done at the current rate, when known. */
  etaSeconds: number | undefined;
  lastError: string | undefined;
}

/**
 * Initial-sync progress, for a person watching a large cluster come up: per kind, objects
 * listed, pages, rate and an estimate of the time left (from the API server's
 * remainingItemCount). Logged every few seconds while syncing and served by /readyz.
 */
export class SyncProgress {
  readonly #clock: Clock;
  readonly #startedAt: number;
  #lastLogAt = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
    this.#startedAt = clock.now();
  }

  report(stats: readonly ReflectorStats[]): KindProgress[] {
    const seconds = Math.max(0.001, (this.#clock.now() - this.#startedAt) / 1000);
    return stats.map((s) => {
      const rate = s.objectsListed / seconds;
      const remaining = s.listProgress?.remaining;
      return {
        kind: s.kind,
        phase: s.phase,
        synced: s.synced,
        objectsListed: s.objectsListed,
        pages: s.pages,
        remaining,
        ratePerSecond: Math.round(rate),
        etaSeconds: remaining !== undefined && rate > 0 ? Math.ceil(remaining / rate) : undefined,
        lastError: s.lastError,
      };
    });
  }

  summary(stats: readonly ReflectorStats[]): { objectsListed: number; pages: number; seconds: number } {
    return {
      objectsListed: stats.reduce((n, s) => n + s.objectsListed, 0),
      pages: stats.reduce((n, s) => n + s.pages, 0),
      seconds: Math.round((this.#clock.now() - this.#startedAt) / 100) / 10,
    };
  }

  /** Logs one line every 2 s while any kind is still listing. */
  log(stats: readonly ReflectorStats[], logger: Logger): void {
    const now = this.#clock.now();
    if (now - this.#lastLogAt < 2_000 || stats.every((s) => s.synced)) return;
    this.#lastLogAt = now;
    const pending = this.report(stats).filter((k) => !k.synced);
    logger.info(
      { ...this.summary(stats), pending: pending.map((k) => `${k.kind}: ${k.objectsListed} listed${k.remaining !== undefined ? `, ${k.remaining} to go (~${k.etaSeconds ?? '?'} s)` : ''}${k.lastError ? `, last error: ${k.lastError}` : ''}`) },
      'initial sync in progress',
    );
  }
}
