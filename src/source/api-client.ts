import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { systemClock, withTimeout, type Clock } from '../core/index.ts';
import { apiStatusError, networkError, SourceConfigError, SourceError } from './errors.ts';
import { RateLimiter } from './rate-limiter.ts';

export interface KubeApiClientOptions {
  /** Path of a kubeconfig file; ignored with `inCluster`. Default: $KUBECONFIG or ~/.kube/config. */
  kubeconfig?: string;
  /** Use the pod's service account (token, CA, KUBERNETES_SERVICE_HOST). */
  inCluster?: boolean;
  context?: string;
  qps?: number;
  burst?: number;
  /** Deadline for non-streaming requests (a LIST page). */
  requestTimeoutMs?: number;
  clock?: Clock;
  userAgent?: string;
}

type Query = Record<string, string | number | boolean | undefined>;

/**
 * The one HTTP client kubemeta has for the Kubernetes API server. Configuration and
 * authentication (kubeconfig, in-cluster service account, tokens, exec plugins, client certs,
 * CA) come from @kubernetes/client-node; requests are made here with node:http(s) because
 * our list/watch loop needs pagination, bookmarks and streaming that client-node's informer
 * does not offer. Every request waits for the rate limiter, except a LIST's continue pages.
 */
export class KubeApiClient {
  readonly server: string;
  readonly #kc: KubeConfig;
  readonly #limiter: RateLimiter;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  #agent: { fingerprint: string; agent: http.Agent } | undefined;

  constructor(kc: KubeConfig, options: KubeApiClientOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new SourceConfigError('the kubeconfig has no current cluster; set current-context or pass --context');
    this.#kc = kc;
    this.server = cluster.server.replace(/\/+$/, '');
    this.#limiter = new RateLimiter(options.qps ?? 20, options.burst ?? 40, options.clock ?? systemClock);
    this.#timeoutMs = options.requestTimeoutMs ?? 60_000;
    this.#userAgent = options.userAgent ?? 'kubemeta';
  }

  /** Loads the kubeconfig (or in-cluster config) the options name. */
  static load(options: KubeApiClientOptions = {}): KubeApiClient {
    const kc = new KubeConfig();
    try {
      if (options.inCluster) kc.loadFromCluster();
      else if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
      else kc.loadFromDefault();
      if (options.context) kc.setCurrentContext(options.context);
    } catch (err) {
      const where = options.inCluster ? 'in-cluster config (service account files)' : `kubeconfig ${options.kubeconfig ?? '(default)'}`;
      throw new SourceConfigError(`cannot load the ${where}: ${(err as Error).message}`, { cause: err });
    }
    return new KubeApiClient(kc, options);
  }

  /**
   * GET a JSON document (a LIST page, /version). Throws SourceError. `rateLimited: false` for
   * the continue pages of a LIST: the LIST took its token, its pages read one snapshot, and
   * limiting each page would make the one client kubemeta is take 16 s for a 150,000-pod
   * cluster at the default 20 QPS before doing anything else.
   */
  async getJson(path: string, query: Query = {}, signal?: AbortSignal, options: { rateLimited?: boolean } = {}): Promise<unknown> {
    const deadline = withTimeout(signal, this.#timeoutMs);
    const res = await this.#request(path, query, deadline, undefined, options.rateLimited ?? true);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of res) chunks.push(chunk as Buffer);
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    } catch (err) {
      throw networkError(`GET ${path}`, err);
    }
  }

  /** Opens a streaming GET (a watch) and returns the response body. Throws SourceError. */
  openStream(path: string, query: Query, signal?: AbortSignal): Promise<Readable> {
    return this.#request(path, query, signal);
  }

  /**
   * POST (create) or PUT (replace) one JSON object; returns the server's version of it.
   * kubemeta only ever writes its leader-election Lease and, with the credential issuer on,
   * creates TokenReviews (deploy/ grants nothing else).
   * Throws SourceError: httpStatus 409 for a conflict (stale resourceVersion, or it exists).
   */
  async sendJson(method: 'POST' | 'PUT', path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    const deadline = withTimeout(signal, this.#timeoutMs);
    const res = await this.#request(path, {}, deadline, { method, body: JSON.stringify(body) });
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of res) chunks.push(chunk as Buffer);
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    } catch (err) {
      throw networkError(`${method} ${path}`, err);
    }
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.#agent?.agent.destroy();
    this.#agent = undefined;
  }

  async #request(
    path: string,
    query: Query,
    signal?: AbortSignal,
    write?: { method: 'POST' | 'PUT'; body: string },
    rateLimited = true,
  ): Promise<http.IncomingMessage> {
    if (rateLimited) await this.#limiter.take(signal);
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const options = await this.#requestOptions();
    const method = write?.method ?? 'GET';
    const what = `${method} ${url.pathname}${url.search}`;
    const transport = url.protocol === 'https:' ? https : http;
    if (write) options.headers = { ...(options.headers as Record<string, string>), 'content-type': 'application/json' };
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = transport.request(url, { ...options, method, signal }, resolve);
      req.on('error', (err) => reject(signal?.aborted ? signal.reason : networkError(what, err)));
      req.end(write?.body);
    });
    if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) return res;
    throw await statusError(what, res);
  }

  async #requestOptions(): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = { headers: {} };
    try {
      // Refreshes tokens (exec plugins, rotated service-account tokens) on every request.
      await this.#kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new SourceConfigError(
        `cannot use the kubeconfig's cluster ${this.server}: ${(err as Error).message} (for a plain http:// server set insecure-skip-tls-verify: true)`,
        { cause: err },
      );
    }
    const headers = { ...(opts.headers as Record<string, string>), 'user-agent': this.#userAgent, accept: 'application/json' };
    return { headers, agent: this.#agentFor(opts), ...(opts.auth ? { auth: opts.auth } : {}) };
  }

  /**
   * client-node builds a new agent on every call, which would open a new TCP+TLS connection
   * per request; we keep one keep-alive agent per TLS identity instead.
   */
  #agentFor(opts: https.RequestOptions): http.Agent {
    const tls = { ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername };
    const fingerprint = createHash('sha256').update(JSON.stringify(tls, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v))).digest('hex');
    if (this.#agent?.fingerprint !== fingerprint) {
      this.#agent?.agent.destroy();
      const agent = this.server.startsWith('https:')
        ? new https.Agent({ keepAlive: true, ...stripUndefined(tls) })
        : new http.Agent({ keepAlive: true });
      this.#agent = { fingerprint, agent };
    }
    return this.#agent.agent;
  }
}

async function statusError(what: string, res: http.IncomingMessage): Promise<SourceError> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res) {
      size += (chunk as Buffer).length;
      if (size <= 65_536) chunks.push(chunk as Buffer);
    }
  } catch {
    // the body is only for the message
  }
  const body = Buffer.concat(chunks).toString('utf8');
  let message = body.slice(0, 500);
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === 'string') message = status.message;
  } catch {
    // not a Status object
  }
  const retryAfter = Number(res.headers['retry-after']);
  return apiStatusError(what, res.statusCode ?? 0, message, Number.isFinite(retryAfter) ? retryAfter : undefined);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
