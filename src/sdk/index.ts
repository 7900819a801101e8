// The consumer SDK (`kubemeta/sdk`): NodeAgentClient for one node scope (UPID hydration) and
// ClusterClient for the cluster scope (query routing), both keeping a local state in step with
// the service by gap detection and replay. Usage and guarantees: docs/sdk.md. Contract:
// docs/wire-protocol.md §5–§8.

export type { NodeAgentClientOptions } from './node-agent.ts';
export { NodeAgentClient } from './node-agent.ts';
export { ScopeClient } from './scope-client.ts';
export type { ClusterClientOptions } from './cluster-client.ts';
export { ClusterClient } from './cluster-client.ts';
export type { ClientOptions } from './client-options.ts';
export type { ClientState, ClientStats } from './client-core.ts';
export type { SdkConnection, SdkMsg, ConnectionSource } from './connection.ts';
export { HEARTBEAT_STREAM_HEADER, HEARTBEAT_HEAD_HEADER } from './connection.ts';

export type { StateView, ListOptions, OwnerLink, IpOwner, IpClass, StateCounts } from './state-view.ts';
export type { Change, KubeObject, RemoveReason } from './changes.ts';
export type { Status, StatusType, BootstrapReason, GapReason } from './status.ts';
export { STATUS_TYPES, statusChannelName } from './status.ts';
export type { Hydration } from './hydration.ts';
export type { ProcessEvent, ProcessReporterStats } from './process-reporter.ts';
export type { ProcessQueryOptions } from './process-queries.ts';
export type { QueryFilter } from './query-router.ts';
export type { LabelSelector, LabelRequirement } from './label-selector.ts';
export { parseLabelSelector } from './label-selector.ts';

// Lower-level pieces for consumers that want their own wiring (a UI that keeps several scopes).
export type { ReplayClientOptions, ReplayHandler, ReplayPosition, ReplayResult } from './replay-client.ts';
export { ReplayClient } from './replay-client.ts';
export type { ScopeSubscriptionOptions, ScopeSubscriptionState, SubscriptionStats } from './scope-subscription.ts';
export { ScopeSubscription } from './scope-subscription.ts';
export type { LocalStateOptions, AppliedUpdate, ScopeSink } from './local-state.ts';
export { LocalState } from './local-state.ts';
export type { StatusHubOptions } from './status.ts';
export { StatusHub } from './status.ts';

export {
  SdkErrorCode,
  SdkError,
  isSdkError,
  SdkInvalidArgumentError,
  ReplayRefusedError,
  ReplayTimeoutError,
  ReplayLostError,
  ServiceUnavailableError,
  RegisterAgentError,
  PersistenceError,
  BadMessageError,
  ClientClosedError,
  CredentialsRefusedError,
  CredentialsExpiredError,
  ProcessReportRefusedError,
  ProcessQueryError,
} from './errors.ts';
export type { AgentCredentials, IssuedCredentialsOptions } from './issued-credentials.ts';
export { IssuedCredentials, requestAgentCredentials } from './issued-credentials.ts';
