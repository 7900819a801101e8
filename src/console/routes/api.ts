import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { silentLogger, type Logger } from '../../core/index.ts';
import { autocompleteParams, entityListParams, parseParams } from './api-schemas.ts';
import { AutocompleteIndex, type IndexStats } from '../search/autocomplete-index.ts';
import { ClusterFollower, type ClusterStatus, type FollowedClient, type ServiceHealth } from '../clusters/cluster-follower.ts';
import { KIND_ALIASES, kindsOfAlias, parseKindList, type EntityKind } from '../entity-kinds.ts';
import { ConsoleError, ConsoleErrorCode, isConsoleError } from '../errors.ts';
import { installBearerAuth, installCors, installSecurityHeaders } from './http-guards.ts';
import { registerEntityRoute } from './entity-route.ts';
import { registerClusterRoute } from './cluster-route.ts';
import { EventsHub } from './events-route.ts';
import { registerWebRoutes } from './web-route.ts';
import { registerQueryRoute, type ConsoleQueryBroker } from './query-route.ts';

/** One cluster the console follows: its name (as in NATS subjects) and its client. */
export interface ConsoleCluster {
  readonly name: string;
  /** An SDK ClusterClient (or anything with its shape). The console never closes it. */
  readonly client: FollowedClient;
  /**
   * What the metadata service publishing this cluster reports of itself, when the console runs
   * inside it (`kubemeta serve --console`): subjects, replay answers, API watches. Omitted by a
   * standalone console, which only sees NATS.
   */
  readonly service?: () => ServiceHealth | undefined;
}

export interface ConsoleAppOptions {
  readonly clusters: readonly ConsoleCluster[];
  /** The index to feed; default: a new one with its defaults. */
  readonly index?: AutocompleteIndex;
  /** Require `Authorization: Bearer <token>` on every /api/ route. Default: no auth. */
  readonly token?: string;
  /** Origins whose scripts may read the API (CORS). Default: none. */
  readonly corsOrigins?: readonly string[];
  /** Largest `limit` of /api/autocomplete (default 100); /api/entities pages go to 10× that. */
  readonly maxLimit?: number;
  /** How often /api/events samples update rates and sends a status event (default 1000 ms). */
  readonly sampleIntervalMs?: number;
  /**
   * Runs telemetry queries (a telemetry QueryBroker per cluster): enables `POST /api/query`
   * (query-route.ts). Without it the route does not exist and /api/status says `query: false`.
   */
  readonly queryBroker?: ConsoleQueryBroker;
  /** Deadline of one /api/query request (default 10 s). */
  readonly queryTimeoutMs?: number;
  readonly logger?: Logger;
}

export interface ConsoleServerOptions extends ConsoleAppOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
}

/** Per cluster in /api/status: the client's position and what the index holds of it. */
export interface ClusterStatusReport extends ClusterStatus {
  readonly indexedEntities: number;
  readonly liveEntities: number;
  /** Estimated heap of the index's share for this cluster. */
  readonly indexBytes: number;
  /** The publishing service's own figures, when the console runs inside it; else absent. */
  readonly service?: ServiceHealth;
}

export interface ConsoleStatus {
  readonly clusters: ClusterStatusReport[];
  readonly index: IndexStats;
  /** Optional routes this console serves (the web page greys out what is absent). */
  readonly features: { readonly query: boolean };
}

/** The API app with the followers feeding its index; `close()` stops the followers and the app. */
export interface ConsoleApp {
  readonly app: FastifyInstance;
  readonly index: AutocompleteIndex;
  status(): ConsoleStatus;
  close(): Promise<void>;
}

/** The console mounted on an app it does not own (registerConsole): `close()` stops following, not the app. */
export interface MountedConsole {
  readonly index: AutocompleteIndex;
  status(): ConsoleStatus;
  close(): Promise<void>;
}

export interface ConsoleServer {
  /** `http://host:port` */
  readonly url: string;
  readonly index: AutocompleteIndex;
  status(): ConsoleStatus;
  /** Stops listening and following; the cluster clients stay open. */
  close(): Promise<void>;
}

/** Largest request body the console reads (its only body is a short query). */
const BODY_LIMIT = 1024;
/**
 * Longest path parameter (fastify's default is 100): /api/entity/label/<key=value> carries a
 * label, whose key may be 317 characters and value 63. An app the console is mounted on needs
 * the same (kubemeta serve's has it).
 */
export const MAX_PARAM_LENGTH = 600;

/**
 * Builds the console's HTTP JSON API and web page (not listening: tests use `app.inject()`)
 * and starts following the clusters into the index. Routes:
 *
 * - `GET /api/autocomplete?q=&kind=&cluster=&limit=` ranked suggestions (AutocompleteIndex.search)
 * - `GET /api/entities/<kind>?cluster=&namespace=&limit=&after=&includeDeleted=` a page of one kind
 * - `GET /api/entity/<kind>/<uid>?cluster=` one object and its relations (entity-route.ts)
 * - `GET /api/cluster?cluster=` counts by kind, nodes, namespaces, network ranges (cluster-route.ts)
 * - `GET /api/status` per cluster: connected, head, inSync, lag, entities indexed, index memory
 * - `GET /api/events` the status every second as Server-Sent Events (events-route.ts)
 * - `POST /api/query` a telemetry query, when `queryBroker` is given (query-route.ts)
 * - `GET /` the web console (web-route.ts, files in ../web/)
 *
 * Errors are `{ "error": { "code", "message" } }` with the status of the code (errors.ts).
 */
export function buildConsoleApp(options: ConsoleAppOptions): ConsoleApp {
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT, routerOptions: { maxParamLength: MAX_PARAM_LENGTH } });
  const mounted = mountConsole(app, options);
  return {
    app,
    index: mounted.index,
    status: mounted.status,
    async close() {
      await mounted.close();
      await app.close();
    },
  };
}

/**
 * Mounts the console (the same routes as buildConsoleApp) on an app someone else owns and
 * listens with, e.g. `kubemeta serve`'s health server, inside its own fastify context: the
 * console's auth, error and security hooks apply to its routes only. Call before the app
 * listens. The app's close() ends the console's event streams; `close()` stops following.
 */
export async function registerConsole(app: FastifyInstance, options: ConsoleAppOptions): Promise<MountedConsole> {
  let mounted: MountedConsole | undefined;
  await app.register(async (child) => {
    mounted = mountConsole(child, options);
  });
  if (!mounted) throw new ConsoleError(ConsoleErrorCode.INTERNAL, 'the console plugin did not load');
  return mounted;
}

function mountConsole(app: FastifyInstance, options: ConsoleAppOptions): MountedConsole {
  const config = checkOptions(options);
  const index = options.index ?? new AutocompleteIndex();
  const logger = (options.logger ?? silentLogger).child({ module: 'console' });
  const followers = config.clusters.map((c) => new ClusterFollower(index, c.name, c.client));
  const byName = new Map(followers.map((f) => [f.name, f]));
  const clusterNames = (requested: readonly string[] | undefined): readonly string[] | undefined => {
    if (requested === undefined || requested.length === 0) return undefined;
    const unknown = requested.find((n) => !byName.has(n));
    if (unknown !== undefined) {
      throw new ConsoleError(ConsoleErrorCode.UNKNOWN_CLUSTER, `unknown cluster "${unknown}"; this console follows ${[...byName.keys()].join(', ')}`);
    }
    return requested;
  };
  const serviceOf = new Map(config.clusters.map((c) => [c.name, c.service]));
  const status = (): ConsoleStatus => {
    const stats = index.stats();
    return {
      clusters: followers.map((f) => {
        const s = stats.clusters[f.name];
        const service = serviceOf.get(f.name)?.();
        return { ...f.status(), indexedEntities: s?.entries ?? 0, liveEntities: s?.live ?? 0, indexBytes: s?.bytes ?? 0, ...(service ? { service } : {}) };
      }),
      index: stats,
      features: { query: app.hasRoute({ method: 'POST', url: '/api/query' }) },
    };
  };

  // The same body limit whether the console owns the app or is mounted on serve's.
  app.addHook('onRoute', (route) => {
    route.bodyLimit ??= BODY_LIMIT;
  });
  installCors(app, config.corsOrigins);
  installBearerAuth(app, config.token);
  installSecurityHeaders(app);
  app.addHook('onResponse', async (req, reply) => {
    logger.debug({ method: req.method, route: req.routeOptions.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 }, 'console request');
  });
  app.setErrorHandler(async (err: FastifyError | ConsoleError, _req, reply) => {
    if (isConsoleError(err)) return reply.code(err.status).send({ error: { code: err.code, message: err.message } });
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) logger.error({ err }, 'console request failed');
    const code = status === 500 ? ConsoleErrorCode.INTERNAL : ConsoleErrorCode.BAD_REQUEST;
    return reply.code(status).send({ error: { code, message: status === 500 ? 'internal error; see the console log' : err.message } });
  });
  app.setNotFoundHandler(async (req, reply) =>
    reply.code(404).send({ error: { code: ConsoleErrorCode.NOT_FOUND, message: `no route ${req.method} ${req.url.split('?')[0]}; see docs/console.md` } }));

  app.get('/api/autocomplete', async (req) => {
    const started = performance.now();
    const p = parseParams(autocompleteParams(config.maxLimit), req.query);
    const kinds = p.kind === undefined ? undefined : kindList(p.kind);
    const clusters = clusterNames(p.cluster);
    const r = index.search({ q: p.q, limit: p.limit, ...(kinds ? { kinds } : {}), ...(clusters ? { clusters } : {}) });
    return {
      query: { text: r.text, kinds: r.kinds, namespace: r.namespace ?? null, clusters: clusters ?? [...byName.keys()] },
      suggestions: r.suggestions,
      tookMs: Math.round((performance.now() - started) * 1000) / 1000,
    };
  });

  app.get<{ Params: { kind: string } }>('/api/entities/:kind', async (req) => {
    const kind = oneKind(req.params.kind);
    const p = parseParams(entityListParams(config.maxLimit * 10), req.query);
    const clusters = clusterNames(p.cluster);
    const page = index.list(kind, {
      limit: p.limit,
      includeDeleted: p.includeDeleted,
      ...(clusters ? { clusters } : {}),
      ...(p.namespace !== undefined ? { namespace: p.namespace } : {}),
      ...(p.after !== undefined ? { after: p.after } : {}),
    });
    return { kind, items: page.items, next: page.next ?? null };
  });

  app.get('/api/status', async () => status());

  registerEntityRoute(app, { clusters: new Map(followers.map((f) => [f.name, f.client])) });
  registerClusterRoute(app, { clusters: new Map(followers.map((f) => [f.name, f.client])) });
  if (options.queryBroker) {
    registerQueryRoute(app, { broker: options.queryBroker, clusters: [...byName.keys()], ...(options.queryTimeoutMs !== undefined ? { timeoutMs: options.queryTimeoutMs } : {}) });
  }
  const events = new EventsHub({
    status,
    clusters: followers.map((f) => ({ name: f.name, applied: () => f.client.stats?.().applied ?? f.status().changesApplied })),
    intervalMs: config.sampleIntervalMs,
  });
  events.register(app);
  registerWebRoutes(app);

  return {
    index,
    status,
    async close() {
      events.close();
      await Promise.all(followers.map((f) => f.close()));
    },
  };
}

/** Builds the API, listens on host:port and returns its URL. */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalid(`port must be 0 to 65535, got ${String(port)}`);
  const built = buildConsoleApp(options);
  try {
    await built.app.listen({ host, port });
  } catch (err) {
    await built.close();
    throw new ConsoleError(ConsoleErrorCode.INVALID_OPTIONS, `cannot listen on ${host}:${port}: ${(err as Error).message}`, { cause: err });
  }
  const bound = built.app.server.address();
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${typeof bound === 'object' && bound ? bound.port : port}`;
  return { url, index: built.index, status: built.status, close: built.close };
}

function kindList(text: string): EntityKind[] {
  const parsed = parseKindList(text);
  if ('unknown' in parsed) throw unknownKind(parsed.unknown);
  return parsed.kinds;
}

function oneKind(text: string): EntityKind {
  const kinds = kindsOfAlias(text);
  if (!kinds) throw unknownKind(text);
  if (kinds.length !== 1) throw new ConsoleError(ConsoleErrorCode.UNKNOWN_KIND, `"${text}" names several kinds; list one of them at a time`);
  return kinds[0] as EntityKind;
}

function unknownKind(text: string): ConsoleError {
  return new ConsoleError(ConsoleErrorCode.UNKNOWN_KIND, `unknown kind "${text}"; use one of ${KIND_ALIASES.join(', ')}`);
}

function invalid(message: string): ConsoleError {
  return new ConsoleError(ConsoleErrorCode.INVALID_OPTIONS, message);
}

interface CheckedOptions {
  readonly clusters: readonly ConsoleCluster[];
  readonly token: string | undefined;
  readonly corsOrigins: readonly string[];
  readonly maxLimit: number;
  readonly sampleIntervalMs: number;
}

function checkOptions(o: ConsoleAppOptions): CheckedOptions {
  if (!Array.isArray(o.clusters)) throw invalid('clusters must be a list of { name, client }');
  const names = new Set<string>();
  for (const c of o.clusters) {
    if (typeof c?.name !== 'string' || c.name === '' || typeof c.client?.changes !== 'function') throw invalid('each cluster needs a name and a client');
    if (names.has(c.name)) throw invalid(`cluster "${c.name}" is listed twice`);
    names.add(c.name);
  }
  if (o.token !== undefined && (typeof o.token !== 'string' || o.token.trim().length < 16)) {
    throw invalid('token must be at least 16 characters (e.g. openssl rand -hex 32)');
  }
  const maxLimit = o.maxLimit ?? 100;
  if (!Number.isInteger(maxLimit) || maxLimit < 1 || maxLimit > 1_000) throw invalid(`maxLimit must be 1 to 1000, got ${String(maxLimit)}`);
  const corsOrigins = o.corsOrigins ?? [];
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) throw invalid(`corsOrigins: "${origin}" is not an origin (scheme://host[:port], no path)`);
  }
  const sampleIntervalMs = o.sampleIntervalMs ?? 1_000;
  if (!Number.isInteger(sampleIntervalMs) || sampleIntervalMs < 10 || sampleIntervalMs > 60_000) throw invalid(`sampleIntervalMs must be 10 to 60000, got ${String(sampleIntervalMs)}`);
  return { clusters: o.clusters, token: o.token?.trim(), corsOrigins, maxLimit, sampleIntervalMs };
}
