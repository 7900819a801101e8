import type { ProcessInfo, StreamId, Version } from '../../schema/index.ts';
import type { Change, ClientState, StateView, Status } from '../../sdk/index.ts';
import type { AutocompleteIndex } from '../search/autocomplete-index.ts';
import { ClusterFeed } from './cluster-feed.ts';

/**
 * What the console reads from a cluster client. The SDK's ClusterClient has this shape; tests
 * may pass anything else that does.
 */
export interface FollowedClient {
  readonly state: StateView;
  readonly lifecycle: ClientState;
  readonly streamId: StreamId | undefined;
  readonly head: Version;
  readonly lag: number;
  readonly inSync: boolean;
  changes(): AsyncIterableIterator<Change>;
  status(): AsyncIterableIterator<Status>;
  /** Counters of the client (ClusterClient.stats()); `applied` feeds the console's update-rate chart. */
  stats?(): { readonly applied: number };
  /** The processes of a pod from the service (ClusterClient.processesOfPod): the pod page lists them. */
  processesOfPod?(podUid: string, options: { includeStopped?: boolean; timeoutMs?: number }): Promise<readonly ProcessInfo[]>;
}

/** One followed cluster as /api/status shows it. */
export interface ClusterStatus {
  readonly name: string;
  /** NATS connection up (as the client last reported) and the client running. */
  readonly connected: boolean;
  readonly lifecycle: ClientState;
  readonly streamId: StreamId | undefined;
  /** Last version applied. */
  readonly head: Version;
  readonly inSync: boolean;
  /** Versions behind the newest head seen. */
  readonly lag: number;
  /** Changes applied to the index since it followed the client. */
  readonly changesApplied: number;
  /** Full reloads of the state (the first load, then one per change-stream overflow). */
  readonly reloads: number;
}

/**
 * What a metadata service reports of itself to a console running inside it (`kubemeta serve
 * --console`); a standalone console sees only NATS and leaves it out.
 */
export interface ServiceHealth {
  /** The service's lifecycle state (`ready`, `syncing`, `standby` …). */
  readonly state: string;
  /** NATS subjects it publishes on: one per scope (the cluster and each node). */
  readonly subjects: number;
  /** Replay requests answered to the end, and all received. */
  readonly replayServed: number;
  readonly replayReceived: number;
  /** Kubernetes API watches: kinds watching now, of all kinds; restarts and errors since start. */
  readonly watches: { readonly watching: number; readonly total: number; readonly restarts: number; readonly errors: number; readonly lastError?: string };
}

/**
 * Keeps an AutocompleteIndex in step with one ClusterClient: subscribes to its changes first,
 * then loads its state (changes that raced the load are applied again, which is harmless:
 * every change is a full object state), then applies each change as it comes. Changes reach
 * the index in the same event-loop turn as the client applied them (a queued microtask), so a
 * request handled after an update sees it. Also tracks the connection from `status()`.
 */
export class ClusterFollower {
  readonly name: string;
  readonly client: FollowedClient;
  readonly #feed: ClusterFeed;
  readonly #changes: AsyncIterableIterator<Change>;
  readonly #status: AsyncIterableIterator<Status>;
  readonly done: Promise<void>;
  #connected = true;
  #applied = 0;

  constructor(index: AutocompleteIndex, name: string, client: FollowedClient) {
    this.name = name;
    this.client = client;
    this.#feed = new ClusterFeed(index, name, client.state);
    this.#changes = client.changes();
    this.#status = client.status();
    this.#feed.load();
    this.done = Promise.all([this.#follow(), this.#watchStatus()]).then(() => undefined);
  }

  status(): ClusterStatus {
    const c = this.client;
    return {
      name: this.name,
      connected: this.#connected && c.lifecycle === 'running',
      lifecycle: c.lifecycle,
      streamId: c.streamId,
      head: c.head,
      inSync: c.inSync,
      lag: c.lag,
      changesApplied: this.#applied,
      reloads: this.#feed.reloads,
    };
  }

  /** Stops following (the client stays open: whoever opened it closes it). */
  async close(): Promise<void> {
    await this.#changes.return?.();
    await this.#status.return?.();
    await this.done;
  }

  async #follow(): Promise<void> {
    for await (const change of this.#changes) {
      this.#feed.push(change);
      this.#applied++;
    }
  }

  async #watchStatus(): Promise<void> {
    for await (const s of this.#status) {
      if (s.type === 'disconnect') this.#connected = false;
      else if (s.type === 'reconnect' || s.type === 'connected') this.#connected = true;
    }
  }
}
