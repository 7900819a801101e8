import type { Command } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '../config/index.ts';
import { AutocompleteIndex, consoleConfigSchema, startConsoleServer, type ConsoleConfig } from '../console/index.ts';
import { ClusterClient } from '../sdk/index.ts';
import { connectNatsWith, natsCredentialOptions, redactNatsUrl } from '../service/index.ts';
import { QueryBroker, queryBrokerInboxPrefix } from '../telemetry/index.ts';
import { createLogger } from './logger.ts';
import { addOptions, NATS_CREDENTIAL_OPTIONS, type OptionSpec } from './options.ts';
import type { CommandContext } from './serve-command.ts';
import { readTokenFile } from './serve-console.ts';
import { stopInOrder } from './shutdown.ts';

/** `kubemeta console` flags; each key is an option of consoleConfigSchema (a test checks both ways). */
export const CONSOLE_OPTIONS: readonly OptionSpec[] = [
  { key: 'nats', help: 'NATS servers, comma-separated or repeated (default nats://127.0.0.1:4222)', list: true },
  ...NATS_CREDENTIAL_OPTIONS,
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

/** What the console holds per cluster: its NATS connection, the client on it, the query broker on it. */
interface FollowedCluster {
  readonly name: string;
  readonly nc: NatsConnection;
  client?: ClusterClient;
  broker?: QueryBroker;
}

/**
 * `kubemeta console`: one ClusterClient per `--cluster`, all feeding one autocomplete index,
 * and the HTTP JSON API on `--http` until SIGINT/SIGTERM (then exit code 0).
 *
 * One NATS connection per cluster carries both its client and the query box's broker, with
 * inboxes under `_INBOX.kubemeta.<cluster>.cluster`, where the cluster-client NATS user of
 * docs/security.md may receive. It is opened here, with the credentials of `--nats-user` …
 * `--nats-tls-key`: credentials or TLS files that NATS refuses end the command at once (exit
 * code 1, SERVICE_NATS_CONFIG, saying what to check) instead of being retried without end.
 */
export async function runConsole(flags: Record<string, unknown>, ctx: CommandContext): Promise<number> {
  const config = loadConsoleConfig(flags, ctx.env);
  const token = config.tokenFile === undefined ? undefined : readTokenFile(config.tokenFile, '--token-file');
  const credentials = natsCredentialOptions(config);
  const logger = createLogger(config.logLevel, 'kubemeta-console');
  const stop = ctx.stopRequested;
  const followed: FollowedCluster[] = [];
  let server: { url: string; close(): Promise<void> } | undefined;
  let failure: unknown;
  try {
    logger.info({ nats: config.nats.map(redactNatsUrl), clusters: config.cluster }, 'connecting to NATS (retried until it answers)');
    for (const cluster of config.cluster) {
      const nc = await connectNatsWith(
        { servers: [...config.nats], name: `kubemeta-console/${cluster}`, maxReconnectAttempts: -1, reconnectTimeWait: 500, pingInterval: 10_000, inboxPrefix: queryBrokerInboxPrefix(cluster), ...credentials },
        { signal: stop, urlsOption: '--nats', onRetry: (err, retryInMs) => logger.warn({ err, retryInMs, servers: config.nats.map(redactNatsUrl) }, 'cannot connect to NATS yet; retrying') },
      );
      const entry: FollowedCluster = { name: cluster, nc };
      followed.push(entry);
      entry.client = await ClusterClient.connect({ nc, cluster, retentionMs: config.retentionMs, logger: logger.child({ cluster }), signal: stop });
      // The query box (POST /api/query): queries go to the node agents that the client routes to.
      entry.broker = new QueryBroker({ nc, cluster, router: entry.client });
    }
    const at = config.http.lastIndexOf(':');
    const brokers = new Map(followed.map((f) => [f.name, f.broker as QueryBroker]));
    server = await startConsoleServer({
      clusters: followed.map((f) => ({ name: f.name, client: f.client as ClusterClient })),
      index: new AutocompleteIndex({ retentionMs: config.retentionMs }),
      host: config.http.slice(0, at).replace(/^\[(.*)\]$/, '$1'),
      port: Number(config.http.slice(at + 1)),
      ...(token !== undefined ? { token } : {}),
      corsOrigins: config.corsOrigins,
      queryBroker: (cluster, q, signal) => (brokers.get(cluster) as QueryBroker).query(q, signal),
      logger,
    });
    logger.info({ url: server.url, clusters: config.cluster, auth: token !== undefined }, 'kubemeta console started');
    await new Promise<void>((resolve) => {
      if (stop.aborted) resolve();
      stop.addEventListener('abort', () => resolve(), { once: true });
    });
  } catch (err) {
    // Ctrl-C while NATS or the service did not answer yet: a stop, not a failure.
    if (!stop.aborted) failure = err;
  }
  // The HTTP server first (no request reaches a closed client), then the clients, then their
  // connections (each client borrowed its connection, so it leaves it open).
  const s = server;
  const stopped = await stopInOrder([
    ['the HTTP server', s && (() => s.close())],
    ...followed.map((f): readonly [string, () => Promise<unknown>] => [`the client of cluster ${f.name}`, async () => f.client?.close()]),
    ...followed.map((f): readonly [string, () => Promise<unknown>] => [`the NATS connection of cluster ${f.name}`, () => f.nc.close()]),
  ]);
  if (failure !== undefined) throw failure;
  if (stopped) throw stopped;
  logger.info({}, 'kubemeta console stopped');
  return 0;
}

