import type { Command } from 'commander';
import type { z } from 'zod';
import { checkNatsCredentials, loadConfig, natsCredentialsShape } from '../config/index.ts';
import { connectNatsWith, natsCredentialOptions, redactNatsUrl } from '../service/index.ts';
import { agentsConfigSchema, runAgents, type AgentFleet, type FleetStats } from '../demo-agents/index.ts';
import type { NatsConnector } from '../telemetry/index.ts';
import { createLogger } from './logger.ts';
import { addOptions, NATS_CREDENTIAL_OPTIONS, type OptionSpec } from './options.ts';
import type { CommandContext } from './serve-command.ts';
import { pause } from './shutdown.ts';

/**
 * `kubemeta agents` options: the fleet's (demo-agents/agents-config.ts) and the NATS credentials
 * `serve` and `console` take. They are added here, not in the demo-agents module, because the
 * demo-agents module may not import the config module (ARCHITECTURE.md).
 */
export const agentsCommandSchema = agentsConfigSchema.extend(natsCredentialsShape).superRefine(checkNatsCredentials);
export type AgentsCommandConfig = Readonly<z.output<typeof agentsCommandSchema>>;

/** `kubemeta agents` flags; each key is an option of agentsCommandSchema (a test checks both ways). */
export const AGENTS_OPTIONS: readonly OptionSpec[] = [
  { key: 'nats', help: 'NATS servers, comma-separated or repeated (default nats://127.0.0.1:4222)', list: true },
  ...NATS_CREDENTIAL_OPTIONS,
  { key: 'cluster', help: 'the cluster name kubemeta serve publishes (default "default")' },
  { key: 'nodes', help: '"all" (and follow nodes joining and leaving) or how many nodes, the first N by name (default all)' },
  { key: 'rate', help: 'synthetic HTTP request rows recorded per second per agent (default 20)' },
  { key: 'seed', help: 'seed of the synthetic processes and rows (default 1)' },
  { key: 'ringCapacity', help: 'rows each agent keeps; the oldest are overwritten (default 20000)' },
  { key: 'agentsPerConnection', help: 'agents sharing one NATS connection; 1 with serve --require-scoped-inboxes (default 50)' },
  { key: 'summaryIntervalMs', help: 'how often the summary line is printed (default 5000)' },
  { key: 'logLevel', help: 'debug | info | warn | error | silent (default info)' },
];

/** Adds `kubemeta agents` to the program; `done` receives the exit code. */
export function registerAgentsCommand(program: Command, ctx: CommandContext, done: (code: number) => void): void {
  addOptions(
    program
      .command('agents')
      .description('run simulated node agents: synthetic telemetry keyed by UPID, answering queries from the console (docs/agents.md)')
      .option('--config <file>', 'YAML/JSON config file (key "agents")'),
    AGENTS_OPTIONS,
  ).action(async (flags: Record<string, unknown>) => done(await runAgentsCommand(flags, ctx, process.stdout)));
}

export function loadAgentsConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): AgentsCommandConfig {
  const { config: file, ...rest } = flags;
  return loadConfig(agentsCommandSchema, { flags: rest, env, ...(typeof file === 'string' ? { file, fileSection: 'agents' } : {}) });
}

/**
 * `kubemeta agents`: one simulated node agent per node (runAgents) until SIGINT/SIGTERM (then
 * exit code 0), with a summary line on stdout every `--summary-interval-ms`.
 *
 * Every connection logs in with `--nats-user` … `--nats-tls-key` and is opened by the service's
 * connector: credentials or TLS files that NATS refuses end the command at once (exit code 1,
 * SERVICE_NATS_CONFIG, saying what to check) instead of being retried without end by every agent.
 */
export async function runAgentsCommand(flags: Record<string, unknown>, ctx: CommandContext, out: NodeJS.WritableStream): Promise<number> {
  const config = loadAgentsConfig(flags, ctx.env);
  const credentials = natsCredentialOptions(config);
  const logger = createLogger(config.logLevel, 'kubemeta-agents');
  const servers = config.nats.map(redactNatsUrl);
  const connect: NatsConnector = (options, signal) =>
    connectNatsWith(options, {
      ...(signal ? { signal } : {}),
      urlsOption: '--nats',
      onRetry: (err, retryInMs) => logger.warn({ err, retryInMs, servers }, 'cannot connect to NATS yet; retrying'),
    });
  logger.info({ nats: servers, cluster: config.cluster, nodes: config.nodes }, 'starting simulated agents (NATS and the service are waited for)');
  let fleet: AgentFleet;
  try {
    fleet = await runAgents({
      servers: [...config.nats], cluster: config.cluster, nodes: config.nodes, ratePerSecond: config.rate, seed: config.seed,
      ringCapacity: config.ringCapacity, agentsPerConnection: config.agentsPerConnection, logger, signal: ctx.stopRequested,
      natsOptions: credentials, connect,
    });
  } catch (err) {
    if (ctx.stopRequested.aborted) return 0; // Ctrl-C before NATS or the service answered
    throw err;
  }
  const started = Date.now();
  try {
    while (!ctx.stopRequested.aborted) {
      out.write(`${summaryLine(fleet.stats(), Date.now() - started)}\n`);
      // Removes its abort listener each round: one left per line was a listener leak, and
      // Node's MaxListenersExceededWarning on stderr after the eleventh line.
      await pause(config.summaryIntervalMs, ctx.stopRequested);
    }
  } finally {
    await fleet.close();
  }
  logger.info({}, 'simulated agents stopped');
  return 0;
}

/** One line: agents and their sync, processes, rows, queries, hydration throughput. */
export function summaryLine(s: FleetStats, elapsedMs: number): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  const hydration = s.hydrateMs > 0 ? `, hydration ${n(Math.round(s.hydratedRows / (s.hydrateMs / 1000)))} rows/s` : '';
  return (
    `${(elapsedMs / 1000).toFixed(0).padStart(4)}s  agents: ${n(s.agents)} connected (${s.connections} NATS connection${s.connections === 1 ? '' : 's'}), ${n(s.inSync)} in sync` +
    `  |  ${n(s.activeProcesses)} processes, rows: ${n(s.rowsRecorded)} recorded, ${n(s.rowsHeld)} held` +
    `  |  queries: ${n(s.queriesAnswered)} answered, ${n(s.queriesRefused)} refused${hydration}`
  );
}
