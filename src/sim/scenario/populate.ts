import { KubemetaError, type Rng } from '../../core/index.ts';
import type { KubeObject } from '../model/objects.ts';
import { buildNamespace, buildNode, buildNodeLease } from '../kinds/node-factory.ts';
import { appNamespaces, ClusterIpPool, MONITORING_NAMESPACE, NodePlacer, SYSTEM_NAMESPACES, type PopulateContext } from './populate-context.ts';
import { createApps, createCoreDns, createCronJobs, createDaemonSets, createStatefulSets } from './populate-workloads.ts';
import type { ClusterIndex } from '../model/cluster-index.ts';
import type { ClusterModel } from '../model/cluster-model.ts';
import type { ScenarioConfig } from './scenario-config.ts';
import { rfc3339 } from '../kinds/time.ts';

/** The API server's address: the `kubernetes` service's only endpoint. */
const API_SERVER_IP = '172.18.0.2';
/** Where ClusterIpPool allocates (populate-context.ts): kube's default service range. */
const SERVICE_CIDR = '10.96.0.0/12';

export interface PopulateResult {
  /** Initial replicas of each application Deployment (key ns/name): what churn scales back to. */
  readonly baselines: ReadonlyMap<string, number>;
  /** Serial number the next added node gets. */
  readonly nextNodeSerial: number;
}

/**
 * Writes the scenario's initial cluster straight in its final state: namespaces, nodes and
 * their leases, system services, application Deployments with their ReplicaSets and Running
 * pods, Services, DaemonSets, StatefulSets and CronJobs. Statuses of workloads and all
 * Endpoints/EndpointSlices are left to the controllers (one pass after this returns), so
 * they are exactly what the controllers keep them at later.
 */
export function populateCluster(model: ClusterModel, index: ClusterIndex, rng: Rng, config: ScenarioConfig): PopulateResult {
  const ctx: PopulateContext = {
    model,
    index,
    rng,
    config,
    nowMs: config.clock.now(),
    clusterIps: new ClusterIpPool(rng),
    placer: new NodePlacer(),
    createdAt: rfc3339(config.clock.now()),
    hostIps: new Map(),
  };
  createNamespaces(ctx);
  const nodes = { ...ctx, podCidrInSpec: config.podCidrs };
  for (let serial = 0; serial < config.nodes; serial++) ctx.placer.nodes.push(addNode(nodes, serial).metadata.name);
  createSystemServices(ctx);
  if (config.daemonSets) createDaemonSets(ctx);
  createCoreDns(ctx);
  const baselines = createApps(ctx);
  createStatefulSets(ctx);
  createCronJobs(ctx);
  return { baselines, nextNodeSerial: config.nodes };
}

function createNamespaces(ctx: PopulateContext): void {
  const names = [...SYSTEM_NAMESPACES, ...(ctx.config.daemonSets ? [MONITORING_NAMESPACE] : []), ...appNamespaces(ctx.config)];
  for (const name of names) ctx.model.create(buildNamespace(name));
}

export interface NodeWriter {
  readonly model: ClusterModel;
  readonly index: ClusterIndex;
  readonly rng: Rng;
  readonly nowMs: number;
  /** Show the pod CIDR in spec.podCIDR(s) (default true; ScenarioOptions.podCidrs). */
  readonly podCidrInSpec?: boolean;
}

/** Creates a Ready node on the lowest free pod CIDR, and its Lease. */
export function addNode(ctx: NodeWriter, serial: number): KubeObject {
  const cidrIndex = ctx.index.nodeCidrs.allocate();
  if (cidrIndex === undefined) {
    throw new KubemetaError('SIM_NO_POD_CIDR', 'every pod CIDR of the simulated cluster is in use; remove nodes before adding more');
  }
  const node = ctx.model.create(buildNode({ serial, cidrIndex, nowMs: ctx.nowMs, podCidrInSpec: ctx.podCidrInSpec ?? true }, ctx.rng)).object;
  ctx.model.create(buildNodeLease(node, ctx.nowMs));
  return node;
}

function createSystemServices(ctx: PopulateContext): void {
  const { model } = ctx;
  const port = { name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 };
  model.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], internalTrafficPolicy: 'Cluster', ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack', ports: [port], sessionAffinity: 'None', type: 'ClusterIP',
    },
    status: { loadBalancer: {} },
  });
  const endpointPort = { name: 'https', port: 6443, protocol: 'TCP' };
  model.create({
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: API_SERVER_IP }], ports: [endpointPort] }],
  });
  // The default ServiceCIDR a 1.33 API server creates from --service-cluster-ip-range.
  model.create({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'ServiceCIDR',
    // A uid of its own, not from the scenario's random stream: the ServiceCIDR came after the
    // scenarios' seeds were chosen, and drawing one more uid would change every seeded cluster.
    metadata: { name: 'kubernetes', uid: `5e7c1d12-0000-4000-8000-${ctx.config.seed.toString(16).padStart(12, '0')}` },
    spec: { cidrs: [SERVICE_CIDR] },
    status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: ctx.createdAt, reason: '', message: 'Kubernetes Service CIDR is ready' }] },
  });
  model.create({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [API_SERVER_IP], conditions: { ready: true } }],
    ports: [endpointPort],
  });
}
