import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ClosedError, InvalidArgumentError, isAbortError, silentLogger, sleep, type Clock, type Logger } from '../../core/index.ts';
import type { ClusterModel } from '../model/cluster-model.ts';
import { createDiscovery } from './discovery.ts';
import { SimApiError } from '../model/errors.ts';
import { SimFaults } from './faults.ts';
import { readJsonBody, reasonForStatus, sendJson, statusOptionsOf } from './http-io.ts';
import { ListSnapshotCache, serveList } from './list.ts';
import { LoadCounters, type LoadStats } from './load-counters.ts';
import { negotiate, OBJECT } from './media.ts';
import { openApiResponse } from './openapi.ts';
import { errorEncoding, sendApiObject, sendStatus, sendStored } from './respond.ts';
import { parseResourcePath, verbOf, type ResourceRoute, type Verb } from './routing.ts';
import { compileFilter, type ObjectFilter } from './selectors.ts';
import { generateSimTls, type SimTlsMaterial } from './tls.ts';
import { WatchHub } from './watch.ts';
import { createObject, deleteCollection, deleteObject, getObject, patchObject, scaleJson, updateObject, type ObjectRequest } from './writes.ts';
import { SimTokenAuthority, type SimTokenOptions } from './tokens.ts';

export interface SimApiServerOptions {
  /** BOOKMARK interval for watches with allowWatchBookmarks=true (default 5000; real servers ~60 s). */
  bookmarkIntervalMs?: number;
  /** Watches without timeoutSeconds end after a random time in [max, 2·max) (default 30 min, as real). */
  maxWatchTimeoutMs?: number;
  /** Unsent bytes a watcher may buffer before it is dropped as slow (default 8 MiB). */
  watchBufferBytes?: number;
  /** Live events a watcher may queue while it sends its initial events (default 50,000). */
  maxPendingWatchEvents?: number;
  /** LIST snapshots kept for continue tokens (default 32). */
  listSnapshots?: number;
  /** Lifetime of a continue token (default 5 minutes). */
  continueTtlMs?: number;
  /** Serve HTTPS with this material instead of plain HTTP. */
  tls?: SimTlsMaterial;
  logger?: Logger;
  /** Time for table ages and continue-token TTLs (default: the model's clock). */
  clock?: Clock;
  /**
   * Serve WatchList (`sendInitialEvents`, KEP-3157) as API servers 1.32 and 1.34+ do (default
   * true). False answers as servers without it do: a watch with `resourceVersionMatch` is a
   * 400 Bad Request, so clients fall back to paginated LISTs.
   */
  watchList?: boolean;
  /** Service-account tokens: TokenRequest and TokenReview (src/sim/http/tokens.ts). */
  tokens?: SimTokenOptions;
}

export interface SimListenOptions {
  /** 0 (default) lets the OS pick a free port. */
  port?: number;
  /** Default 127.0.0.1; the sim has no authentication, keep it on loopback. */
  host?: string;
}

export interface StartSimApiServerOptions extends SimApiServerOptions, SimListenOptions {
  /** Serve HTTPS with a freshly generated self-signed CA and certificate (ignored when `tls` is given). */
  https?: boolean;
}

export type SimApiServerState = 'created' | 'listening' | 'closing' | 'closed';

/**
 * The simulated Kubernetes API server: discovery, LIST/WATCH/GET and writes for every kind in
 * RESOURCES over the model, in JSON or Kubernetes protobuf as the client negotiates, Table
 * output for kubectl, fault injection (`faults`, and /_sim/faults over HTTP), load counters
 * (`counters`, /metrics and /_sim/stats).
 */
export interface SimApiServer {
  readonly model: ClusterModel;
  readonly faults: SimFaults;
  readonly counters: LoadCounters;
  /** Service-account tokens: issue one for a pod (what the kubelet's projected volume gets), review counters. */
  readonly tokens: SimTokenAuthority;
  /** The TLS material when serving HTTPS (its `caPem` goes into kubeconfigs). */
  readonly tls: SimTlsMaterial | undefined;
  readonly state: SimApiServerState;
  /** The base URL, e.g. http://127.0.0.1:38211; throws before listen(). */
  readonly url: string;
  readonly openWatches: number;
  listen(options?: SimListenOptions): Promise<string>;
  stats(): LoadStats;
  /** Stops accepting, ends every watch, waits for in-flight requests (up to a grace period), closes. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates the server without listening; call `listen()`. */
export function createSimApiServer(model: ClusterModel, options: SimApiServerOptions = {}): SimApiServer {
  return new SimApiServerImpl(model, options);
}

/** Creates the server and listens (on 127.0.0.1 and an OS-picked port unless told otherwise). */
export async function startSimApiServer(model: ClusterModel, options: StartSimApiServerOptions = {}): Promise<SimApiServer> {
  const tls = options.tls ?? (options.https ? await generateSimTls() : undefined);
  const server = createSimApiServer(model, { ...options, tls });
  await server.listen({ port: options.port, host: options.host });
  return server;
}

const CLOSE_GRACE_MS = 5_000;

class SimApiServerImpl implements SimApiServer {
  readonly model: ClusterModel;
  readonly faults: SimFaults;
  readonly counters = new LoadCounters();
  readonly tokens: SimTokenAuthority;
  readonly tls: SimTlsMaterial | undefined;
  #state: SimApiServerState = 'created';
  #url: string | undefined;
  readonly #server: Server;
  readonly #hub: WatchHub;
  readonly #snapshots: ListSnapshotCache;
  readonly #discovery = createDiscovery();
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #closing = new AbortController();
  readonly #watchList: boolean;

  constructor(model: ClusterModel, options: SimApiServerOptions) {
    this.model = model;
    this.#watchList = options.watchList ?? true;
    this.tls = options.tls;
    this.#clock = options.clock ?? model.clock;
    this.#logger = (options.logger ?? silentLogger).child({ module: 'sim' });
    this.tokens = new SimTokenAuthority(model, this.#clock, options.tokens);
    this.#snapshots = new ListSnapshotCache({ maxSnapshots: options.listSnapshots, ttlMs: options.continueTtlMs, clock: this.#clock });
    this.faults = new SimFaults({
      dropAllWatches: (mode) => this.#hub.dropAll(mode),
      compactHistory: () => {
        model.compactHistory();
        return model.resourceVersion;
      },
    });
    this.#hub = new WatchHub({
      model,
      counters: this.counters,
      faults: this.faults,
      clock: this.#clock,
      bookmarkIntervalMs: positive('bookmarkIntervalMs', options.bookmarkIntervalMs ?? 5_000),
      maxWatchTimeoutMs: positive('maxWatchTimeoutMs', options.maxWatchTimeoutMs ?? 1_800_000),
      maxBufferBytes: positive('watchBufferBytes', options.watchBufferBytes ?? 8 * 1024 * 1024),
      maxPendingEvents: positive('maxPendingWatchEvents', options.maxPendingWatchEvents ?? 50_000),
    });
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.#handle(req, res);
    this.#server = this.tls ? createHttpsServer({ key: this.tls.keyPem, cert: this.tls.certPem }, handler) : createHttpServer(handler);
  }

  get state(): SimApiServerState {
    return this.#state;
  }

  get url(): string {
    if (this.#url === undefined) throw new ClosedError('the sim API server is not listening yet: call listen() first; it');
    return this.#url;
  }

  get openWatches(): number {
    return this.#hub.open;
  }

  async listen(options: SimListenOptions = {}): Promise<string> {
    if (this.#state !== 'created') throw new ClosedError(`the sim API server (${this.#state})`);
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(options.port ?? 0, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const { port } = this.#server.address() as AddressInfo;
    this.#url = `${this.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.#state = 'listening';
    return this.#url;
  }

  stats(): LoadStats {
    return this.counters.snapshot();
  }

  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    const wasListening = this.#state === 'listening';
    this.#state = 'closing';
    this.#closing.abort(new ClosedError('the sim API server'));
    this.#hub.close();
    this.#snapshots.clear();
    if (wasListening) {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#server.closeIdleConnections();
      const force = setTimeout(() => this.#server.closeAllConnections(), CLOSE_GRACE_MS);
      await closed;
      clearTimeout(force);
    }
    this.#state = 'closed';
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.#route(req, res);
    } catch (err) {
      this.#fail(req, res, err);
    }
  }

  #fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    const encoding = errorEncoding(req);
    if (err instanceof SimApiError) {
      sendStatus(res, statusOptionsOf(err), encoding);
      return;
    }
    if (isAbortError(err) || err instanceof ClosedError) {
      sendStatus(res, { code: 503, reason: 'ServiceUnavailable', message: 'the sim API server is shutting down' }, encoding);
      return;
    }
    this.#logger.error({ err }, 'sim request failed');
    const message = `internal error in kubemeta sim: ${err instanceof Error ? err.message : String(err)}`;
    sendStatus(res, { code: 500, reason: 'InternalError', message }, encoding);
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/_sim' || path.startsWith('/_sim/')) return this.#admin(req, res, path, method);
    if (path === '/metrics') return sendJson(res, 200, await this.counters.metrics(), 'text/plain; version=0.0.4; charset=utf-8');
    if (path === '/healthz' || path === '/livez' || path === '/readyz') return sendJson(res, 200, 'ok', 'text/plain; charset=utf-8');
    const fixed = path.startsWith('/openapi/') ? openApiResponse(path, req.headers.accept) : this.#discovery.respond(path, req.headers.accept, this.#address());
    if (fixed) {
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, path);
      this.counters.request('discovery', '');
      return sendJson(res, 200, fixed.body, fixed.contentType);
    }
    const tokens = this.tokens.handler(method, path);
    if (tokens) {
      this.counters.request('create', path.endsWith('/token') ? 'TokenRequest' : 'TokenReview');
      return tokens(req, res);
    }
    const route = parseResourcePath(path);
    if (!route) throw new SimApiError('NotFound', 'the server could not find the requested resource');
    const verb = verbOf(method, route, url.searchParams);
    if (!verb) throw methodNotAllowed(method, path);
    this.counters.request(verb, route.info.kind);
    if (await this.#injectFault(req, res, verb, route.info.kind)) return;
    return this.#serve(req, res, route, verb, url.searchParams);
  }

  async #serve(req: IncomingMessage, res: ServerResponse, route: ResourceRoute, verb: Verb, query: URLSearchParams): Promise<void> {
    if (route.name !== undefined && route.info.namespaced && route.namespace === undefined) {
      throw new SimApiError('NotFound', 'the server could not find the requested resource');
    }
    // Negotiated before anything happens: a 406 leaves the cluster unchanged, as on the API server.
    const negotiated = negotiate(req.headers.accept, query, { watch: verb === 'watch' });
    const r: ObjectRequest = { req, res, route, query, model: this.model, negotiated };
    switch (verb) {
      case 'list':
        return serveList(res, { info: route.info, filter: this.#filter(route, query), query, negotiated }, this.#listContext());
      case 'watch':
        if (!this.#watchList && query.has('resourceVersionMatch')) {
          throw new SimApiError('BadRequest', 'resourceVersionMatch is forbidden for watch');
        }
        return this.#hub.start(res, { info: route.info, filter: this.#filter(route, query), query, negotiated });
      case 'get':
        return this.#get(r);
      case 'create':
        return createObject(r);
      case 'update':
        return updateObject(r);
      case 'patch':
        return patchObject(r);
      case 'delete':
        return deleteObject(r);
      case 'deletecollection': {
        const filter = this.#filter(route, query);
        const items = this.model.list(route.info.kind, { namespace: filter.namespace, nodeName: filter.nodeName }).items.filter((s) => filter.matches(s.object));
        return deleteCollection(r, items);
      }
    }
  }

  #get(r: ObjectRequest): void {
    const stored = getObject(r);
    if (r.route.subresource === 'scale') return sendApiObject(r.res, 200, r.negotiated.encoding, scaleJson(stored));
    // The status subresource answers with the whole object.
    const negotiated = r.route.subresource === undefined ? r.negotiated : { encoding: r.negotiated.encoding, representation: OBJECT };
    sendStored(r.res, 200, negotiated, stored, this.#clock.now());
  }

  #filter(route: ResourceRoute, query: URLSearchParams): ObjectFilter {
    const filter = compileFilter(route.info.kind, route.namespace, query.get('labelSelector'), query.get('fieldSelector'));
    if (route.name === undefined) return filter;
    // A watch on one object (legacy /watch/.../<name>, or GET <name>?watch=true).
    const name = route.name;
    return { ...filter, selective: true, description: `${filter.description}/${name}`, matches: (o) => o.metadata.name === name && filter.matches(o) };
  }

  #listContext(): Parameters<typeof serveList>[2] {
    return { model: this.model, counters: this.counters, faults: this.faults, snapshots: this.#snapshots, clock: this.#clock };
  }

  /** Applies pending failure and stall faults; true when the request has been answered. */
  async #injectFault(req: IncomingMessage, res: ServerResponse, verb: Verb, kind: string): Promise<boolean> {
    const failure = this.faults.takeFailure(verb, kind);
    if (failure) {
      this.counters.faultsInjected++;
      const retry = failure.retryAfterSeconds;
      const details = retry !== undefined ? { retryAfterSeconds: retry } : undefined;
      const status = { code: failure.status, reason: reasonForStatus(failure.status), message: failure.message, details };
      sendStatus(res, status, errorEncoding(req), retry !== undefined ? { 'Retry-After': String(retry) } : {});
      return true;
    }
    const stallMs = this.faults.takeStallMs();
    if (stallMs > 0) {
      this.counters.faultsInjected++;
      await sleep(stallMs, this.#closing.signal);
    }
    return false;
  }

  async #admin(req: IncomingMessage, res: ServerResponse, path: string, method: string): Promise<void> {
    if (path === '/_sim/stats' && method === 'GET') {
      const objects = Object.fromEntries(this.model.resources().map((r) => [r.kind, this.model.count(r.kind)]));
      return sendJson(res, 200, JSON.stringify({ ...this.stats(), resourceVersion: this.model.resourceVersion, objects }));
    }
    const m = /^\/_sim\/faults(?:\/([a-z-]+))?\/?$/.exec(path);
    if (!m) throw new SimApiError('NotFound', `unknown sim admin path ${path}: use /_sim/stats or /_sim/faults`);
    const body = method === 'POST' ? ((await readJsonBody(req, { optional: true })) ?? {}) : {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SimApiError('BadRequest', 'the fault body must be a JSON object');
    sendJson(res, 200, JSON.stringify(this.faults.handleAdmin(method, m[1] ?? '', body as Record<string, unknown>)));
  }

  #address(): string {
    const address = this.#server.address() as AddressInfo | null;
    return address ? `${address.address}:${address.port}` : '127.0.0.1:0';
  }
}

function methodNotAllowed(method: string, path: string): SimApiError {
  return new SimApiError('MethodNotAllowed', `the server does not allow this method on the requested resource (${method} ${path})`);
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(name, `must be a positive number, got ${value}`);
  return value;
}
