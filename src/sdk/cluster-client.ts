import { CLUSTER_SCOPE, timeNsFromMs, type StreamId, type TimeNs, type Version } from '../schema/index.ts';
import type { Change } from './changes.ts';
import { ClientCore, type ClientState, type ClientStats } from './client-core.ts';
import { compileClientOptions, type ClientOptions } from './client-options.ts';
import { routeQuery, type QueryFilter } from './query-router.ts';
import type { IpOwner, StateView } from './state-view.ts';
import type { Status } from './status.ts';

export type ClusterClientOptions = ClientOptions;

/**
 * The cluster scope (every update, design §5) kept in step with gap detection and replay
 * (wire-protocol §6): for query brokers, UIs and autocomplete. Same guarantees and lifecycle
 * as NodeAgentClient; memory follows the cluster's size (plus what stopped within
 * `retentionMs`).
 */
export class ClusterClient implements AsyncDisposable {
  readonly #core: ClientCore;

  private constructor(core: ClientCore) {
    this.#core = core;
  }

  /**
   * Connects, loads persisted state (if `persistDir`), subscribes to the cluster scope and
   * starts the bootstrap. Resolves at once; await `whenInSync()` before relying on the state.
   */
  static async connect(options: ClusterClientOptions): Promise<ClusterClient> {
    const config = compileClientOptions(options, []);
    const core = await ClientCore.open(config, CLUSTER_SCOPE, { name: `kubemeta-cluster-client/${config.cluster}` });
    return new ClusterClient(core);
  }

  get state(): StateView {
    return this.#core.state;
  }
  get lifecycle(): ClientState {
    return this.#core.lifecycle;
  }
  get streamId(): StreamId | undefined {
    return this.#core.streamId;
  }
  /** The last version applied on the cluster scope. */
  get head(): Version {
    return this.#core.head;
  }
  /** Versions between `head` and the newest head seen. */
  get lag(): number {
    return this.#core.lag;
  }
  get inSync(): boolean {
    return this.#core.inSync;
  }
  get closed(): Promise<void | Error> {
    return this.#core.closed;
  }

  whenInSync(signal?: AbortSignal): Promise<void> {
    return this.#core.whenInSync(signal);
  }

  /** State changes in apply order; bounded per reader (an `overflow` change means: re-read state). */
  changes(): AsyncIterableIterator<Change> {
    return this.#core.changes();
  }

  status(): AsyncIterableIterator<Status> {
    return this.#core.status();
  }

  stats(): ClientStats {
    return this.#core.stats();
  }

  /** The pod, service or node that held `ip` at `atNs` (default now), within retention (design §8). */
  resolveIp(ip: string, atNs?: TimeNs): IpOwner | undefined {
    return this.#core.state.resolveIp(ip, atNs ?? timeNsFromMs(this.#core.config.clock.now()));
  }

  /**
   * The nodes whose agents hold data relevant to `filter` (see QueryFilter): a query broker
   * fans a query out to those agents only. Answered from the local state, no round trip.
   */
  routeQuery(filter: QueryFilter): Set<string> {
    return routeQuery(this.#core.state.indexes, filter);
  }

  save(): Promise<boolean> {
    return this.#core.save();
  }

  close(): Promise<void> {
    return this.#core.close();
  }

  drain(): Promise<void> {
    return this.#core.drain();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#core.close();
  }
}
