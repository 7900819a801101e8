import { InvalidArgumentError, silentLogger, systemClock, type Clock, type Logger } from '../../core/index.ts';
import { MAX_NODE_CIDRS } from '../model/ipam.ts';
import { MAX_PODS_PER_NODE } from '../kinds/node-factory.ts';

/** What a scenario builds; every field is optional (see defaults on each). */
export interface ScenarioOptions {
  /** Seed of every random choice (names, uids, IPs, placement, churn). Default 1. */
  seed?: number;
  /** Worker nodes. Default 3; at most 20,000. */
  nodes?: number;
  /** Application namespaces, besides default, kube-system, kube-public, kube-node-lease (and monitoring). Default 3. */
  namespaces?: number;
  /** Application Deployments, spread over the application namespaces. Default: one per 25 application pods. */
  deployments?: number;
  /** Pods per node at start (DaemonSet, StatefulSet and Job pods included). Default 10; 1–110. */
  podsPerNode?: number;
  /** Fraction of Deployments with a Service. Default 0.7. */
  serviceFraction?: number;
  /** Fraction of those Services that are headless (clusterIP: None). Default 0.1. */
  headlessFraction?: number;
  /** Fraction of Deployments whose pods have a native sidecar (init container with restartPolicy Always). Default 0.2. */
  nativeSidecarFraction?: number;
  /** Two DaemonSets (kube-proxy, node-exporter), one host-network pod each per node. Default true. */
  daemonSets?: boolean;
  /** StatefulSets of 3 pods, each with a headless Service. Default 0. */
  statefulSets?: number;
  /** CronJobs, each with one completed Job and its Succeeded pod. Default 0. */
  cronJobs?: number;
  /**
   * Nodes show their pod CIDR in spec.podCIDR(s) (default true). False: as with CNIs that
   * allocate pod addresses themselves (Calico, Cilium cluster-pool), spec.podCIDRs stays empty;
   * each node still has its own /24 (annotation POD_CIDR_ANNOTATION) its pods get IPs from.
   */
  podCidrs?: boolean;
  clock?: Clock;
  logger?: Logger;
  /** Passed to the ClusterModel: watch events kept per kind. */
  historyPerKind?: number;
}

/** Validated, defaulted, frozen ScenarioOptions. */
export interface ScenarioConfig {
  readonly seed: number;
  readonly nodes: number;
  readonly namespaces: number;
  readonly deployments: number;
  readonly podsPerNode: number;
  readonly serviceFraction: number;
  readonly headlessFraction: number;
  readonly nativeSidecarFraction: number;
  readonly daemonSets: boolean;
  readonly statefulSets: number;
  readonly cronJobs: number;
  readonly podCidrs: boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly historyPerKind: number | undefined;
  /** Pods of Deployments at start: nodes × podsPerNode minus every other pod. */
  readonly deploymentPods: number;
}

export const MAX_NODES = 20_000;
export const DAEMONSETS = 2;
export const STATEFULSET_REPLICAS = 3;
/** coredns in kube-system. */
export const SYSTEM_DEPLOYMENT_PODS = 2;

export function compileScenarioOptions(options: ScenarioOptions = {}): ScenarioConfig {
  const nodes = int(options.nodes, 'nodes', 3, 1, Math.min(MAX_NODES, MAX_NODE_CIDRS));
  const podsPerNode = int(options.podsPerNode, 'podsPerNode', 10, 1, MAX_PODS_PER_NODE);
  const daemonSets = options.daemonSets ?? true;
  const statefulSets = int(options.statefulSets, 'statefulSets', 0, 0, 1000);
  const cronJobs = int(options.cronJobs, 'cronJobs', 0, 0, 1000);
  const other = (daemonSets ? DAEMONSETS * nodes : 0) + statefulSets * STATEFULSET_REPLICAS + cronJobs + SYSTEM_DEPLOYMENT_PODS;
  const deploymentPods = nodes * podsPerNode - other;
  if (deploymentPods < 0) {
    throw new InvalidArgumentError(
      'podsPerNode',
      `${podsPerNode} pods per node leave no room for the ${other} DaemonSet, StatefulSet, Job and kube-system pods of ${nodes} nodes; raise podsPerNode or nodes, or lower statefulSets/cronJobs`,
    );
  }
  return Object.freeze({
    seed: int(options.seed, 'seed', 1, 0, 0xffffffff),
    nodes,
    namespaces: int(options.namespaces, 'namespaces', 3, 1, 10_000),
    deployments: int(options.deployments, 'deployments', Math.max(1, Math.round(deploymentPods / 25)), 1, 1_000_000),
    podsPerNode,
    serviceFraction: fraction(options.serviceFraction, 'serviceFraction', 0.7),
    headlessFraction: fraction(options.headlessFraction, 'headlessFraction', 0.1),
    nativeSidecarFraction: fraction(options.nativeSidecarFraction, 'nativeSidecarFraction', 0.2),
    daemonSets,
    statefulSets,
    cronJobs,
    podCidrs: options.podCidrs ?? true,
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger,
    historyPerKind: options.historyPerKind,
    deploymentPods,
  });
}

function int(value: number | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(name, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function fraction(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidArgumentError(name, `must be a number from 0 to 1, got ${String(value)}`);
  }
  return value;
}
