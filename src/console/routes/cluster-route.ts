import type { FastifyInstance } from 'fastify';
import type { StateView } from '../../sdk/index.ts';
import { followedCluster, oneClusterParams, parseParams } from './api-schemas.ts';
import { describeCluster, type ClusterOverview } from '../views/cluster-view.ts';

export interface ClusterRouteOptions {
  /** The followed clusters' states, by cluster name. */
  readonly clusters: ReadonlyMap<string, { readonly state: StateView }>;
}

/**
 * `GET /api/cluster?cluster=` — the cluster page (`#/cluster/<name>`): live objects by kind, the
 * nodes (readiness, pods, pod CIDRs) and namespaces (pods, services, workloads), the first
 * CLUSTER_LIST_LIMIT of each in name order with their totals, and the network ranges when the
 * SDK provides them (views/cluster-view.ts). `cluster` may be left out when the console follows one.
 */
export function registerClusterRoute(app: FastifyInstance, options: ClusterRouteOptions): void {
  app.get('/api/cluster', async (req): Promise<ClusterOverview> => {
    const { name, followed } = followedCluster(options.clusters, parseParams(oneClusterParams, req.query).cluster);
    return describeCluster(followed.state, name);
  });
}
