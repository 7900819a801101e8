import { appImage, appName, SIDECAR_IMAGES } from '../kinds/catalog.ts';
import type { KubeObject, KubeObjectInput } from '../model/objects.ts';
import { appNamespaces, createRunningPod, createSucceededPod, MONITORING_NAMESPACE, type PopulateContext } from './populate-context.ts';
import { uniquePodName } from '../controllers/replicaset-controller.ts';
import { buildService, type ServicePort } from '../kinds/service-factory.ts';
import { rfc3339 } from '../kinds/time.ts';
import {
  buildCompletedJob, buildCronJob, buildDaemonSet, buildDeployment, buildReplicaSet, buildStatefulSet,
  container, controllerRef, daemonPodLabels, pinnedAffinity, podSpecDefaults, templateHash,
  type AppSpec, type PodTemplate,
} from '../kinds/workload-factory.ts';
import { rollingLimits } from '../kinds/workload-status.ts';
import { revisionOf } from '../controllers/statefulset-controller.ts';

/** The workloads of populate; see populate.ts. Every pod is written Running on its node. */

type Json = Record<string, unknown>;

/** Writes a Deployment, its first ReplicaSet and `replicas` Running pods placed round robin. */
function createDeployment(ctx: PopulateContext, input: KubeObjectInput): KubeObject {
  const { model } = ctx;
  const meta = input.metadata;
  const d = model.create({ ...input, metadata: { ...meta, annotations: { ...meta.annotations, 'deployment.kubernetes.io/revision': '1' } } }).object;
  const spec = d['spec'] as { replicas: number; template: PodTemplate };
  const maxReplicas = spec.replicas + rollingLimits(d).surge;
  const rsInput = buildReplicaSet({ deployment: d, hash: templateHash(spec.template), revision: 1, replicas: spec.replicas, maxReplicas });
  const rs = model.create(rsInput).object;
  const template = (rs['spec'] as { template: PodTemplate }).template;
  const owner = controllerRef(rs);
  const namespace = rs.metadata.namespace as string;
  for (let i = 0; i < spec.replicas; i++) {
    createRunningPod(ctx, { namespace, name: uniquePodName(ctx, namespace, rs.metadata.name), template, owner }, ctx.placer.next());
  }
  return d;
}

/** Replica counts summing to `total`, skewed as real clusters are: many small, a few large. */
function planReplicas(ctx: PopulateContext, total: number, count: number): number[] {
  const weights = Array.from({ length: count }, () => Math.min(Math.exp(0.8 * ctx.rng.normal()), 20));
  const sum = weights.reduce((a, b) => a + b, 0);
  const raw = weights.map((w) => (total * w) / sum);
  const out = raw.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left-- <= 0) break;
    out[i]!++;
  }
  return out;
}

/** Application Deployments (and Services for some). Returns each Deployment's replicas. */
export function createApps(ctx: PopulateContext): Map<string, number> {
  const { rng, config } = ctx;
  const namespaces = appNamespaces(config);
  const replicas = planReplicas(ctx, config.deploymentPods, config.deployments);
  const used = new Set<string>();
  const baselines = new Map<string, number>();
  const withService: AppSpec[] = [];
  for (let i = 0; i < config.deployments; i++) {
    const namespace = rng.pick(namespaces);
    let name = appName(rng);
    for (let n = 2; used.has(`${namespace}/${name}`); n++) name = `${name.replace(/-\d+$/, '')}-${n}`;
    used.add(`${namespace}/${name}`);
    const { image, port } = appImage(rng, namespace, name);
    const app: AppSpec = { namespace, name, image, port, replicas: replicas[i] ?? 0, nativeSidecar: rng.chance(config.nativeSidecarFraction) };
    createDeployment(ctx, buildDeployment(app));
    baselines.set(`${namespace}/${name}`, app.replicas);
    if (rng.chance(config.serviceFraction)) withService.push(app);
  }
  createAppServices(ctx, withService);
  return baselines;
}

/** Services of apps: mostly ClusterIP, some headless, the first a LoadBalancer, the second a NodePort. */
function createAppServices(ctx: PopulateContext, apps: readonly AppSpec[]): void {
  const { rng } = ctx;
  let exposed = 0;
  for (const app of apps) {
    const headless = rng.chance(ctx.config.headlessFraction);
    const type = headless || exposed >= 2 ? 'ClusterIP' : exposed === 0 ? 'LoadBalancer' : 'NodePort';
    if (type !== 'ClusterIP') exposed++;
    const port: ServicePort = { name: 'http', port: headless ? app.port : 80, protocol: 'TCP', targetPort: rng.chance(0.5) ? 'http' : app.port };
    if (type !== 'ClusterIP') port.nodePort = 30000 + exposed * 1000 + rng.int(1000);
    ctx.model.create(
      buildService({
        namespace: app.namespace,
        name: app.name,
        selector: { app: app.name },
        ports: [port],
        clusterIP: headless ? 'None' : ctx.clusterIps.allocate(),
        type,
        labels: { app: app.name },
        ...(type === 'LoadBalancer' ? { externalIPs: ['198.51.100.10'], loadBalancerIP: '203.0.113.10' } : {}),
      }),
    );
  }
}

/** coredns (two replicas) and the kube-dns Service at 10.96.0.10. */
export function createCoreDns(ctx: PopulateContext): void {
  const labels = { 'k8s-app': 'kube-dns' };
  const dns = container('coredns', SIDECAR_IMAGES.coredns, {
    args: ['-conf', '/etc/coredns/Corefile'],
    ports: [
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
      { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
    ],
    resources: { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
  });
  const template: PodTemplate = {
    metadata: { labels },
    spec: { containers: [dns], ...podSpecDefaults(), dnsPolicy: 'Default', priorityClassName: 'system-cluster-critical', serviceAccountName: 'coredns' },
  };
  const input = buildDeployment({ namespace: 'kube-system', name: 'coredns', image: SIDECAR_IMAGES.coredns, port: 53, replicas: 2, nativeSidecar: false }, template);
  input.metadata.labels = labels;
  (input['spec'] as Json)['selector'] = { matchLabels: labels };
  createDeployment(ctx, input);
  const ports = [
    { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
    { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
    { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
  ];
  const svcLabels = { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' };
  ctx.model.create(buildService({ namespace: 'kube-system', name: 'kube-dns', selector: labels, ports, clusterIP: '10.96.0.10', labels: svcLabels }));
}

/** kube-proxy and node-exporter: one host-network pod per node. */
export function createDaemonSets(ctx: PopulateContext): void {
  const sets = [
    buildDaemonSet('kube-system', 'kube-proxy', SIDECAR_IMAGES.kubeProxy, 10249),
    buildDaemonSet(MONITORING_NAMESPACE, 'node-exporter', SIDECAR_IMAGES.nodeExporter, 9100),
  ];
  for (const input of sets) {
    const ds = ctx.model.create(input).object;
    const template = (ds['spec'] as { template: PodTemplate }).template;
    const namespace = ds.metadata.namespace as string;
    for (const node of ctx.placer.nodes) {
      const name = uniquePodName(ctx, namespace, ds.metadata.name);
      const pod = { namespace, name, template, owner: controllerRef(ds), extraLabels: daemonPodLabels(ds), extraSpec: { affinity: pinnedAffinity(node) } };
      createRunningPod(ctx, pod, node);
    }
  }
}

const STATEFUL_APPS = [
  { name: 'postgres', image: 'postgres:16.4', port: 5432 },
  { name: 'kafka', image: 'docker.io/bitnami/kafka:3.8.0', port: 9092 },
  { name: 'zookeeper', image: 'zookeeper:3.9.2', port: 2181 },
  { name: 'rabbitmq', image: 'rabbitmq:3.13.7', port: 5672 },
];

/** StatefulSets of three pods `<name>-0..2`, each with its headless governing Service. */
export function createStatefulSets(ctx: PopulateContext): void {
  const namespaces = appNamespaces(ctx.config);
  for (let i = 0; i < ctx.config.statefulSets; i++) {
    const namespace = namespaces[i % namespaces.length] as string;
    const kind = STATEFUL_APPS[Math.floor(i / namespaces.length) % STATEFUL_APPS.length]!;
    const round = Math.floor(i / (STATEFUL_APPS.length * namespaces.length));
    const name = round === 0 ? kind.name : `${kind.name}-${round + 1}`;
    const ports = [{ name: 'tcp', port: kind.port, protocol: 'TCP', targetPort: kind.port }];
    ctx.model.create(buildService({ namespace, name, selector: { app: name }, ports, clusterIP: 'None', labels: { app: name } }));
    const sts = ctx.model.create(buildStatefulSet(namespace, name, kind.image, kind.port, 3)).object;
    const template = (sts['spec'] as { template: PodTemplate }).template;
    for (let ordinal = 0; ordinal < 3; ordinal++) {
      const pod = `${name}-${ordinal}`;
      const extraLabels = { 'apps.kubernetes.io/pod-index': String(ordinal), 'controller-revision-hash': revisionOf(sts), 'statefulset.kubernetes.io/pod-name': pod };
      const input = { namespace, name: pod, template, owner: controllerRef(sts), extraLabels, extraSpec: { hostname: pod, subdomain: name }, fixedName: true };
      createRunningPod(ctx, input, ctx.placer.next());
    }
  }
}

const CRON_JOBS = ['nightly-report', 'db-backup', 'cache-warmer', 'log-rotate', 'invoice-run'];

/** CronJobs with the Job of their last run, complete, and its Succeeded pod. */
export function createCronJobs(ctx: PopulateContext): void {
  const namespaces = appNamespaces(ctx.config);
  const scheduled = Math.floor(ctx.nowMs / 3_600_000) * 3_600_000;
  const startedAt = rfc3339(scheduled);
  const finishedAt = rfc3339(Math.min(ctx.nowMs, scheduled + 42_000));
  for (let i = 0; i < ctx.config.cronJobs; i++) {
    const namespace = namespaces[i % namespaces.length] as string;
    const round = Math.floor(i / (CRON_JOBS.length * namespaces.length));
    const name = `${CRON_JOBS[Math.floor(i / namespaces.length) % CRON_JOBS.length]}${round === 0 ? '' : `-${round + 1}`}`;
    const input = buildCronJob(namespace, name, `registry.example.com/${namespace}/${name}:1.0.${i % 10}`);
    const cron = ctx.model.create({ ...input, status: { lastScheduleTime: startedAt, lastSuccessfulTime: finishedAt } }).object;
    const job = ctx.model.create(buildCompletedJob(cron, scheduled, startedAt, finishedAt)).object;
    const template = (job['spec'] as { template: PodTemplate }).template;
    const extraLabels = { 'batch.kubernetes.io/controller-uid': job.metadata.uid, 'controller-uid': job.metadata.uid };
    const pod = { namespace, name: uniquePodName(ctx, namespace, job.metadata.name), template, owner: controllerRef(job), extraLabels };
    createSucceededPod(ctx, pod, ctx.placer.next());
  }
}
