import type {
  ContainerUpdate,
  Kind,
  NamespaceUpdate,
  NetworkRanges,
  NodeUpdate,
  PodUpdate,
  ServiceUpdate,
  StreamId,
  Version,
  WorkloadUpdate,
} from '../schema/index.ts';
import { DropQueue } from './drop-queue.ts';

/** Any object the local state holds (the decoded update payloads, wire-protocol §3). */
export type KubeObject = PodUpdate | ContainerUpdate | ServiceUpdate | NamespaceUpdate | NodeUpdate | WorkloadUpdate | NetworkRanges;

/** Why an object stopped being live in a scope's state. */
export type RemoveReason =
  /** A ScopeExit: it left this scope (it still exists elsewhere in the cluster). */
  | 'scopeExit'
  /** A snapshot did not contain it: it was deleted or left while the client was away (docs/design.md §4). */
  | 'absentFromSnapshot';

/**
 * One change to a client's state, in the order it was applied. The objects are full states,
 * never deltas (wire-protocol §3).
 *
 * - `added` / `updated`: the object is live with this state.
 * - `deleted`: the object was deleted (its `stopTimeNs` is set); the state keeps it for the
 *   retention window so that hydration of telemetry from before still works.
 * - `removed`: the object left the scope (ScopeExit) or was absent from a snapshot.
 * - `snapshot`: a snapshot replaced the whole state (after the per-object changes it caused).
 * - `overflow`: the reader was too slow and `dropped` changes were discarded (the gap marker).
 *   The reader must re-read the state it cares about from `client.state`: later changes
 *   continue from the current state.
 */
export type Change =
  | { readonly type: 'added' | 'updated' | 'deleted'; readonly kind: Kind; readonly uid: string; readonly version: Version; readonly object: KubeObject }
  | { readonly type: 'removed'; readonly kind: Kind; readonly uid: string; readonly version: Version | undefined; readonly reason: RemoveReason }
  | { readonly type: 'snapshot'; readonly version: Version; readonly streamId: StreamId; readonly objects: number }
  | { readonly type: 'overflow'; readonly dropped: number };

/** Where the local state reports changes; `active` is false when nobody listens (no allocation then). */
export interface ChangeSink {
  readonly active: boolean;
  push(change: Change): void;
}

/**
 * Fans changes out to every `changes()` reader. Each reader has its own bounded buffer with the
 * `reset` overflow policy: a reader that falls behind loses the queued changes and gets one
 * `overflow` marker instead (style habit 7; client-go's unbounded pendingNotifications is the
 * warning). The apply path never waits for a reader.
 */
export class ChangeFeed implements ChangeSink {
  readonly #capacity: number;
  readonly #readers = new Set<DropQueue<Change>>();
  #closed = false;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get active(): boolean {
    return this.#readers.size > 0;
  }

  push(change: Change): void {
    for (const r of this.#readers) r.push(change);
  }

  changes(): AsyncIterableIterator<Change> {
    const reader: DropQueue<Change> = new DropQueue<Change>({
      capacity: this.#capacity,
      policy: 'reset',
      marker: (dropped) => ({ type: 'overflow', dropped }),
      onClose: () => this.#readers.delete(reader),
    });
    if (this.#closed) reader.close();
    else this.#readers.add(reader);
    return reader;
  }

  close(): void {
    this.#closed = true;
    for (const r of [...this.#readers]) r.close();
  }
}
