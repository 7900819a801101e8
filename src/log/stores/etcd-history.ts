import type { Etcd3 } from 'etcd3';
import type { Clock } from '../../core/index.ts';
import type { RevisionPins } from './etcd-reads.ts';

/**
 * Compacts etcd's revision history after commits (etcd-store.ts, "History"): samples (time,
 * revision) as commits land, and compacts to the newest sample older than the retention, never
 * past a revision a view or a read still uses (the pins).
 */
export class HistoryCompactor {
  readonly #kv: Etcd3['kv'];
  readonly #pins: RevisionPins;
  readonly #clock: Clock;
  readonly #retentionMs: number;
  readonly #intervalMs: number;
  readonly #sampleEveryMs: number;
  readonly #samples: Array<{ atMs: number; revision: number }> = [];
  #lastSampleMs = Number.NEGATIVE_INFINITY;
  #lastRunMs = Number.NEGATIVE_INFINITY;
  #compactedTo = 0;
  #running: Promise<void> | undefined;

  constructor(kv: Etcd3['kv'], pins: RevisionPins, clock: Clock, settings: { retentionMs: number; intervalMs: number }) {
    this.#kv = kv;
    this.#pins = pins;
    this.#clock = clock;
    this.#retentionMs = settings.retentionMs;
    this.#intervalMs = settings.intervalMs;
    // At most ~64 samples per retention window.
    this.#sampleEveryMs = Math.max(settings.intervalMs, settings.retentionMs / 64);
  }

  /** After a commit at `revision`: the compaction it starts, if any (never rejects). */
  committed(revision: number): Promise<void> | undefined {
    const now = this.#clock.now();
    if (now - this.#lastSampleMs >= this.#sampleEveryMs) {
      this.#samples.push({ atMs: now, revision });
      this.#lastSampleMs = now;
    }
    if (this.#running || now - this.#lastRunMs < this.#intervalMs) return undefined;
    let target: number | undefined;
    for (let s = this.#samples[0]; s !== undefined && s.atMs <= now - this.#retentionMs; s = this.#samples[0]) {
      target = s.revision;
      this.#samples.shift();
    }
    const pinned = this.#pins.min();
    if (target !== undefined && pinned !== undefined) target = Math.min(target, pinned);
    if (target === undefined || target <= this.#compactedTo) return undefined;
    const to = target;
    this.#lastRunMs = now;
    // `physical`: the call returns once etcd has dropped the old revisions, so rounds never pile
    // up in etcd's compaction queue. A failure (e.g. someone compacted further already) only
    // means this round did nothing.
    this.#running = this.#kv
      .compact({ revision: to, physical: true })
      .then(
        () => {
          this.#compactedTo = to;
        },
        () => undefined,
      )
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }
}
