import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ServeConfig } from '../config/index.ts';
import { silentLogger, systemClock, toError, type Clock, type Logger } from '../core/index.ts';
import { claimWriterFence, openEtcdStore, openLmdbStore, type CommitGuard, type UpdateStore } from '../log/index.ts';
import { Projector } from '../project/index.ts';
import { KubeApiClient, LeaseElector, type Leadership, type ReflectorStats } from '../source/index.ts';
import type { AgentCredentialSigner, PublishFaults } from '../bus/index.ts';
import { BusSide } from './bus-side.ts';
import { loadIssuerSigner } from './credential-issuer-setup.ts';
import { ServiceError, ServiceErrorCode } from './errors.ts';
import { buildHttpServer, listenHttp } from './http-server.ts';
import { IngestPipeline, type CommitListener } from './ingest-pipeline.ts';
import { ServiceMetrics } from './metrics.ts';
import { PROJECTOR_IMAGE_FILE } from './projector-image.ts';
import { storeAvailableBytes } from './store-space.ts';

/** 'standby': a replica with --leader-elect waiting for the Lease (HTTP up, not ready, no watches). */
export type ServiceState = 'starting' | 'standby' | 'restoring' | 'syncing' | 'ready' | 'draining' | 'stopped' | 'failed';

/** Parts a caller may provide instead of the ones built from config (tests, embedding). */
export interface MetadataServiceDeps {
  logger?: Logger;
  clock?: Clock;
  kubeClient?: KubeApiClient;
  store?: UpdateStore;
  /** Test hook: drop a fraction of published messages (consumers must repair by replay). */
  publishFaults?: PublishFaults;
  /**
   * Adds routes to the HTTP server before it listens (`kubemeta serve --console` mounts the web
   * console there). Register them in their own fastify context (a plugin) so that their hooks
   * stay theirs; /healthz, /readyz, /metrics and /status are taken.
   */
  registerHttp?: (app: FastifyInstance) => Promise<void>;
}

/** A few figures of the running service for dashboards (the console embedded in serve). */
export interface ServiceOverview {
  readonly state: ServiceState;
  readonly head: number;
  /** Scopes with an update in the log, i.e. NATS subjects published on (the cluster and each node). */
  readonly scopes: number;
  /** Replay requests received, and answered to the end marker. */
  readonly replayReceived: number;
  readonly replayCompleted: number;
  readonly reflectors: ReflectorStats[];
}

/** How long a drain may take by default before its remaining steps are cut short. */
const DRAIN_TIMEOUT_MS = 30_000;

/**
 * The metadata service (docs/design.md "Data flow"), a composition of fully built parts: the
 * ingest pipeline (reflectors → projector → group commit to the log; ingest-pipeline.ts) and the
 * bus side (publishing, replay, registries, credentials; bus-side.ts), plus what joins them —
 * the HTTP endpoints, leader election and the lifecycle: restore from the store, initial sync
 * (ready when every kind has listed or resumed and the backlog is committed), graceful drain.
 */
export class MetadataService {
  readonly config: ServeConfig;
  #state: ServiceState = 'starting';
  #failure: Error | undefined;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #deps: MetadataServiceDeps;
  /** Aborted at shutdown: connection attempts, the restore, standing by for the Lease. */
  readonly #abort = new AbortController();
  /** Aborted when the service fails for good (deposed, store fenced): the process should exit. */
  readonly #failed = new AbortController();
  readonly #projector: Projector;
  readonly #metrics: ServiceMetrics;
  readonly #identity: string;
  /** Parts built by #start, in order. */
  #store: UpdateStore | undefined;
  #http: { app: FastifyInstance; url: string | undefined } | undefined;
  #kube: KubeApiClient | undefined;
  #issuerSigner: AgentCredentialSigner | undefined;
  #elector: LeaseElector | undefined;
  #leadership: Leadership | undefined;
  /** The pipeline's start (or, with --leader-elect, waiting for the Lease first), and the NATS side's. */
  readonly #starting: Promise<void>[] = [];
  #pipeline: IngestPipeline | undefined;
  #bus: BusSide | undefined;
  #shutdownDone: Promise<void> | undefined;

  private constructor(config: ServeConfig, deps: MetadataServiceDeps) {
    this.config = config;
    this.#deps = deps;
    this.#logger = deps.logger ?? silentLogger;
    this.#clock = deps.clock ?? systemClock;
    setMaxListeners(0, this.#abort.signal);
    this.#projector = new Projector({ clock: this.#clock, logger: this.#logger, maxNodeScopes: config.maxNodeSubjects });
    this.#identity = config.identity ?? process.env['POD_NAME'] ?? `${hostname()}-${process.pid}`;
    this.#metrics = new ServiceMetrics({
      reflectors: () => this.reflectorStats(),
      log: () => this.#pipeline?.log.stats(),
      projector: () => this.#projector.stats(),
      publisher: () => this.#bus?.publisher?.stats(),
      storeSizeBytes: async () => this.#store?.sizeBytes(),
      ready: () => this.#state === 'ready',
      committerBacklog: () => this.#pipeline?.backlog ?? 0,
      replay: () => this.#bus?.replay.stats(),
      storeAvailableBytes: () => storeAvailableBytes(config.store),
      leader: () => ({ leading: config.leaderElect ? this.leader().leading : this.#pipeline !== undefined, term: this.#leadership?.term }),
      processes: () => this.#bus?.processes.stats(),
    });
  }

  /** Starts the service; resolves once the HTTP endpoints answer and the reflectors run. */
  static async start(config: ServeConfig, deps: MetadataServiceDeps = {}): Promise<MetadataService> {
    const service = new MetadataService(config, deps);
    try {
      await service.#start();
    } catch (err) {
      service.#state = 'failed';
      service.#failure = toError(err);
      await service.#shutdown().catch(() => undefined);
      throw err;
    }
    return service;
  }

  get state(): ServiceState {
    return this.#state;
  }

  /** Aborted (with the reason) when the service fails and cannot go on: exit and restart. */
  get failed(): AbortSignal {
    return this.#failed.signal;
  }

  /** HA: this replica's identity, the term it leads with (undefined while standing by). */
  leader(): { identity: string; term: number | undefined; leading: boolean; observedLeader: string | undefined } {
    const leading = this.#leadership !== undefined && !this.#leadership.signal.aborted;
    return { identity: this.#identity, term: this.#leadership?.term, leading, observedLeader: this.#elector?.observedLeader };
  }

  get httpUrl(): string | undefined {
    return this.#http?.url;
  }

  get streamId(): string | undefined {
    return this.#pipeline?.log.streamId;
  }

  get head(): number {
    return this.#pipeline?.log.head ?? 0;
  }

  reflectorStats(): ReflectorStats[] {
    return this.#pipeline?.reflectorStats() ?? [];
  }

  overview(): ServiceOverview {
    const replay = this.#bus?.replay.stats();
    return {
      state: this.#state,
      head: this.head,
      scopes: this.#pipeline?.log.stats().scopes ?? 0,
      replayReceived: replay?.received ?? 0,
      replayCompleted: replay?.outcomes.completed ?? 0,
      reflectors: this.reflectorStats(),
    };
  }

  /** Resolves when the initial sync is complete (rejects if the service fails first). */
  async whenReady(signal?: AbortSignal): Promise<void> {
    while (this.#state !== 'ready') {
      if (this.#state === 'failed' || this.#state === 'stopped') throw new ServiceError(ServiceErrorCode.NOT_RUNNING, `the service is ${this.#state}`, { cause: this.#failure });
      await this.#clock.sleep(20, signal);
    }
  }

  readiness(): { ready: boolean; [detail: string]: unknown } {
    const pipeline = this.#pipeline;
    const committingState = pipeline?.committingState === true;
    return {
      ready: this.#state === 'ready',
      state: this.#state,
      head: this.head,
      storeError: pipeline?.storeTrouble?.message,
      backlog: pipeline?.backlog ?? 0,
      // 'state' while a new stream's initial sync is committed as current state (nothing is
      // published until it is complete), 'history' otherwise.
      committing: committingState ? 'state' : 'history',
      nats: this.#bus?.publisher?.stats().state ?? (this.#bus && committingState ? 'waiting for the initial sync' : 'connecting'),
      kinds: pipeline?.progress() ?? [],
      // A standby says whom it waits for, or why it cannot take part (a missing Lease namespace).
      ...(this.#elector && !this.leader().leading ? { leaderElection: this.#elector.status() } : {}),
    };
  }

  /**
   * Stops the source, commits and publishes everything received, then closes. Loses nothing,
   * unless `signal` aborts first (default: after 30 s): then the steps not done are cut short
   * (what is not committed is not lost: the stored resourceVersions do not claim it).
   */
  async drain(signal: AbortSignal = AbortSignal.timeout(DRAIN_TIMEOUT_MS)): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'draining') return;
    if (this.#state === 'failed') {
      await this.#shutdownDone;
      return;
    }
    this.#state = 'draining';
    this.#logger.info({}, 'draining: stopping watches, committing and publishing what was received');
    await this.#shutdown(signal);
    this.#state = 'stopped';
  }

  /** `await using service = await MetadataService.start(…)` drains it when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.drain();
  }

  async #start(): Promise<void> {
    const c = this.config;
    this.#issuerSigner = await loadIssuerSigner(c);
    this.#store = this.#deps.store ?? (await openStore(c));
    const app = buildHttpServer({
      healthy: () => this.#state !== 'failed',
      readiness: () => this.readiness(),
      metrics: async () => ({ contentType: this.#metrics.contentType, text: await this.#metrics.text() }),
      status: () => this.#statusDoc(),
    });
    // Set before it listens: a failure from here on still closes it.
    this.#http = { app, url: undefined };
    await this.#deps.registerHttp?.(app);
    this.#http.url = await listenHttp(app, c.http);
    const kube = (this.#kube = this.#deps.kubeClient ?? KubeApiClient.load({
      ...(c.kubeconfig !== undefined ? { kubeconfig: c.kubeconfig } : {}),
      ...(c.context !== undefined ? { context: c.context } : {}),
      inCluster: c.inCluster,
      qps: c.apiQps,
      burst: c.apiBurst,
      clock: this.#clock,
    }));
    if (!c.leaderElect) {
      await this.#startPipeline(this.#store, kube, undefined);
      return;
    }
    this.#state = 'standby';
    this.#elector = new LeaseElector({
      client: kube,
      namespace: c.leaseNamespace,
      name: c.leaseName ?? `kubemeta-${c.cluster.toLowerCase().replace(/[^a-z0-9.-]/g, '-')}`,
      identity: this.#identity,
      leaseDurationMs: c.leaseDurationMs,
      renewDeadlineMs: c.renewDeadlineMs,
      retryPeriodMs: c.retryPeriodMs,
      clock: this.#clock,
      logger: this.#logger,
    });
    this.#starting.push(this.#lead(this.#elector, this.#store, kube));
  }

  /** HA: waits for the Lease, fences the store with the term, then runs the pipeline. */
  async #lead(elector: LeaseElector, store: UpdateStore, kube: KubeApiClient): Promise<void> {
    let leadership: Leadership;
    try {
      leadership = await elector.acquire(this.#abort.signal);
    } catch {
      return; // stopping while standing by
    }
    this.#leadership = leadership;
    leadership.signal.addEventListener('abort', () => this.#deposed(leadership.signal.reason), { once: true });
    try {
      // The fence before the log opens: from here on the previous leader can commit nothing,
      // so the head read next is final and the version sequence continues without reuse.
      const fence = await claimWriterFence(store, { term: leadership.term, identity: leadership.identity });
      await this.#startPipeline(store, kube, fence);
    } catch (err) {
      this.#fatal(toError(err));
    }
  }

  /** Lost the Lease (or a newer leader fenced the store): stop at once, the successor continues. */
  #deposed(reason: unknown): void {
    if (this.#state === 'draining' || this.#state === 'stopped' || this.#state === 'failed') return;
    this.#fatal(new ServiceError(ServiceErrorCode.DEPOSED, `no longer the leader (${toError(reason).message}); stopping so that a standby takes over`));
  }

  /** The projector image's file: beside an LMDB store this service opened (none for etcd). */
  #imagePath(): string | undefined {
    const store = this.config.store;
    return store.kind === 'lmdb' && this.#deps.store === undefined ? join(store.path, PROJECTOR_IMAGE_FILE) : undefined;
  }

  /** A failure the service cannot continue after: /healthz turns 503 and the process should restart. */
  #fatal(err: Error): void {
    if (this.#state === 'failed' || this.#state === 'stopped') return;
    this.#state = 'failed';
    this.#failure = err;
    this.#logger.error({ err }, 'the service stopped');
    this.#failed.abort(err);
    void this.#shutdown(AbortSignal.timeout(5_000), { commitPending: false }).catch(() => undefined);
  }

  async #startPipeline(store: UpdateStore, kube: KubeApiClient, fence: CommitGuard | undefined): Promise<void> {
    this.#state = 'restoring';
    // Batches go to the bus side once it is up; until then (and while a sync is committed as
    // state) nothing is published and no confirmed version is stored.
    const listener: CommitListener = {
      committed: (batch) => this.#bus?.committed(batch),
      confirmedVersion: () => this.#bus?.confirmedVersion(),
    };
    const pipeline = await IngestPipeline.open({
      config: this.config,
      store,
      fence,
      projector: this.#projector,
      kube,
      imagePath: this.#imagePath(),
      listener,
      metrics: this.#metrics,
      ready: () => this.#state === 'ready',
      onFatal: (err) => this.#fatal(err),
      clock: this.#clock,
      logger: this.#logger,
      signal: this.#abort.signal,
    });
    this.#pipeline = pipeline;
    this.#starting.push(this.#connectBus(pipeline, kube));
    this.#state = 'syncing';
    pipeline.start();
    pipeline.synced().then(
      () => {
        if (this.#state !== 'syncing') return;
        this.#state = 'ready';
        this.#startPublishing();
      },
      () => undefined, // stopped before the sync completed
    );
  }

  async #connectBus(pipeline: IngestPipeline, kube: KubeApiClient): Promise<void> {
    try {
      this.#bus = await BusSide.connect({
        config: this.config,
        log: pipeline.log,
        storeLimits: (this.#store as UpdateStore).limits,
        projector: this.#projector,
        kube,
        issuerSigner: this.#issuerSigner,
        metrics: this.#metrics,
        publishFaults: this.#deps.publishFaults,
        ready: () => this.#state === 'ready',
        // While the initial sync is committed as state, a snapshot would be half a sync
        // (docs/design.md §12): consumers are told to retry (UNAVAILABLE) until it is complete.
        replayAvailable: () => this.#state !== 'draining' && this.#state !== 'stopped' && !pipeline.committingState,
        clock: this.#clock,
        logger: this.#logger,
        signal: this.#abort.signal,
      });
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      // Credentials or TLS the NATS server refuses (NatsConfigError): retrying cannot help, and
      // a service that publishes nothing must not look healthy. A bus that could not start is
      // also a failure the service cannot go on from: it stops, its restart starts the bus anew.
      this.#fatal(toError(err));
      return;
    }
    this.#startPublishing(); // not once stopping; the shutdown closes the bus side
  }

  /**
   * Publishing and heartbeats start once NATS is connected and no initial sync is being
   * committed as state (whichever comes last): heartbeats then announce every scope's head at
   * once, and consumers waiting for the sync take their snapshots.
   */
  #startPublishing(): void {
    const pipeline = this.#pipeline;
    if (!this.#bus || !pipeline || pipeline.committingState || this.#abort.signal.aborted) return;
    this.#bus.startPublishing(pipeline.startHead);
  }

  #statusDoc(): unknown {
    const pipeline = this.#pipeline;
    const bus = this.#bus;
    const imageStats = pipeline?.imageStats();
    return {
      state: this.#state,
      cluster: this.config.cluster,
      streamId: this.streamId,
      head: this.head,
      log: pipeline?.log.stats(),
      projector: this.#projector.stats(),
      ...(pipeline ? { restore: pipeline.restored } : {}),
      ...(imageStats ? { projectorImage: imageStats } : {}),
      publisher: bus?.publisher?.stats(),
      replay: bus?.replay.stats(),
      agents: bus?.agents.stats(),
      processes: bus?.processes.stats(),
      ...(bus?.issuer ? { credentials: bus.issuer.stats() } : {}),
      heartbeat: bus?.heartbeat?.stats(),
      reflectors: this.reflectorStats(),
      ...(this.config.leaderElect ? { leader: this.leader() } : {}),
      ...(this.#failure ? { failure: this.#failure.message } : {}),
    };
  }

  #shutdown(deadline: AbortSignal = AbortSignal.timeout(DRAIN_TIMEOUT_MS), options: { commitPending: boolean } = { commitPending: true }): Promise<void> {
    this.#shutdownDone ??= this.#runShutdown(deadline, options.commitPending);
    return this.#shutdownDone;
  }

  /**
   * Graceful (drain): everything received is committed and published. After a fatal failure
   * (deposed leader) nothing more is committed: the successor owns the store.
   */
  async #runShutdown(deadline: AbortSignal, commitPending: boolean): Promise<void> {
    this.#abort.abort(new ServiceError(ServiceErrorCode.STOPPING, 'the service is stopping'));
    // Every step below listens on it (a dozen): not a leak.
    setMaxListeners(0, deadline);
    const step = async (what: string, fn: () => Promise<void> | undefined): Promise<void> => {
      try {
        await Promise.race([fn(), new Promise((_, reject) => deadline.addEventListener('abort', () => reject(deadline.reason), { once: true }))]);
      } catch (err) {
        this.#logger.warn({ err: toError(err) }, `shutdown: ${what} did not finish`);
      }
    };
    // Bounded like every other step: a watch or election stuck in I/O that ignores the abort
    // must not keep the process from committing what it has and exiting (what a stuck watch
    // did not deliver is not lost: the stored resourceVersion does not claim it).
    await step('watches and election to stop', async () => {
      // A start in progress may add the next (the Lease won → the pipeline → the bus side):
      // wait until none is left, so that every part it built is there to be stopped below.
      for (let settled = 0; settled < this.#starting.length; ) {
        settled = this.#starting.length;
        await Promise.allSettled(this.#starting);
      }
      await this.#pipeline?.stopWatches();
    });
    const pipeline = this.#pipeline;
    const bus = this.#bus;
    if (commitPending) {
      let committed = false;
      await step('commit of the last updates', async () => {
        await pipeline?.commitPending();
        committed = pipeline !== undefined;
      });
      await step('publish of the last updates', () => bus?.flush());
      // The projector holds exactly the store's state at its head now: the next start loads
      // its image instead of restoring from the store (restore.ts, projector-image.ts).
      await step('projector image', () => pipeline?.saveImage(committed));
    } else {
      pipeline?.abandon();
      await step('projector image', () => pipeline?.saveImage(false));
    }
    // Before the log closes: the process registry stores the process changes it holds.
    await bus?.close(deadline, step);
    await step('log close', () => pipeline?.close());
    if (this.#deps.store === undefined) await step('store close', () => this.#store?.close());
    // Give the Lease up last (nothing of ours is in flight any more): a standby takes over now
    // instead of after a lease period.
    await step('leader election', () => this.#leadership?.release());
    this.#kube?.close();
    await step('HTTP close', () => this.#http?.app.close());
  }
}

/** The store `--store` names: LMDB in a directory, or etcd under this cluster's key prefix. */
function openStore(config: ServeConfig): Promise<UpdateStore> {
  const store = config.store;
  if (store.kind === 'lmdb') return openLmdbStore({ path: store.path, mapSize: config.lmdbMapSizeMb * 1024 * 1024 });
  const retentionMs = config.etcdHistoryRetentionMs;
  return openEtcdStore({
    endpoints: store.endpoints,
    keyPrefix: config.etcdKeyPrefix ?? `kubemeta/${config.cluster}/`,
    ...(config.etcdTlsCa === undefined ? {} : { caFile: config.etcdTlsCa }),
    ...(config.etcdTlsCert === undefined ? {} : { certFile: config.etcdTlsCert }),
    ...(config.etcdTlsKey === undefined ? {} : { keyFile: config.etcdTlsKey }),
    ...(config.etcdUser === undefined ? {} : { username: config.etcdUser }),
    ...(config.etcdPassword === undefined ? {} : { password: config.etcdPassword }),
    maxTxnOps: config.etcdMaxTxnOps,
    maxRequestBytes: config.etcdMaxRequestBytes,
    historyCompaction: retentionMs === 0 ? false : { retentionMs, intervalMs: Math.min(60_000, retentionMs) },
  });
}
