import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { ConfigError, type ServeConfig } from '../config/index.ts';
import type { Logger } from '../core/index.ts';
import { registerConsole, startConsoleServer, type ConsoleCluster, type ConsoleQueryBroker, type MountedConsole, type ServiceHealth } from '../console/index.ts';
import { ClusterClient } from '../sdk/index.ts';
import { natsOptions, type MetadataService, type ServiceOverview } from '../service/index.ts';
import { connectQueryBroker, type ConnectedQueryBroker } from '../telemetry/index.ts';

/**
 * The web console inside `kubemeta serve --console` (and `kubemeta demo`): a ClusterClient of the
 * service's own cluster on the service's own NATS (same credentials and TLS), feeding the
 * console, whose routes are mounted on the service's HTTP server before it listens — or served
 * on `--console-http` when given. The status panel then also shows what the service reports of
 * itself (subjects, replay answers, API watches), which a standalone console cannot see.
 *
 * Use: `prepare` before MetadataService.start (pass `registerHttp` to it), `attach` after, `close`
 * before the service drains.
 */
export class ServeConsole {
  readonly client: ClusterClient;
  readonly #config: ServeConfig;
  readonly #logger: Logger;
  readonly #token: string | undefined;
  #service: MetadataService | undefined;
  #mounted: MountedConsole | undefined;
  #server: { url: string; close(): Promise<void> } | undefined;
  /** The query box's broker (POST /api/query), asking the node agents (`kubemeta agents`) of this cluster. */
  #broker: ConnectedQueryBroker | undefined;

  private constructor(config: ServeConfig, logger: Logger, client: ClusterClient, token: string | undefined) {
    this.#config = config;
    this.#logger = logger;
    this.client = client;
    this.#token = token;
  }

  /** Reads the token file and connects the client (waits until NATS answers; `signal` aborts). */
  static async prepare(config: ServeConfig, logger: Logger, signal: AbortSignal): Promise<ServeConsole> {
    const token = config.consoleTokenFile === undefined ? undefined : readTokenFile(config.consoleTokenFile, '--console-token-file');
    // The client asks for its first replay before this very service answers replays: the
    // "nobody answers" warnings of that race are expected, so they are debug until it is in sync.
    const started = { inSync: false };
    const client = await ClusterClient.connect({
      servers: [...config.natsUrls],
      natsOptions: natsOptions(config, 'kubemeta-serve-console'),
      cluster: config.cluster,
      logger: quietUntil(logger.child({ module: 'console' }), started),
      signal,
    });
    client.whenInSync().then(() => (started.inSync = true), () => undefined);
    const serveConsole = new ServeConsole(config, logger, client, token);
    serveConsole.#broker = await connectQueryBroker({
      servers: [...config.natsUrls], natsOptions: natsOptions(config, 'kubemeta-serve-query-broker'), cluster: config.cluster, router: client, signal,
    }).catch(async (err: unknown) => {
      await client.close();
      throw err;
    });
    return serveConsole;
  }

  /** For MetadataServiceDeps.registerHttp: mounts the console unless it has its own address. */
  get registerHttp(): ((app: FastifyInstance) => Promise<void>) | undefined {
    if (this.#config.consoleHttp !== undefined) return undefined;
    return async (app) => {
      this.#mounted = await registerConsole(app, this.#options());
    };
  }

  /** Links the started service (its figures in the status panel); listens on --console-http if given. */
  async attach(service: MetadataService): Promise<string> {
    this.#service = service;
    const address = this.#config.consoleHttp;
    if (address === undefined) return `${service.httpUrl ?? ''}/`;
    const at = address.lastIndexOf(':');
    this.#server = await startConsoleServer({ ...this.#options(), host: address.slice(0, at) || '127.0.0.1', port: Number(address.slice(at + 1)) });
    return `${this.#server.url}/`;
  }

  /** Stops following and closes the client; a console on its own address stops listening. */
  async close(): Promise<void> {
    await this.#mounted?.close();
    await this.#server?.close();
    await this.client.close();
    await this.#broker?.close().catch(() => undefined);
  }

  #options(): { clusters: ConsoleCluster[]; token?: string; logger: Logger; queryBroker?: ConsoleQueryBroker } {
    const cluster: ConsoleCluster = { name: this.#config.cluster, client: this.client, service: () => (this.#service ? serviceHealth(this.#service.overview()) : undefined) };
    const broker = this.#broker?.broker;
    return {
      clusters: [cluster], ...(this.#token !== undefined ? { token: this.#token } : {}), logger: this.#logger,
      ...(broker ? { queryBroker: (_cluster: string, q: string, signal: AbortSignal) => broker.query(q, signal) } : {}),
    };
  }
}

function quietUntil(logger: Logger, started: { readonly inSync: boolean }): Logger {
  return {
    debug: (o, m) => logger.debug(o, m),
    info: (o, m) => logger.info(o, m),
    warn: (o, m) => (started.inSync ? logger.warn(o, m) : logger.debug(o, m)),
    error: (o, m) => logger.error(o, m),
    child: (bindings) => quietUntil(logger.child(bindings), started),
  };
}

function serviceHealth(o: ServiceOverview): ServiceHealth {
  const kinds = o.reflectors.filter((r) => r.phase !== 'unsupported');
  const lastError = kinds.find((r) => r.lastError !== undefined && r.phase !== 'watching')?.lastError;
  return {
    state: o.state,
    subjects: o.scopes,
    replayServed: o.replayCompleted,
    replayReceived: o.replayReceived,
    watches: {
      watching: kinds.filter((r) => r.phase === 'watching').length,
      total: kinds.length,
      restarts: kinds.reduce((n, r) => n + r.watchRestarts, 0),
      errors: kinds.reduce((n, r) => n + r.errors, 0),
      ...(lastError !== undefined ? { lastError } : {}),
    },
  };
}

/** A bearer token from a file (trimmed), at least 16 characters; ConfigError naming the flag otherwise. */
export function readTokenFile(path: string, option: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new ConfigError([{ option, problem: `cannot read ${path}: ${(err as Error).message}` }], { cause: err });
  }
  if (text.length < 16) throw new ConfigError([{ option, problem: `${path} must hold a token of at least 16 characters (e.g. openssl rand -hex 32 > ${path})` }]);
  return text;
}
