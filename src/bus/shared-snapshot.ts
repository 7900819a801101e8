import { RequestErrorCode } from '../schema/index.ts';
import type { SnapshotEntry, SnapshotReader } from '../log/index.ts';
import { BusErrorCode, RequestRefusedError } from './errors.ts';

/** Where snapshots come from (the UpdateLog). */
export interface SnapshotSource {
  openSnapshot(scope: string): Promise<SnapshotReader>;
}

export interface SnapshotSharesConfig {
  /** Chunks one shared read keeps buffered; a requester further behind than this is detached. */
  readonly maxBufferedChunks: number;
  /** Entries per chunk read from the store (the usual bound). */
  readonly chunkEntries: number;
  /** Payload bytes per chunk read from the store (the bound for large objects). */
  readonly chunkBytes: number;
  /** false: every answer reads its own snapshot (nothing is shared). */
  readonly share: boolean;
}

/** One answer's view of a (possibly shared) snapshot read: chunks in order, then undefined. */
export interface SnapshotCursor {
  readonly version: number;
  next(): Promise<readonly SnapshotEntry[] | undefined>;
  /** Leaves the read; the last cursor to leave closes the store view. Idempotent. */
  close(): void;
}

export interface SnapshotShareStats {
  /** Snapshots opened on the store. */
  readonly reads: number;
  /** Answers that joined a read already running instead of opening their own. */
  readonly hits: number;
  /** Answers detached because they fell more than the buffer behind the fastest one. */
  readonly lagAborts: number;
}

function lagError(scope: string, chunks: number): RequestRefusedError {
  return new RequestRefusedError(
    {
      code: RequestErrorCode.ABORTED,
      message: `the snapshot of ${scope} was read once for several requesters and this one fell more than ${chunks} chunks behind; ask again`,
      retryAfterMs: 0,
    },
    BusErrorCode.SHARED_SNAPSHOT_LAG,
  );
}

/**
 * Identical concurrent snapshot requests share one store read (issue 4). A read of a scope is
 * joinable while its buffer still holds the first chunk; joiners get the same snapshot version
 * and the same chunks, each at its own pace.
 *
 * No requester holds the others back (docs/design.md §11): the buffer keeps at most
 * `maxBufferedChunks` chunks. A chunk is dropped once every cursor passed it, and only when
 * room is needed (so the read stays joinable as long as possible). When the fastest cursor
 * needs a new chunk and the slowest still holds the oldest one of a full buffer, the slowest is
 * detached: its next `next()` throws RequestRefusedError ABORTED (BUS_SHARED_SNAPSHOT_LAG) and
 * its consumer asks again. Memory per scope is thus bounded by the buffer, whatever the number
 * of requesters.
 */
export class SnapshotShares {
  readonly #source: SnapshotSource;
  readonly #config: SnapshotSharesConfig;
  readonly #open = new Map<string, SharedRead>();
  readonly #stats = { reads: 0, hits: 0, lagAborts: 0 };

  constructor(source: SnapshotSource, config: SnapshotSharesConfig) {
    this.#source = source;
    this.#config = config;
  }

  stats(): SnapshotShareStats {
    return { ...this.#stats };
  }

  /**
   * A cursor over a snapshot of `scope`: a running read if one can still serve from the start.
   * `onDetach` is called when the cursor is detached for lagging, so its answer can stop at
   * once (it may be waiting for acks, not for the next chunk).
   */
  async join(scope: string, onDetach: (reason: RequestRefusedError) => void): Promise<SnapshotCursor> {
    let read = this.#config.share ? this.#open.get(scope) : undefined;
    if (read?.joinable) {
      this.#stats.hits++;
    } else {
      read = new SharedRead(scope, this.#config, this.#source, () => this.#stats.lagAborts++, (r) => {
        if (this.#open.get(scope) === r) this.#open.delete(scope);
      });
      this.#stats.reads++;
      if (this.#config.share) this.#open.set(scope, read);
    }
    return read.cursor(onDetach);
  }
}

interface CursorState {
  /** Index of the next chunk this cursor asks for. */
  position: number;
  detached: boolean;
  closed: boolean;
  readonly onDetach: (reason: RequestRefusedError) => void;
}

/** One store read of a scope's snapshot, fanned out to its cursors from a bounded buffer. */
class SharedRead {
  readonly #scope: string;
  readonly #config: SnapshotSharesConfig;
  readonly #onLag: () => void;
  readonly #onEmpty: (read: SharedRead) => void;
  readonly #reader: Promise<SnapshotReader>;
  #iterator: AsyncIterator<SnapshotEntry[]> | undefined;
  readonly #chunks: SnapshotEntry[][] = [];
  #base = 0;
  #done = false;
  #failed: unknown;
  #reading: Promise<void> | undefined;
  readonly #cursors = new Set<CursorState>();
  #finished = false;

  constructor(scope: string, config: SnapshotSharesConfig, source: SnapshotSource, onLag: () => void, onEmpty: (read: SharedRead) => void) {
    this.#scope = scope;
    this.#config = config;
    this.#onLag = onLag;
    this.#onEmpty = onEmpty;
    this.#reader = source.openSnapshot(scope);
    this.#reader.catch(() => undefined); // reported to every cursor through cursor()
  }

  get joinable(): boolean {
    return this.#base === 0 && !this.#finished && this.#failed === undefined;
  }

  async cursor(onDetach: (reason: RequestRefusedError) => void): Promise<SnapshotCursor> {
    const state: CursorState = { position: 0, detached: false, closed: false, onDetach };
    this.#cursors.add(state);
    let reader: SnapshotReader;
    try {
      reader = await this.#reader;
    } catch (err) {
      this.#leave(state);
      throw err;
    }
    return {
      version: reader.version,
      next: () => this.#chunkFor(state),
      close: () => this.#leave(state),
    };
  }

  async #chunkFor(state: CursorState): Promise<readonly SnapshotEntry[] | undefined> {
    for (;;) {
      if (state.detached) throw lagError(this.#scope, this.#config.maxBufferedChunks);
      const index = state.position;
      if (index < this.#base + this.#chunks.length) {
        state.position++;
        return this.#chunks[index - this.#base];
      }
      if (this.#failed !== undefined) throw this.#failed;
      if (this.#done) return undefined;
      this.#reading ??= this.#readChunk().finally(() => (this.#reading = undefined));
      await this.#reading;
    }
  }

  async #readChunk(): Promise<void> {
    try {
      this.#makeRoom();
      const reader = await this.#reader;
      this.#iterator ??= reader.chunks({ maxBytes: this.#config.chunkBytes, maxEntries: this.#config.chunkEntries })[Symbol.asyncIterator]();
      const r = await this.#iterator.next();
      if (r.done) this.#done = true;
      else this.#chunks.push(r.value);
    } catch (err) {
      this.#failed = err;
    }
  }

  /**
   * Frees a buffer slot when the buffer is full: drops chunks every cursor passed, and detaches
   * the slowest cursors if that is not enough. Chunks stay while there is room, so the read
   * stays joinable (its first chunk buffered) as long as possible.
   */
  #makeRoom(): void {
    if (this.#chunks.length < this.#config.maxBufferedChunks) return;
    this.#dropPassed();
    while (this.#chunks.length >= this.#config.maxBufferedChunks) {
      for (const c of this.#cursors) {
        if (c.position <= this.#base) {
          c.detached = true;
          this.#cursors.delete(c);
          this.#onLag();
          c.onDetach(lagError(this.#scope, this.#config.maxBufferedChunks));
        }
      }
      this.#dropPassed();
    }
  }

  #dropPassed(): void {
    let min = Number.POSITIVE_INFINITY;
    for (const c of this.#cursors) min = Math.min(min, c.position);
    while (this.#chunks.length > 0 && this.#base < min) {
      this.#chunks.shift();
      this.#base++;
    }
  }

  #leave(state: CursorState): void {
    if (state.closed) return;
    state.closed = true;
    this.#cursors.delete(state);
    if (this.#cursors.size > 0) return;
    this.#finished = true;
    this.#chunks.length = 0;
    this.#onEmpty(this);
    void this.#closeReader();
  }

  async #closeReader(): Promise<void> {
    try {
      const reader = await this.#reader;
      await this.#iterator?.return?.();
      reader.close();
    } catch {
      // the open failed: nothing to close
    }
  }
}
