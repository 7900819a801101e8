import type { Command } from 'commander';
import { loadConfig } from '../config/index.ts';
import { AutocompleteIndex, consoleConfigSchema, startConsoleServer, type ConsoleConfig } from '../console/index.ts';
import { ClusterClient } from '../sdk/index.ts';
import { connectQueryBroker, type ConnectedQueryBroker } from '../telemetry/index.ts';
import { createLogger } from './logger.ts';
import { addOptions, type OptionSpec } from './options.ts';
import type { CommandContext } from './serve-command.ts';
import { readTokenFile } from './serve-console.ts';

/** `kubemeta console` flags; each key is an option of consoleConfigSchema (a test checks both ways). */
export const CONSOLE_OPTIONS: readonly OptionSpec[] = [
  { key: 'nats', help: 'NATS servers, comma-separated or repeated (default nats://127.0.0.1:4222)', list: true },
  { key: 'cluster', help: 'a cluster to follow; repeat for several (default "default")', list: true },
  { key: 'http', help: 'host:port of the API (default 127.0.0.1:8090)' },
  { key: 'tokenFile', help: 'file holding the bearer token the API requires (default: no auth)' },
  { key: 'corsOrigins', help: 'origins whose scripts may call the API, comma-separated (default: none)', list: true },
  { key: 'retentionMs', help: 'how long deleted entities stay findable (default 3600000)' },
  { key: 'logLevel', help: 'debug | info | warn | error | silent (default info)' },
];

/** Adds `kubemeta console` to the program; `done` receives the exit code. */
export function registerConsoleCommand(program: Command, ctx: CommandContext, done: (code: number) => void): void {
  addOptions(program.command('console').description('serve the web console and its API (autocomplete, entities, status) for one or more clusters').option('--config <file>', 'YAML/JSON config file (key "console")'), CONSOLE_OPTIONS)
    .action(async (flags: Record<string, unknown>) => done(await runConsole(flags, ctx)));
}

export function loadConsoleConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): ConsoleConfig {
  const { config: file, ...rest } = flags;
  return loadConfig(consoleConfigSchema, { flags: rest, env, ...(typeof file === 'string' ? { file, fileSection: 'console' } : {}) });
}

/**
 * `kubemeta console`: one ClusterClient per `--cluster`, all feeding one autocomplete index,
 * and the HTTP JSON API on `--http` until SIGINT/SIGTERM.
 */
export async function runConsole(flags: Record<string, unknown>, ctx: CommandContext): Promise<number> {
  const config = loadConsoleConfig(flags, ctx.env);
  const token = config.tokenFile === undefined ? undefined : readTokenFile(config.tokenFile, '--token-file');
  const logger = createLogger(config.logLevel, 'kubemeta-console');
  const clients: ClusterClient[] = [];
  const brokers = new Map<string, ConnectedQueryBroker>();
  try {
    logger.info({ nats: config.nats, clusters: config.cluster }, 'connecting to NATS (retried until it answers)');
    for (const cluster of config.cluster) {
      const client = await ClusterClient.connect({
        servers: [...config.nats], cluster, retentionMs: config.retentionMs, logger: logger.child({ cluster }), signal: ctx.stopRequested,
      }).catch((err: unknown) => {
        if (ctx.stopRequested.aborted) return undefined; // Ctrl-C while NATS did not answer
        throw err;
      });
      if (!client) return 0;
      clients.push(client);
      // The query box (POST /api/query): queries go to the node agents that the client routes to.
      const broker = await connectQueryBroker({ servers: [...config.nats], cluster, router: client, signal: ctx.stopRequested }).catch((err: unknown) => {
        if (ctx.stopRequested.aborted) return undefined;
        throw err;
      });
      if (!broker) return 0;
      brokers.set(cluster, broker);
    }
    const at = config.http.lastIndexOf(':');
    const server = await startConsoleServer({
      clusters: clients.map((client, i) => ({ name: config.cluster[i] as string, client })),
      index: new AutocompleteIndex({ retentionMs: config.retentionMs }),
      host: config.http.slice(0, at).replace(/^\[(.*)\]$/, '$1'),
      port: Number(config.http.slice(at + 1)),
      ...(token !== undefined ? { token } : {}),
      corsOrigins: config.corsOrigins,
      queryBroker: (cluster, q, signal) => (brokers.get(cluster) as ConnectedQueryBroker).broker.query(q, signal),
      logger,
    });
    logger.info({ url: server.url, clusters: config.cluster, auth: token !== undefined }, 'kubemeta console started');
    await new Promise<void>((resolve) => ctx.stopRequested.addEventListener('abort', () => resolve(), { once: true }));
    await server.close();
    logger.info({}, 'kubemeta console stopped');
    return 0;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([...brokers.values()].map((b) => b.close().catch(() => undefined)));
  }
}
