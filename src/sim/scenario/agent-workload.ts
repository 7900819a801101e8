// The node agents of kubemeta as a workload of the simulated cluster: a namespace, the agents'
// ServiceAccount and a DaemonSet whose pods run with it, one per node (the sim's DaemonSet
// controller places them, also on nodes that join later). With the sim's TokenRequest, each pod
// gets the projected token a kubelet would mount (deploy/issued-credentials/agent-daemonset.yaml).
import type { ClusterModel } from '../model/cluster-model.ts';
import type { KubeObjectInput } from '../model/objects.ts';
import { container, podSpecDefaults } from '../kinds/workload-factory.ts';

export interface AgentWorkloadOptions {
  readonly namespace?: string;
  readonly serviceAccount?: string;
  readonly daemonSet?: string;
}

/** Creates what is missing of: the namespace, the ServiceAccount, the DaemonSet. Returns the names. */
export function createAgentWorkload(model: ClusterModel, options: AgentWorkloadOptions = {}): { namespace: string; serviceAccount: string; daemonSet: string } {
  const namespace = options.namespace ?? 'kubemeta';
  const serviceAccount = options.serviceAccount ?? 'kubemeta-agent';
  const daemonSet = options.daemonSet ?? 'kubemeta-agent';
  const ensure = (input: KubeObjectInput): void => {
    if (!model.get(input.kind, input.metadata.namespace, input.metadata.name as string)) model.create(input);
  };
  ensure({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace }, spec: { finalizers: ['kubernetes'] } });
  ensure({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace } });
  const labels = { 'app.kubernetes.io/name': daemonSet };
  ensure({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: daemonSet, namespace, labels, annotations: { 'deprecated.daemonset.template.generation': '1' } },
    spec: {
      revisionHistoryLimit: 10,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [container('agent', 'ghcr.io/kubemeta/node-agent:0.1.0', { env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } }] })],
          ...podSpecDefaults(),
          serviceAccountName: serviceAccount,
          tolerations: [{ operator: 'Exists' }],
        },
      },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
    },
  });
  return { namespace, serviceAccount, daemonSet };
}
