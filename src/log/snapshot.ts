/**
 * Snapshots for replay (docs/design.md §4): a scope's current state at the scope's head `version`,
 * read from one store view, in bounded chunks. The state holds every object present in the
 * scope (the payload of its last update there) and tombstones kept for retention (marked
 * deleted); objects that left the scope or whose tombstone expired are absent. Sending the
 * chunks and then the tail after `version` gives the consumer what replaying the scope's whole
 * history would (minus expired tombstones) — the conformance suite checks exactly that.
 */
import { InvalidArgumentError } from '../core/index.ts';
import { LogError, LogErrorCode } from './errors.ts';
import { checkScope, objectKeyFromStateKey, stateRange } from './keys.ts';
import { readPayloads } from './payloads.ts';
import { decodeState } from './record-codec.ts';
import type { StoreView, UpdateStore } from './store.ts';
import { readScopeHead } from './tail.ts';
import type { SnapshotChunkOptions, SnapshotEntry, SnapshotReader } from './types.ts';

const DEFAULT_MAX_ENTRIES = 500;
const DEFAULT_MAX_BYTES = 256 * 1024;
const MAX_ENTRIES = 100_000;

class ScopeSnapshot implements SnapshotReader {
  readonly scope: string;
  readonly version: number;
  readonly streamId: string;
  readonly #view: StoreView;
  readonly #objectKeyPrefix: string;
  #used = false;
  #closed = false;

  constructor(view: StoreView, scope: string, version: number, streamId: string, objectKeyPrefix: string) {
    this.#view = view;
    this.#objectKeyPrefix = objectKeyPrefix;
    this.scope = scope;
    this.version = version;
    this.streamId = streamId;
  }

  chunks(options: SnapshotChunkOptions = {}): AsyncIterable<SnapshotEntry[]> {
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > MAX_ENTRIES) {
      throw new InvalidArgumentError('maxEntries', `must be an integer in 1..${MAX_ENTRIES}, got ${String(maxEntries)}`);
    }
    if (!Number.isInteger(maxBytes) || maxBytes < 1) {
      throw new InvalidArgumentError('maxBytes', `must be a positive integer, got ${String(maxBytes)}`);
    }
    if (this.#used || this.#closed) {
      throw new LogError(LogErrorCode.LOG_CLOSED, 'a snapshot can be read once; open a new one with openSnapshot()');
    }
    this.#used = true;
    return this.#generate(maxEntries, maxBytes, options.signal);
  }

  async *#generate(maxEntries: number, maxBytes: number, signal: AbortSignal | undefined): AsyncGenerator<SnapshotEntry[]> {
    try {
      let afterKey: string | undefined;
      for (;;) {
        signal?.throwIfAborted();
        const rows = await this.#view.scan({ ...stateRange(this.scope, afterKey, this.#objectKeyPrefix), limit: maxEntries });
        const states = rows.map(([key, value]) => decodeState(value, key));
        const payloads = await readPayloads(this.#view, states.map((s) => s.version), `scope ${JSON.stringify(this.scope)}`);
        const chunk: SnapshotEntry[] = [];
        let bytes = 0;
        for (let i = 0; i < rows.length && (chunk.length === 0 || bytes < maxBytes); i++) {
          const key = (rows[i] as [string, Uint8Array])[0];
          const state = states[i] as { version: number; deleted: boolean };
          const payload = payloads[i] as Uint8Array;
          chunk.push({ objectKey: objectKeyFromStateKey(this.scope, key), version: state.version, payload, deleted: state.deleted });
          bytes += payload.byteLength;
          afterKey = key;
        }
        if (chunk.length > 0) yield chunk;
        if (rows.length < maxEntries && chunk.length === rows.length) return;
      }
    } finally {
      this.close();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#view.close();
  }
}

/**
 * Opens a snapshot of `scope` as of its current head (see SnapshotReader); with
 * `objectKeyPrefix` (`<Kind>/`), only the objects whose key starts with it.
 */
export async function openSnapshot(store: UpdateStore, scope: string, streamId: string, objectKeyPrefix = ''): Promise<SnapshotReader> {
  checkScope(scope);
  const view = await store.readView();
  try {
    const version = await readScopeHead(view, scope);
    return new ScopeSnapshot(view, scope, version, streamId, objectKeyPrefix);
  } catch (err) {
    view.close();
    throw err;
  }
}
