// The demo-agents module: simulated node agents (`kubemeta agents`, `kubemeta demo`) that record
// UPID-keyed synthetic telemetry and answer the telemetry module's query protocol with their
// local metadata, as a real node agent would. Not product: it exists to show and measure the
// query path (docs/agents.md); the query language, protocol and broker are src/telemetry.

export type { RunAgentsOptions, FleetStats } from './run-agents.ts';
export { runAgents, AgentFleet } from './run-agents.ts';
export type { SimulatedAgentOptions, SimulatedAgentStats } from './simulated-agent.ts';
export { SimulatedAgent } from './simulated-agent.ts';
export type { TelemetryRow } from './telemetry-ring.ts';
export type { AgentsConfig, AgentsOptions } from './agents-config.ts';
export { agentsConfigSchema } from './agents-config.ts';
