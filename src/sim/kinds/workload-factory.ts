import { SIDECAR_IMAGES } from './catalog.ts';
import { freezeShared } from '../model/json.ts';
import { NAME_ALPHABET } from '../../core/index.ts';
import type { KubeObject, KubeObjectInput, OwnerReference } from '../model/objects.ts';

/**
 * Builders for workload objects (Deployment, ReplicaSet, DaemonSet, StatefulSet, CronJob,
 * Job) and their pod templates, with the defaults the API server fills in, so that what the
 * sim serves looks like what `kubectl get -o json` shows on a real cluster.
 */
export interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

/** One application of the scenario: a Deployment (and maybe a Service) of this shape. */
export interface AppSpec {
  readonly namespace: string;
  readonly name: string;
  readonly image: string;
  readonly port: number;
  readonly replicas: number;
  /** Adds a native sidecar: an init container with restartPolicy Always (Kubernetes 1.29+). */
  readonly nativeSidecar: boolean;
}

export function container(name: string, image: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    image,
    ...extra,
    imagePullPolicy: 'IfNotPresent',
    resources: extra['resources'] ?? { requests: { cpu: '10m', memory: '32Mi' } },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  };
}

function appContainer(app: AppSpec): Record<string, unknown> {
  return container('app', app.image, {
    ports: [{ name: 'http', containerPort: app.port, protocol: 'TCP' }],
    env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } }],
    readinessProbe: {
      httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' },
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    resources: { limits: { memory: '512Mi' }, requests: { cpu: '100m', memory: '256Mi' } },
  });
}

export function podSpecDefaults(): Record<string, unknown> {
  return {
    dnsPolicy: 'ClusterFirst',
    restartPolicy: 'Always',
    schedulerName: 'default-scheduler',
    securityContext: {},
    terminationGracePeriodSeconds: 30,
  };
}

/** The pod template of an app: one init container, the app and an envoy sidecar. */
export function appPodTemplate(app: AppSpec): PodTemplate {
  const init = [
    container('wait-for-dns', SIDECAR_IMAGES.busybox, {
      command: ['sh', '-c', 'until nslookup kube-dns.kube-system.svc.cluster.local; do sleep 1; done'],
    }),
  ];
  if (app.nativeSidecar) {
    init.push(container('log-shipper', SIDECAR_IMAGES.fluentBit, { restartPolicy: 'Always', args: ['-c', '/fluent-bit/etc/fluent-bit.conf'] }));
  }
  const envoy = container('envoy', SIDECAR_IMAGES.envoy, {
    args: ['--config-path', '/etc/envoy/envoy.yaml'],
    ports: [{ name: 'envoy-admin', containerPort: 9901, protocol: 'TCP' }],
  });
  return {
    metadata: {
      labels: { app: app.name, 'app.kubernetes.io/name': app.name, 'app.kubernetes.io/part-of': app.namespace },
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9901' },
    },
    spec: { initContainers: init, containers: [appContainer(app), envoy], ...podSpecDefaults() },
  };
}

export function buildDeployment(app: AppSpec, template: PodTemplate = appPodTemplate(app)): KubeObjectInput {
  freezeShared(template);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: app.name, namespace: app.namespace, labels: { app: app.name } },
    spec: {
      progressDeadlineSeconds: 600,
      replicas: app.replicas,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: app.name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template,
    },
  };
}

/**
 * The pod-template-hash of a template, in Kubernetes' format: a 32-bit FNV-1a hash whose
 * decimal digits are mapped onto the safe name alphabet (hence hashes such as 7c5ddbdf54).
 * Zero-padded to 10 characters.
 */
export function templateHash(template: unknown): string {
  // Stored objects are immutable, so a template object's hash never changes: compute it once.
  const cacheable = typeof template === 'object' && template !== null;
  const cached = cacheable ? hashes.get(template) : undefined;
  if (cached !== undefined) return cached;
  const hash = fnvHash(JSON.stringify(template));
  if (cacheable) hashes.set(template, hash);
  return hash;
}

const hashes = new WeakMap<object, string>();

function fnvHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  const digits = String(h >>> 0).padStart(10, '0');
  let out = '';
  for (let i = 0; i < digits.length; i++) out += NAME_ALPHABET[digits.charCodeAt(i) % NAME_ALPHABET.length];
  return out;
}

export function controllerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export interface ReplicaSetInput {
  readonly deployment: KubeObject;
  readonly hash: string;
  readonly revision: number;
  readonly replicas: number;
  /** desired + maxSurge, recorded as the deployment.kubernetes.io/max-replicas annotation. */
  readonly maxReplicas: number;
}

/** A Deployment's ReplicaSet for one template: `<deployment>-<hash>`, labelled with the hash. */
export function buildReplicaSet(input: ReplicaSetInput): KubeObjectInput {
  const d = input.deployment;
  const spec = d['spec'] as { replicas?: number; selector: { matchLabels?: Record<string, string> }; template: PodTemplate };
  const labels = { ...spec.template.metadata.labels, 'pod-template-hash': input.hash };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata.name}-${input.hash}`,
      namespace: d.metadata.namespace,
      labels,
      annotations: replicaSetAnnotations(spec.replicas ?? 1, input.maxReplicas, input.revision),
      ownerReferences: [controllerRef(d)],
    },
    spec: {
      replicas: input.replicas,
      selector: { ...spec.selector, matchLabels: { ...spec.selector.matchLabels, 'pod-template-hash': input.hash } },
      template: { ...spec.template, metadata: { ...spec.template.metadata, labels } },
    },
    status: { replicas: 0 },
  };
}

export function replicaSetAnnotations(desired: number, maxReplicas: number, revision: number): Record<string, string> {
  return {
    'deployment.kubernetes.io/desired-replicas': String(desired),
    'deployment.kubernetes.io/max-replicas': String(maxReplicas),
    'deployment.kubernetes.io/revision': String(revision),
  };
}

/** A node-level agent: one pod per node, on the host network (podIP = the node's IP). */
export function buildDaemonSet(namespace: string, name: string, image: string, port: number): KubeObjectInput {
  const labels = { 'app.kubernetes.io/name': name, 'k8s-app': name };
  const main = container(name, image, {
    ports: [{ name: 'metrics', containerPort: port, hostPort: port, protocol: 'TCP' }],
    resources: { limits: { memory: '180Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace, labels, annotations: { 'deprecated.daemonset.template.generation': '1' } },
    spec: {
      revisionHistoryLimit: 10,
      selector: { matchLabels: { 'k8s-app': name } },
      template: freezeShared({
        metadata: { labels },
        spec: {
          containers: [main],
          ...podSpecDefaults(),
          hostNetwork: true,
          dnsPolicy: 'ClusterFirstWithHostNet',
          priorityClassName: 'system-node-critical',
          tolerations: [{ operator: 'Exists' }],
        },
      }),
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
    },
  };
}

/** A StatefulSet with its headless governing service name; pods are `<name>-<ordinal>`. */
export function buildStatefulSet(namespace: string, name: string, image: string, port: number, replicas: number): KubeObjectInput {
  const labels = { app: name, 'app.kubernetes.io/name': name };
  const main = container(name, image, {
    ports: [{ name: 'tcp', containerPort: port, protocol: 'TCP' }],
    resources: { limits: { memory: '1Gi' }, requests: { cpu: '250m', memory: '512Mi' } },
  });
  const init = container('init-permissions', SIDECAR_IMAGES.busybox, { command: ['sh', '-c', 'chown -R 999:999 /data'] });
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace, labels },
    spec: {
      podManagementPolicy: 'OrderedReady',
      replicas,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: name } },
      serviceName: name,
      template: freezeShared({ metadata: { labels }, spec: { initContainers: [init], containers: [main], ...podSpecDefaults() } }),
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    },
  };
}

export function buildCronJob(namespace: string, name: string, image: string): KubeObjectInput {
  const template = freezeShared({
    metadata: { labels: { app: name } },
    spec: { containers: [container(name, image, { args: ['--once'] })], ...podSpecDefaults(), restartPolicy: 'OnFailure' },
  });
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace },
    spec: {
      concurrencyPolicy: 'Forbid',
      failedJobsHistoryLimit: 1,
      jobTemplate: { metadata: {}, spec: { backoffLimit: 6, completions: 1, parallelism: 1, template } },
      schedule: '0 * * * *',
      successfulJobsHistoryLimit: 3,
      suspend: false,
    },
  };
}

/** The Job a CronJob started at `scheduledMs`, already complete (the sim runs no jobs). */
export function buildCompletedJob(cronJob: KubeObject, scheduledMs: number, startedAt: string, finishedAt: string): KubeObjectInput {
  const spec = (cronJob['spec'] as { jobTemplate: { spec: { template: PodTemplate } & Record<string, unknown> } }).jobTemplate.spec;
  const name = `${cronJob.metadata.name}-${Math.floor(scheduledMs / 60_000)}`;
  const done = (type: string, reason: string, message: string): Record<string, unknown> => ({
    type, status: 'True', lastProbeTime: finishedAt, lastTransitionTime: finishedAt, reason, message,
  });
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: cronJob.metadata.namespace, labels: { 'batch.kubernetes.io/job-name': name, 'job-name': name }, ownerReferences: [controllerRef(cronJob)] },
    spec: { ...spec, template: { ...spec.template, metadata: { labels: { ...spec.template.metadata.labels, 'batch.kubernetes.io/job-name': name, 'job-name': name } } } },
    status: {
      conditions: [
        done('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods'),
        done('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods'),
      ],
      startTime: startedAt,
      completionTime: finishedAt,
      succeeded: 1,
      ready: 0,
      terminating: 0,
      uncountedTerminatedPods: {},
    },
  };
}

/** Required node affinity on metadata.name: how a DaemonSet pins its pod to one node. */
export function pinnedAffinity(node: string): Record<string, unknown> {
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
      },
    },
  };
}

/** Labels the DaemonSet controller adds to its pods. */
export function daemonPodLabels(ds: KubeObject): Record<string, string> {
  const template = (ds['spec'] as { template: PodTemplate }).template;
  return { 'controller-revision-hash': templateHash(template), 'pod-template-generation': String(ds.metadata.generation ?? 1) };
}
