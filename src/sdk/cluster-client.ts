import { CLUSTER_SCOPE } from '../schema/index.ts';
import { ClientCore, type ClientStats } from './client-core.ts';
import { compileClientOptions, type ClientOptions } from './client-options.ts';
import { routeQuery, type QueryFilter } from './query-router.ts';
import { ScopeClient } from './scope-client.ts';

export type ClusterClientOptions = ClientOptions;

/**
 * The cluster scope (every update, design §5) kept in step with gap detection and replay
 * (wire-protocol §6): for query brokers, UIs and autocomplete. Same guarantees and lifecycle
 * as NodeAgentClient; memory follows the cluster's size (plus what stopped within
 * `retentionMs`).
 */
export class ClusterClient extends ScopeClient {
  private constructor(core: ClientCore) {
    super(core);
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

  stats(): ClientStats {
    return this.core.stats();
  }

  /**
   * The nodes whose agents hold data relevant to `filter` (see QueryFilter): a query broker
   * fans a query out to those agents only. Answered from the local state, no round trip.
   */
  routeQuery(filter: QueryFilter): Set<string> {
    return routeQuery(this.core.state.indexes, filter);
  }
}
