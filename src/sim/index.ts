// The simulated cluster (`kubemeta sim`, `kubemeta/testing`): a Kubernetes API server stand-in
// with a model, controllers, a deterministic scenario engine, fault injection and load counters.
export { ClusterModel } from './model/cluster-model.ts';
export type { ClusterModelOptions, ListOptions, ListSnapshot, ModelListener } from './model/cluster-model.ts';
export type { KubeObject, KubeObjectInput, ObjectMeta, OwnerReference, StoredObject, ModelEvent } from './model/objects.ts';
export { RESOURCES, resourceByKind, apiVersionOf } from './model/resources.ts';
export type { ResourceInfo } from './model/resources.ts';
export { SimApiError, STATUS_REASONS } from './model/errors.ts';
export type { StatusReason } from './model/errors.ts';

export { ScenarioEngine } from './scenario/scenario.ts';
export type { ActionCounts, PopulateReport, StepReport, ChurnOptions, ScenarioStats } from './scenario/scenario.ts';
export type { ScenarioOptions, ScenarioConfig } from './scenario/scenario-config.ts';
export { CHURN_ACTIONS, DEFAULT_CHURN_MIX } from './scenario/churn.ts';
export type { ChurnAction, ChurnMix } from './scenario/churn.ts';
export { ControllerManager, startControllers } from './controllers/controller-manager.ts';
export type { ControllerOptions, ControllerStats } from './controllers/controller-manager.ts';

export { createSimApiServer, startSimApiServer } from './http/api-server.ts';
export type { SimApiServer, SimApiServerOptions, SimListenOptions, StartSimApiServerOptions, SimApiServerState } from './http/api-server.ts';
export type { SimFaults, FailureOptions, ExpireTarget, DropMode, FaultState, PendingFailure } from './http/faults.ts';
export type { LoadCounters, LoadStats, WatchCloseReason } from './http/load-counters.ts';
export { renderKubeconfig, writeKubeconfig } from './http/kubeconfig.ts';
export type { KubeconfigOptions } from './http/kubeconfig.ts';
export { generateSimTls } from './http/tls.ts';
export type { SimTlsMaterial, SimTlsOptions } from './http/tls.ts';
export { SIM_KUBERNETES_VERSION } from './http/discovery.ts';
export { SimTokenAuthority } from './http/tokens.ts';
export { createAgentWorkload } from './scenario/agent-workload.ts';
export type { AgentWorkloadOptions } from './scenario/agent-workload.ts';
export type { SimTokenOptions } from './http/tokens.ts';
