import { CLUSTER_SCOPE, clusterSubjects, type ProcessInfo, type Upid } from '../schema/index.ts';
import { ClientCore, type ClientStats } from './client-core.ts';
import { compileClientOptions, type ClientOptions } from './client-options.ts';
import { routeQuery, type QueryFilter } from './query-router.ts';
import { lookupProcess, queryProcesses, type ProcessQueryOptions } from './process-queries.ts';
import { ScopeClient } from './scope-client.ts';

export type ClusterClientOptions = ClientOptions;

/**
 * The cluster scope (every update, docs/design.md §5) kept in step with gap detection and replay
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

  /**
   * The processes of a pod as its node's agent reported them (wire-protocol §12): command line,
   * UPID, container, start and stop. Asked of the service (request/reply), not held in the
   * local state: a cluster client would otherwise receive every process start and stop of the
   * cluster. Live ones only unless `includeStopped` (then those stopped within the service's
   * retention too), oldest start first. Throws ProcessQueryError when the service does not answer.
   */
  processesOfPod(podUid: string, options: ProcessQueryOptions = {}): Promise<ProcessInfo[]> {
    const subject = clusterSubjects(this.core.config.cluster).processesOfPod;
    return queryProcesses(this.core.connection, subject, { podUid, includeStopped: options.includeStopped === true }, options.timeoutMs);
  }

  /** One process by UPID (any node's), or undefined; see NodeAgentClient.lookupProcess. */
  lookupProcess(upid: Upid, options: Pick<ProcessQueryOptions, 'timeoutMs'> = {}): Promise<ProcessInfo | undefined> {
    return lookupProcess(this.core.connection, clusterSubjects(this.core.config.cluster).processByUpid, upid, options.timeoutMs);
  }
}
