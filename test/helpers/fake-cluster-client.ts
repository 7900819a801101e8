// A ClusterClient stand-in for the console's tests: a real SDK LocalState whose changes go to
// every `changes()` reader, and a status stream fed by hand.
import type { FollowedClient } from '../../src/console/index.ts';
import { ManualClock } from '../../src/core/index.ts';
import { newStreamId, updateIdentity, type ResourceUpdate } from '../../src/schema/index.ts';
import { LocalState, type AppliedUpdate, type Change, type Status } from '../../src/sdk/index.ts';

/** An async iterator fed by push(); ends on return(). */
class Feed<T> implements AsyncIterableIterator<T> {
  #items: T[] = [];
  #wake: ((r: IteratorResult<T>) => void) | undefined;
  #closed = false;
  push(item: T): void {
    if (this.#wake) {
      const wake = this.#wake;
      this.#wake = undefined;
      wake({ value: item, done: false });
    } else if (!this.#closed) this.#items.push(item);
  }
  next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift() as T, done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#wake = resolve));
  }
  async return(): Promise<IteratorResult<T>> {
    this.#closed = true;
    this.#wake?.({ value: undefined, done: true });
    return { value: undefined, done: true };
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

class FanOut<T> {
  readonly active = true;
  readonly readers: Array<Feed<T>> = [];
  push(item: T): void {
    for (const r of this.readers) r.push(item);
  }
  reader(): Feed<T> {
    const r = new Feed<T>();
    this.readers.push(r);
    return r;
  }
}

export class FakeClusterClient implements FollowedClient {
  readonly changeFeed = new FanOut<Change>();
  readonly statusFeed = new FanOut<Status>();
  readonly state = new LocalState({ clock: new ManualClock(1_800_000_000_000), retentionMs: 60_000, changes: this.changeFeed });
  readonly lifecycle = 'running' as const;
  readonly streamId = newStreamId();
  head = 0;
  readonly lag = 0;
  readonly inSync = true;
  changes(): AsyncIterableIterator<Change> {
    return this.changeFeed.reader();
  }
  status(): AsyncIterableIterator<Status> {
    return this.statusFeed.reader();
  }
  stats(): { applied: number } {
    return { applied: this.head };
  }
  apply(...updates: ResourceUpdate[]): void {
    for (const update of updates) this.state.apply({ version: ++this.head, update, identity: updateIdentity(update) } satisfies AppliedUpdate);
  }
}
