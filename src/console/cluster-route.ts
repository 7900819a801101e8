import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { StateView } from '../sdk/index.ts';
import { parseParams } from './api-schemas.ts';
import { describeCluster, type ClusterOverview } from './cluster-view.ts';
import { ConsoleError, ConsoleErrorCode } from './errors.ts';

export interface ClusterRouteOptions {
  /** The followed clusters' states, by cluster name. */
  readonly clusters: ReadonlyMap<string, { readonly state: StateView }>;
}

const clusterParams = z
  .object({
    cluster: z.string({ message: 'cluster must be given once, as text' }).max(253, 'cluster must be at most 253 characters').optional(),
  })
  .strict();

/**
 * `GET /api/cluster?cluster=` — the cluster page (`#/cluster/<name>`): live objects by kind, the
 * nodes (readiness, pods, pod CIDRs) and namespaces (pods, services, workloads), the first
 * CLUSTER_LIST_LIMIT of each in name order with their totals, and the network ranges when the
 * SDK provides them (cluster-view.ts). `cluster` may be left out when the console follows one.
 */
export function registerClusterRoute(app: FastifyInstance, options: ClusterRouteOptions): void {
  const names = [...options.clusters.keys()];
  app.get('/api/cluster', async (req): Promise<ClusterOverview> => {
    const p = parseParams(clusterParams, req.query);
    let cluster = p.cluster;
    if (cluster === undefined) {
      if (names.length !== 1) throw new ConsoleError(ConsoleErrorCode.BAD_REQUEST, `cluster is required: this console follows ${names.join(', ')}`);
      cluster = names[0] as string;
    }
    const followed = options.clusters.get(cluster);
    if (!followed) throw new ConsoleError(ConsoleErrorCode.UNKNOWN_CLUSTER, `unknown cluster "${cluster}"; this console follows ${names.join(', ')}`);
    return describeCluster(followed.state, cluster);
  });
}
