// The simulated cluster (`kubemeta sim`, `kubemeta/testing`): a Kubernetes API server stand-in
// with a model, controllers, a deterministic scenario engine, fault injection and load counters.
export { ClusterModel } from './cluster-model.ts';
export type { ClusterModelOptions, ListOptions, ListSnapshot, ModelListener } from './cluster-model.ts';
export type { KubeObject, KubeObjectInput, ObjectMeta, OwnerReference, StoredObject, ModelEvent, WatchEventType } from './objects.ts';
export { RESOURCES, resourceByKind, apiVersionOf } from './resources.ts';
export type { ResourceInfo } from './resources.ts';
export { SimApiError, STATUS_REASONS } from './errors.ts';
export type { StatusReason } from './errors.ts';

export { ScenarioEngine } from './scenario.ts';
export type { ActionCounts, PopulateReport, StepReport, ChurnOptions, ScenarioStats } from './scenario.ts';
export type { ScenarioOptions, ScenarioConfig } from './scenario-config.ts';
export { CHURN_ACTIONS, DEFAULT_CHURN_MIX } from './churn.ts';
export type { ChurnAction, ChurnMix } from './churn.ts';
export { ControllerManager, startControllers } from './controller-manager.ts';
export type { ControllerOptions, ControllerStats } from './controller-manager.ts';

export { createSimApiServer, startSimApiServer } from './api-server.ts';
export type { SimApiServer, SimApiServerOptions, SimListenOptions, StartSimApiServerOptions, SimApiServerState } from './api-server.ts';
export type { SimFaults, FailureOptions, ExpireTarget, DropMode, FaultState, PendingFailure } from './faults.ts';
export type { LoadCounters, LoadStats, WatchCloseReason } from './load-counters.ts';
export { renderKubeconfig, writeKubeconfig } from './kubeconfig.ts';
export type { KubeconfigOptions } from './kubeconfig.ts';
export { generateSimTls } from './tls.ts';
export type { SimTlsMaterial, SimTlsOptions } from './tls.ts';
export { SIM_KUBERNETES_VERSION } from './discovery.ts';
export { SimTokenAuthority } from './tokens.ts';
export { createAgentWorkload } from './agent-workload.ts';
export type { AgentWorkloadOptions } from './agent-workload.ts';
export type { SimTokenOptions } from './tokens.ts';
