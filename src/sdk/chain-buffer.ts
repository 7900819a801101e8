import type { StreamId, UpdateFrame, Version } from '../schema/index.ts';

interface Held {
  readonly frame: UpdateFrame;
  readonly streamId: StreamId;
}

/** What `drain` ended with. */
export type DrainOutcome =
  /** Everything held was applied or was a duplicate. */
  | { readonly kind: 'empty' }
  /** A hole remains before `version`: replay again. */
  | { readonly kind: 'gap'; readonly version: Version }
  /** A held frame is from another stream than the state: that stream is over (docs/design.md §7). */
  | { readonly kind: 'otherStream'; readonly streamId: StreamId };

/**
 * Out-of-order updates held while a gap is repaired (wire-protocol §6 step 3), keyed by
 * version, at most `capacity` of them (style habit 7: on overflow the caller drops them all
 * and replays to the head instead of growing).
 */
export class ChainBuffer {
  readonly capacity: number;
  readonly #held = new Map<Version, Held>();

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.#held.size;
  }

  /** Holds `frames[from..]`; false (and nothing held any more) when the bound was reached. */
  hold(streamId: StreamId, frames: readonly UpdateFrame[], from: number): boolean {
    for (const frame of from === 0 ? frames : frames.slice(from)) {
      if (this.#held.size >= this.capacity) {
        this.#held.clear();
        return false;
      }
      this.#held.set(frame.version, { frame, streamId });
    }
    return true;
  }

  clear(): void {
    this.#held.clear();
  }

  /**
   * Applies, in version order, every held frame that chains on the position (`apply` applies
   * one and returns the new position); counts the ones at or below it as duplicates. Stops at
   * the first hole or at a frame from another stream, which stays held.
   */
  drain(streamId: StreamId, position: Version, apply: (frame: UpdateFrame) => Version, duplicate: () => void): DrainOutcome {
    if (this.#held.size === 0) return { kind: 'empty' };
    const inOrder = [...this.#held].sort(([a], [b]) => a - b);
    let at = position;
    for (const [v, h] of inOrder) {
      if (h.streamId !== streamId) return { kind: 'otherStream', streamId: h.streamId };
      if (v > at && h.frame.prevVersion !== at) return { kind: 'gap', version: v };
      this.#held.delete(v);
      if (v <= at) duplicate();
      else at = apply(h.frame);
    }
    return { kind: 'empty' };
  }
}
