// The naive design (issue 7, bench/control-plane.ts): node agents that each run their own
// @kubernetes/client-node informers against the API server, several agents per process.
// Each agent is what a telemetry DaemonSet pod typically does: pods of its node
// (fieldSelector=spec.nodeName=<node>) plus services, namespaces, replicasets and deployments
// cluster-wide, one ListWatch each, with the typed API's list function (one unpaginated LIST,
// then a watch from its resourceVersion) and the README's restart-on-error pattern.
//
// Run by the bench as a child process with an IPC channel:
//   BENCH_AGENTS='<json: NaiveAgentsConfig>' node --import tsx bench/lib/naive-agents.ts
// It reports {type:'synced', ...} once every informer of every agent has listed and opened its
// watch, and keeps following the watches until it is killed. Until then it prints its progress
// to stderr every 30 s.
import { readFileSync } from 'node:fs';
import { AppsV1Api, CoreV1Api, KubeConfig, ListWatch, Watch, type KubernetesObject, type ListPromise } from '@kubernetes/client-node';

export interface NaiveAgentsConfig {
  kubeconfig: string;
  nodes: string[];
  /** Delay before an informer that stopped on an error is started again (client-node README: 5 s). */
  retryMs?: number;
}

export interface NaiveAgentsSynced {
  type: 'synced';
  agents: number;
  informers: number;
  /** Objects held in all informer caches at sync time. */
  objects: number;
  /** Informer errors seen (each followed by a restart after retryMs). */
  errors: number;
  ms: number;
}

const config = JSON.parse(process.env['BENCH_AGENTS'] ?? '{}') as NaiveAgentsConfig;
const kubeconfigText = readFileSync(config.kubeconfig, 'utf8');
const retryMs = config.retryMs ?? 5_000;
let errors = 0;
const started = performance.now();
// The bench went away: so do its agents.
process.on('disconnect', () => process.exit(0));
const all: Array<ListWatch<KubernetesObject>> = [];
const progress = { listsStarted: 0, listsDone: 0, informersSynced: 0 };
const progressTimer = setInterval(() => console.error(`naive agents: ${JSON.stringify({ ...progress, informers: all.length, errors, s: Math.round((performance.now() - started) / 1000) })}`), 30_000);

/** Resolves once the informer has listed and its watch is open (start() resolves then, or after an error). */
function run<T extends KubernetesObject>(path: string, list: ListPromise<T>, fieldSelector?: string): Promise<void> {
  // Each agent is its own process in reality: its own kubeconfig, clients and connections.
  const counted: ListPromise<T> = async () => {
    progress.listsStarted++;
    const result = await list();
    progress.listsDone++;
    return result;
  };
  const informer = new ListWatch<T>(path, new Watch(kc()), counted, false, undefined, fieldSelector);
  all.push(informer as unknown as ListWatch<KubernetesObject>);
  return new Promise((resolve) => {
    let synced = false;
    let failed = false;
    informer.on('error', (err) => {
      errors++;
      failed = true;
      if (errors <= 5) console.error(`informer ${path}${fieldSelector ? `?${fieldSelector}` : ''}: ${String((err as Error)?.message ?? err)}`);
      setTimeout(() => void start(), retryMs);
    });
    const start = async (): Promise<void> => {
      failed = false;
      await informer.start();
      if (!synced && !failed) {
        synced = true;
        progress.informersSynced++;
        resolve();
      }
    };
    void start();
  });
}

function kc(): KubeConfig {
  const k = new KubeConfig();
  k.loadFromString(kubeconfigText);
  return k;
}

async function agent(node: string): Promise<void> {
  const k = kc();
  const core = k.makeApiClient(CoreV1Api);
  const apps = k.makeApiClient(AppsV1Api);
  const onNode = `spec.nodeName=${node}`;
  await Promise.all([
    run('/api/v1/pods', () => core.listPodForAllNamespaces({ fieldSelector: onNode }), onNode),
    run('/api/v1/services', () => core.listServiceForAllNamespaces()),
    run('/api/v1/namespaces', () => core.listNamespace()),
    run('/apis/apps/v1/replicasets', () => apps.listReplicaSetForAllNamespaces()),
    run('/apis/apps/v1/deployments', () => apps.listDeploymentForAllNamespaces()),
  ]);
}

await Promise.all(config.nodes.map((node) => agent(node)));
const synced: NaiveAgentsSynced = {
  type: 'synced',
  agents: config.nodes.length,
  informers: all.length,
  objects: all.reduce((n, i) => n + i.list().length, 0),
  errors,
  ms: Math.round(performance.now() - started),
};
clearInterval(progressTimer);
process.send?.(synced);
