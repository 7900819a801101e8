// The bus module's face: publishing committed batches on NATS (one subject per scope), scope
// heartbeats, the replay server and the agent registry (docs/design.md §3, §4, §7, §9, §11; wire
// protocol §6–§8). Error codes: docs/errors.md, section "bus".
export type { CommittedUpdate, CommittedHistory, ScopePublisherOptions, PublisherStats, PublishFaults } from './publisher.ts';
export { ScopePublisher } from './publisher.ts';
export type { ScopeHeads, ScopeHeartbeatOptions, HeartbeatStats } from './heartbeat.ts';
export { ScopeHeartbeat, HEARTBEAT_STREAM_HEADER, HEARTBEAT_HEAD_HEADER } from './heartbeat.ts';
export type { ReplayLog, ReplayServerOptions } from './replay-config.ts';
export type { ReplayServerState, ReplayOutcome, ReplayServerStats } from './replay-server.ts';
export { ReplayServer, REQUESTER_HEADER } from './replay-server.ts';
export type { AgentRegistryLog, AgentRegistryOptions, AgentRegistryStats } from './agent-registry.ts';
export { AgentRegistry } from './agent-registry.ts';
export { BusErrorCode, BusError, PublishError, RequestRefusedError } from './errors.ts';
export { CredentialRefusedError } from './errors.ts';
export type { AuthorizedAgent, CredentialIssuerOptions, CredentialIssuerStats } from './credential-issuer.ts';
export { CredentialIssuer } from './credential-issuer.ts';
export type { OperatorSetup, UserCreds } from './nats-jwt.ts';
export { AgentCredentialSigner, createOperatorSetup, isUserPublicKey, renderOperatorNatsConfig } from './nats-jwt.ts';
export type { ProcessPodView, ProcessRegistryOptions, ProcessRegistryStats } from './process-registry.ts';
export { ProcessRegistry } from './process-registry.ts';
