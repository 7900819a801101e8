import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ServeConfig } from '../config/index.ts';
import { silentLogger, systemClock, toError, withTimeout, type Clock, type Logger } from '../core/index.ts';
import {
  HistoryCompactedError,
  claimWriterFence,
  openEtcdStore,
  openLmdbStore,
  UpdateLog,
  type CommitGuard,
  type CommittedBatch,
  type UpdateStore,
} from '../log/index.ts';
import { Projector } from '../project/index.ts';
import { KubeApiClient, LeaseElector, Reflector, WATCHED_KINDS, type Leadership, type ReflectorStats, type WatchedKind } from '../source/index.ts';
import { AgentRegistry, CredentialIssuer, ProcessRegistry, ReplayServer, type AgentCredentialSigner, ScopeHeartbeat, ScopePublisher, type PublishFaults } from '../bus/index.ts';
import type { StreamId } from '../schema/index.ts';
import { GroupCommitter } from './group-committer.ts';
import { buildHttpServer, listenHttp } from './http-server.ts';
import { Ingest } from './ingest.ts';
import { ServiceMetrics } from './metrics.ts';
import { storeAvailableBytes } from './store-space.ts';
import { NatsConfigError, connectNats, redactNatsUrl } from './nats-connect.ts';
import { SyncProgress } from './progress.ts';
import { LiveScopes } from './live-scopes.ts';
import { restoreProjector, type RestoreResult } from './restore.ts';
import { ImageKeeper } from './image-keeper.ts';
import { PROJECTOR_IMAGE_FILE } from './projector-image.ts';
import { ServiceError } from './errors.ts';
import { loadIssuerSigner, startCredentialIssuer } from './credential-issuer-setup.ts';

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

const PUBLISHED_META = 'bus/flushed';
/**
 * Set by every commit of an initial sync committed as state, removed when it ends: a service
 * restarted in the middle of one goes on committing as state (consumers never saw any of it).
 */
const STATE_SYNC_META = 'sync/as-state';
/** Updates per store commit while the initial sync is committed as state. */
const STATE_BATCH_UPDATES = 20_000;

function encodeVersion(v: number): Uint8Array {
  return new TextEncoder().encode(String(v));
}

function decodeVersion(bytes: Uint8Array): number {
  const v = Number(new TextDecoder().decode(bytes));
  return Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

/** Kinds watched by default; Endpoints only when the server has no EndpointSlices. */
const DEFAULT_KINDS: readonly WatchedKind[] = Object.values(WATCHED_KINDS).filter((k) => k.kind !== 'Endpoints');
const CLUSTER_SCOPED = new Set(['Namespace', 'Node', 'ServiceCIDR']);

/**
 * The metadata service (design "Data flow"): one reflector per kind → projector → group
 * commit to the log → publisher. Owns the lifecycle: restore from the store, initial sync
 * (ready when every kind has listed or resumed and the backlog is committed), graceful drain.
 */
export class MetadataService {
  readonly config: ServeConfig;
  #state: ServiceState = 'starting';
  #failure: Error | undefined;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #abort = abortControllerForMany();
  readonly #reflectors: Reflector[] = [];
  readonly #runs: Promise<void>[] = [];
  readonly #projector: Projector;
  #store: UpdateStore | undefined;
  #ownsStore = true;
  #updateLog: UpdateLog | undefined;
  #committer: GroupCommitter | undefined;
  #publisher: ScopePublisher | undefined;
  #replay: ReplayServer | undefined;
  #registry: AgentRegistry | undefined;
  #processes: ProcessRegistry | undefined;
  #issuerSigner: AgentCredentialSigner | undefined;
  #issuer: CredentialIssuer | undefined;
  #heartbeat: ScopeHeartbeat | undefined;
  #nc: NatsConnection | undefined;
  #kube: KubeApiClient | undefined;
  #http: FastifyInstance | undefined;
  #httpUrl: string | undefined;
  #metrics: ServiceMetrics;
  #progress: SyncProgress;
  #storeTrouble: Error | undefined;
  #timers: NodeJS.Timeout[] = [];
  #startHead = 0;
  readonly #publishFaults: PublishFaults | undefined;
  readonly #registerHttp: ((app: FastifyInstance) => Promise<void>) | undefined;
  #syncBarrier: Promise<void> | undefined;
  #elector: LeaseElector | undefined;
  #leadership: Leadership | undefined;
  readonly #identity: string;
  /** Aborted when the service fails for good (deposed, store fenced): the process should exit. */
  readonly #failed = new AbortController();
  #shutdownDone: Promise<void> | undefined;
  /**
   * How the projector got the store's state at start (in /status); set once it holds it: only
   * then may a stop write its image.
   */
  #restored: (RestoreResult & { ms: number }) | undefined;
  #imageKeeper: ImageKeeper | undefined;

  private constructor(config: ServeConfig, deps: MetadataServiceDeps) {
    this.config = config;
    this.#log = deps.logger ?? silentLogger;
    this.#clock = deps.clock ?? systemClock;
    this.#projector = new Projector({ clock: this.#clock, logger: this.#log, maxNodeScopes: config.maxNodeSubjects });
    this.#kube = deps.kubeClient;
    this.#publishFaults = deps.publishFaults;
    this.#registerHttp = deps.registerHttp;
    this.#identity = config.identity ?? process.env['POD_NAME'] ?? `${hostname()}-${process.pid}`;
    if (deps.store) {
      this.#store = deps.store;
      this.#ownsStore = false;
    }
    this.#progress = new SyncProgress(this.#clock);
    this.#metrics = new ServiceMetrics({
      reflectors: () => this.#reflectors.map((r) => r.stats()),
      log: () => this.#updateLog?.stats(),
      projector: () => this.#projector.stats(),
      publisher: () => this.#publisher?.stats(),
      storeSizeBytes: async () => this.#store?.sizeBytes(),
      ready: () => this.#state === 'ready',
      committerBacklog: () => this.#committer?.backlog ?? 0,
      replay: () => this.#replay?.stats(),
      storeAvailableBytes: () => storeAvailableBytes(config.store),
      leader: () => ({ leading: config.leaderElect ? this.leader().leading : this.#updateLog !== undefined, term: this.#leadership?.term }),
      processes: () => this.#processes?.stats(),
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
    return this.#httpUrl;
  }

  get streamId(): string | undefined {
    return this.#updateLog?.streamId;
  }

  get head(): number {
    return this.#updateLog?.head ?? 0;
  }

  reflectorStats(): ReflectorStats[] {
    return this.#reflectors.map((r) => r.stats());
  }

  overview(): ServiceOverview {
    const replay = this.#replay?.stats();
    return {
      state: this.#state,
      head: this.head,
      scopes: this.#updateLog?.stats().scopes ?? 0,
      replayReceived: replay?.received ?? 0,
      replayCompleted: replay?.outcomes.completed ?? 0,
      reflectors: this.reflectorStats(),
    };
  }

  /** Resolves when the initial sync is complete (rejects if the service fails first). */
  async whenReady(signal?: AbortSignal): Promise<void> {
    while (this.#state !== 'ready') {
      if (this.#state === 'failed' || this.#state === 'stopped') throw new ServiceError('SERVICE_NOT_RUNNING', `the service is ${this.#state}`, { cause: this.#failure });
      await this.#clock.sleep(20, signal);
    }
  }

  readiness(): { ready: boolean; [detail: string]: unknown } {
    return {
      ready: this.#state === 'ready',
      state: this.#state,
      head: this.head,
      storeError: this.#storeTrouble?.message,
      backlog: this.#committer?.backlog ?? 0,
      // 'state' while a new stream's initial sync is committed as current state (nothing is
      // published until it is complete), 'history' otherwise.
      committing: this.#committer?.committingState === true ? 'state' : 'history',
      nats: this.#publisher?.stats().state ?? (this.#nc && this.#committer?.committingState === true ? 'waiting for the initial sync' : 'connecting'),
      kinds: this.#progress.report(this.reflectorStats()),
      // A standby says whom it waits for, or why it cannot take part (a missing Lease namespace).
      ...(this.#elector && !this.leader().leading ? { leaderElection: this.#elector.status() } : {}),
    };
  }

  /** Stops the source, commits and publishes everything received, then closes. Loses nothing. */
  async drain(timeoutMs = 30_000): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'draining') return;
    if (this.#state === 'failed') {
      await this.#shutdownDone;
      return;
    }
    this.#state = 'draining';
    this.#log.info({}, 'draining: stopping watches, committing and publishing what was received');
    await this.#shutdown(timeoutMs);
    this.#state = 'stopped';
  }

  async #start(): Promise<void> {
    const c = this.config;
    this.#issuerSigner = await loadIssuerSigner(c);
    this.#store ??= await openStore(c);
    this.#http = buildHttpServer({
      healthy: () => this.#state !== 'failed',
      readiness: () => this.readiness(),
      metrics: async () => ({ contentType: this.#metrics.contentType, text: await this.#metrics.text() }),
      status: () => this.#statusDoc(),
    });
    await this.#registerHttp?.(this.#http);
    this.#httpUrl = await listenHttp(this.#http, c.http);
    this.#kube ??= KubeApiClient.load({
      ...(c.kubeconfig !== undefined ? { kubeconfig: c.kubeconfig } : {}),
      ...(c.context !== undefined ? { context: c.context } : {}),
      inCluster: c.inCluster,
      qps: c.apiQps,
      burst: c.apiBurst,
      clock: this.#clock,
    });
    if (!c.leaderElect) return this.#startPipeline(undefined);
    this.#state = 'standby';
    this.#elector = new LeaseElector({
      client: this.#kube,
      namespace: c.leaseNamespace,
      name: c.leaseName ?? `kubemeta-${c.cluster.toLowerCase().replace(/[^a-z0-9.-]/g, '-')}`,
      identity: this.#identity,
      leaseDurationMs: c.leaseDurationMs,
      renewDeadlineMs: c.renewDeadlineMs,
      retryPeriodMs: c.retryPeriodMs,
      clock: this.#clock,
      logger: this.#log,
    });
    this.#runs.push(this.#lead(this.#elector));
  }

  /** HA: waits for the Lease, fences the store with the term, then runs the pipeline. */
  async #lead(elector: LeaseElector): Promise<void> {
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
      const fence = await claimWriterFence(this.#store as UpdateStore, { term: leadership.term, identity: leadership.identity });
      await this.#startPipeline(fence);
    } catch (err) {
      this.#fatal(toError(err));
    }
  }

  /** Lost the Lease (or a newer leader fenced the store): stop at once, the successor continues. */
  #deposed(reason: unknown): void {
    if (this.#state === 'draining' || this.#state === 'stopped' || this.#state === 'failed') return;
    this.#fatal(new ServiceError('SERVICE_DEPOSED', `no longer the leader (${toError(reason).message}); stopping so that a standby takes over`));
  }

  /** The projector image's file: beside an LMDB store this service opened (none for etcd). */
  #imagePath(): string | undefined {
    const store = this.config.store;
    return store.kind === 'lmdb' && this.#ownsStore ? join(store.path, PROJECTOR_IMAGE_FILE) : undefined;
  }

  /** A failure the service cannot continue after: /healthz turns 503 and the process should restart. */
  #fatal(err: Error): void {
    if (this.#state === 'failed' || this.#state === 'stopped') return;
    this.#state = 'failed';
    this.#failure = err;
    this.#log.error({ err }, 'the service stopped');
    this.#failed.abort(err);
    void this.#shutdown(5_000, { commitPending: false }).catch(() => undefined);
  }

  async #startPipeline(fence: CommitGuard | undefined): Promise<void> {
    const c = this.config;
    this.#updateLog = await UpdateLog.open(this.#store as UpdateStore, { clock: this.#clock, logger: this.#log.child({ module: 'log' }), ...(fence ? { fence } : {}) });
    // Where publishing resumes: the last version NATS confirmed, stored with the commits. A
    // crash between a commit and its publish leaves versions that are sent again now.
    const published = await this.#updateLog.getMeta(PUBLISHED_META);
    this.#startHead = Math.min(this.#updateLog.head, published ? decodeVersion(published) : 0);
    this.#log.info({ http: this.#httpUrl, streamId: this.#updateLog.streamId, head: this.#startHead }, 'store opened');

    this.#state = 'restoring';
    const restoreStarted = performance.now();
    const restored = await restoreProjector(this.#updateLog, this.#projector, this.#abort.signal, this.#imagePath());
    if (restored.imageRefused !== undefined) this.#log.warn({ reason: restored.imageRefused }, 'the projector image was not used: restoring from the store');
    this.#restored = { ...restored, ms: Math.round(performance.now() - restoreStarted) };
    this.#log.info({ objects: restored.objects, from: restored.from, imageHead: restored.imageHead, replayed: restored.replayed, ms: this.#restored.ms }, 'restored projector state from the store');
    // The initial sync of a new stream (or one a restart interrupted) is committed as current
    // state: no consumer can have followed it, and each bootstraps by snapshot anyway (design
    // §4, §12). Only where one batch is one store commit (LMDB), and unless asked for history.
    const asState =
      !c.syncAsHistory &&
      !Number.isFinite((this.#store as UpdateStore).limits.maxOpsPerCommit) &&
      (this.#updateLog.head === 0 || (await this.#updateLog.getMeta(STATE_SYNC_META)) !== undefined);
    if (asState) this.#log.info({}, 'initial sync of a new stream: committing it as current state; consumers take a snapshot when it is complete');

    this.#committer = new GroupCommitter({
      log: this.#updateLog,
      maxUpdates: c.batchMaxUpdates,
      lingerMs: c.batchLingerMs,
      clock: this.#clock,
      logger: this.#log,
      onCommitted: (batch) => this.#onCommitted(batch),
      extraMeta: (): Record<string, Uint8Array> => (this.#publisher ? { [PUBLISHED_META]: encodeVersion(this.#publisher.stats().flushedVersion) } : {}),
      onStoreTrouble: (failing, err) => {
        this.#storeTrouble = failing ? err : undefined;
        if (failing) this.#metrics.storeFailures.inc();
      },
      onFatal: (err) => this.#fatal(err),
      onEventSplit: () => this.#metrics.splitEvents.inc(),
      onTimings: (eventSeconds, commitSeconds) => {
        this.#metrics.commitSeconds.observe(commitSeconds);
        for (const s of eventSeconds) this.#metrics.eventToPublishSeconds.observe(s);
      },
      ...(asState ? { asState: { batchUpdates: STATE_BATCH_UPDATES, meta: { [STATE_SYNC_META]: encodeVersion(1) } } } : {}),
    });
    const imagePath = this.#imagePath();
    if (imagePath !== undefined) {
      const committer = this.#committer;
      this.#imageKeeper = new ImageKeeper({
        path: imagePath,
        log: this.#updateLog,
        projector: this.#projector,
        quiet: () => this.#state === 'ready' && committer.idle,
        ...(restored.imageHead === undefined ? {} : { imageHead: restored.imageHead }),
        logger: this.#log,
      });
      this.#imageKeeper.start();
    }
    void this.#connectNats();
    this.#state = 'syncing';
    for (const kind of DEFAULT_KINDS) this.#startReflectors(kind);
    this.#timers.push(setInterval(() => this.#progress.log(this.reflectorStats(), this.#log), 1_000));
    // Readiness is checked often: a restart that resumes its watches is synced within a few
    // hundred milliseconds, and a 1 s check made up most of its time to ready.
    this.#timers.push(setInterval(() => this.#checkReady(), 50));
    this.#timers.push(setInterval(() => void this.#compact(), c.compactionIntervalMs));
  }

  #startReflectors(kind: WatchedKind): void {
    const namespaces = this.config.namespaces.length > 0 && !CLUSTER_SCOPED.has(kind.kind) ? this.config.namespaces : [undefined];
    for (const namespace of namespaces) {
      const stored = this.#updateLog?.resourceVersions()[Ingest.resumeKey(kind.kind, namespace)];
      const reflector = new Reflector({
        client: this.#kube as KubeApiClient,
        kind,
        sink: new Ingest(this.#projector, this.#committer as GroupCommitter, namespace),
        ...(namespace !== undefined ? { namespace } : {}),
        ...(stored !== undefined ? { resumeFrom: stored } : {}),
        pageSize: this.config.listPageSize,
        watchList: !this.config.listWithPages,
        idleTimeoutMs: this.config.watchIdleTimeoutMs,
        clock: this.#clock,
        logger: this.#log.child({ module: 'source' }),
      });
      this.#reflectors.push(reflector);
      this.#runs.push(this.#runReflector(reflector, kind));
    }
  }

  async #runReflector(reflector: Reflector, kind: WatchedKind): Promise<void> {
    try {
      await reflector.run(this.#abort.signal);
    } catch (err) {
      if (kind.kind === 'EndpointSlice') {
        this.#log.warn({ err: toError(err) }, 'EndpointSlices are not served; watching Endpoints instead');
        this.#startReflectors(WATCHED_KINDS.Endpoints);
        return;
      }
      this.#log.warn({ err: toError(err), kind: kind.kind }, 'kind not served by this API server; not watching it');
    }
  }

  async #connectNats(): Promise<void> {
    try {
      this.#nc = await connectNats(this.config, `kubemeta-serve-${this.config.cluster}`, this.#abort.signal, (err, retryInMs) => {
        this.#log.warn({ err, retryInMs, servers: this.config.natsUrls.map(redactNatsUrl) }, 'cannot connect to NATS yet; retrying');
      });
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      // Credentials or TLS the NATS server refuses (NatsConfigError): retrying cannot help, and
      // a service that publishes nothing must not look healthy. Fail; the process exits 1.
      if (err instanceof NatsConfigError) this.#fatal(err);
      else this.#log.error({ err: toError(err) }, 'cannot connect to NATS');
      return;
    }
    try {
      await this.#startBus(this.#nc);
    } catch (err) {
      // Not an unhandled rejection (that ended the process): a bus that could not start is a
      // failure the service cannot go on from; it stops, and its restart starts the bus anew.
      if (!this.#abort.signal.aborted) this.#fatal(toError(err));
    }
  }

  /** The NATS side: replay answers, agent and process registries, credentials, publishing. */
  async #startBus(nc: NatsConnection): Promise<void> {
    const log = this.#updateLog as UpdateLog;
    const common = { connection: nc, cluster: this.config.cluster, logger: this.#log.child({ module: 'bus' }) };
    const requireScopedInboxes = this.config.requireScopedInboxes;
    const c = this.config;
    this.#replay = new ReplayServer({
      ...common,
      log,
      requireScopedInboxes,
      maxLimit: c.replayMaxLimit,
      defaultLimit: Math.min(100_000, c.replayMaxLimit),
      maxConcurrentAnswers: c.replayMaxConcurrent,
      maxQueuedRequests: c.replayMaxQueued,
      requesterRatePerSec: c.replayRequesterRate,
      requesterBurst: c.replayRequesterBurst,
      maxAnswersPerRequester: c.replayMaxPerRequester,
      // While the initial sync is committed as state, a snapshot would be half a sync
      // (docs/design.md §12): consumers are told to retry (UNAVAILABLE) until it is complete.
      available: () => this.#state !== 'draining' && this.#state !== 'stopped' && this.#committer?.committingState !== true,
    });
    await this.#replay.start();
    this.#registry = new AgentRegistry({ ...common, log, requireScopedInboxes });
    await this.#registry.start();
    await this.#startProcessRegistry(log, this.#registry);
    if (this.#issuerSigner) {
      this.#issuer = startCredentialIssuer({
        config: c,
        signer: this.#issuerSigner,
        connection: nc,
        kube: this.#kube as KubeApiClient,
        pod: (uid) => this.#projector.pod(uid),
        ready: () => this.#state === 'ready',
        metrics: this.#metrics,
        logger: this.#log.child({ module: 'issuer' }),
      });
    }
    if (this.#committer?.committingState !== true) this.#startPublishing();
    this.#log.info({ servers: this.config.natsUrls.map(redactNatsUrl), issuer: this.#issuer !== undefined }, `connected to NATS; answering replay and agent registration${this.#issuer ? ' and issuing agent credentials' : ''}`);
  }

  /**
   * Process reports from agents (wire-protocol §12), kept as log metadata: not versioned, not
   * published. Taken only once ready: before, the projector may not know an agent's pods yet.
   */
  async #startProcessRegistry(log: UpdateLog, registry: AgentRegistry): Promise<void> {
    const c = this.config;
    const limits = (this.#store as UpdateStore).limits;
    this.#processes = new ProcessRegistry({
      connection: this.#nc as NatsConnection,
      cluster: c.cluster,
      log,
      nodeOfAsid: (asid) => registry.nodeOfAsid(asid),
      pod: (uid) => this.#projector.pod(uid),
      available: () => this.#state === 'ready',
      retentionMs: c.processRetentionMs,
      reportRate: c.processReportRate,
      reportBurst: c.processReportBurst,
      maxLivePerNode: c.processMaxLivePerNode,
      maxStoppedPerNode: c.processMaxStoppedPerNode,
      // Within one store commit (etcd's --max-txn-ops and request size; a record is ≤ ~4.5 KB).
      maxPerCommit: Math.max(1, Math.min(100, limits.maxOpsPerCommit - 8, Math.floor(limits.maxBytesPerCommit / 5_000))),
      sweepIntervalMs: Math.min(60_000, Math.max(1_000, Math.floor(c.processRetentionMs / 10))),
      clock: this.#clock,
      logger: this.#log.child({ module: 'bus' }),
    });
    await this.#processes.start();
  }

  /**
   * Publishing and heartbeats start once NATS is connected and no initial sync is being
   * committed as state (whichever comes last): heartbeats then announce every scope's head at
   * once, and consumers waiting for the sync take their snapshots.
   */
  #startPublishing(): void {
    if (this.#publisher || !this.#nc || this.#abort.signal.aborted) return;
    const log = this.#updateLog as UpdateLog;
    this.#publisher = new ScopePublisher({
      connection: this.#nc,
      cluster: this.config.cluster,
      streamId: log.streamId as StreamId,
      history: { get head() { return log.head; }, readHistory: (after, limit) => readHistorySkippingCompacted(log, after, limit) },
      maxMessageBytes: this.config.publishMaxMessageBytes,
      logger: this.#log,
      resumeFrom: this.#startHead,
      ...(this.#publishFaults ? { faults: this.#publishFaults } : {}),
    });
    // Heartbeats for the live cluster only: scopes of nodes gone for longer than the grace
    // period cost nothing more (live-scopes.ts).
    const heads = new LiveScopes({ heads: log, liveNodeScopes: () => this.#projector.liveNodeScopes(), clock: this.#clock, graceMs: this.config.goneScopeHeartbeatMs });
    this.#heartbeat = new ScopeHeartbeat({ connection: this.#nc, cluster: this.config.cluster, logger: this.#log.child({ module: 'bus' }), streamId: log.streamId, heads, publisher: this.#publisher });
    this.#heartbeat.start();
    this.#log.info({}, 'publishing updates and scope heartbeats');
  }

  #onCommitted(batch: CommittedBatch): void {
    const start = performance.now();
    this.#publisher?.publishCommitted(batch.updates);
    this.#metrics.publishSeconds.observe((performance.now() - start) / 1000);
  }

  /**
   * Ready once every kind has listed (or resumed) and everything received until then is
   * committed and published: a barrier, so readiness does not wait for a quiet moment.
   */
  #checkReady(): void {
    if (this.#state !== 'syncing' || this.#syncBarrier) return;
    const stats = this.reflectorStats();
    if (!stats.every((s) => s.synced || s.phase === 'unsupported')) return;
    const committer = this.#committer as GroupCommitter;
    this.#syncBarrier = committer
      .barrier()
      .then(() => this.#endStateSync(committer))
      .then(
        () => {
          if (this.#state !== 'syncing') return;
          this.#state = 'ready';
          this.#log.info({ head: this.head, ...this.#progress.summary(stats) }, 'initial sync complete; ready');
        },
        (err: unknown) => {
          // The floor could not be committed (store trouble): the next check tries again.
          if (this.#state === 'syncing') this.#log.warn({ err: toError(err) }, 'could not complete the initial sync; retrying');
          this.#syncBarrier = undefined;
        },
      );
  }

  /**
   * After an initial sync committed as state: the floor goes above its versions (tails across
   * them are answered by snapshot, the publisher never re-sends them), in one commit with the
   * end of the state-sync marker; then publishing starts from there.
   */
  async #endStateSync(committer: GroupCommitter): Promise<void> {
    if (!committer.committingState) return;
    const log = this.#updateLog as UpdateLog;
    await committer.endStateSync(async () => {
      const head = log.head;
      await log.raiseFloor(head + 1, { [STATE_SYNC_META]: null, [PUBLISHED_META]: encodeVersion(head) });
      this.#startHead = head;
    });
    this.#log.info({ head: log.head }, 'initial sync committed as current state; consumers bootstrap by snapshot from here');
    this.#startPublishing();
  }

  async #compact(): Promise<void> {
    const c = this.config;
    try {
      await this.#updateLog?.compact({ keepUpdates: c.historyKeepUpdates, keepAgeMs: c.historyKeepAgeMs, tombstoneRetentionMs: c.tombstoneRetentionMs, signal: this.#abort.signal });
    } catch (err) {
      if (!this.#abort.signal.aborted) this.#log.warn({ err: toError(err) }, 'compaction failed; will try again');
    }
  }

  #statusDoc(): unknown {
    return {
      state: this.#state,
      cluster: this.config.cluster,
      streamId: this.streamId,
      head: this.head,
      log: this.#updateLog?.stats(),
      projector: this.#projector.stats(),
      ...(this.#restored ? { restore: this.#restored } : {}),
      ...(this.#imageKeeper ? { projectorImage: this.#imageKeeper.stats() } : {}),
      publisher: this.#publisher?.stats(),
      replay: this.#replay?.stats(),
      agents: this.#registry?.stats(),
      processes: this.#processes?.stats(),
      ...(this.#issuer ? { credentials: this.#issuer.stats() } : {}),
      heartbeat: this.#heartbeat?.stats(),
      reflectors: this.reflectorStats(),
      ...(this.config.leaderElect ? { leader: this.leader() } : {}),
      ...(this.#failure ? { failure: this.#failure.message } : {}),
    };
  }

  #shutdown(timeoutMs = 30_000, options: { commitPending: boolean } = { commitPending: true }): Promise<void> {
    this.#shutdownDone ??= this.#runShutdown(timeoutMs, options.commitPending);
    return this.#shutdownDone;
  }

  /**
   * Graceful (drain): everything received is committed and published. After a fatal failure
   * (deposed leader) nothing more is committed: the successor owns the store.
   */
  async #runShutdown(timeoutMs: number, commitPending: boolean): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#abort.abort(new ServiceError('SERVICE_STOPPING', 'the service is stopping'));
    const deadline = withTimeout(undefined, timeoutMs);
    // Every step below listens on it (a dozen): not a leak.
    setMaxListeners(0, deadline);
    const step = async (what: string, fn: () => Promise<void> | undefined): Promise<void> => {
      try {
        await Promise.race([fn(), new Promise((_, reject) => deadline.addEventListener('abort', () => reject(deadline.reason), { once: true }))]);
      } catch (err) {
        this.#log.warn({ err: toError(err) }, `shutdown: ${what} did not finish`);
      }
    };
    // Bounded like every other step: a watch or election stuck in I/O that ignores the abort
    // must not keep the process from committing what it has and exiting (what a stuck watch
    // did not deliver is not lost: the stored resourceVersion does not claim it).
    await step('watches and election to stop', async () => {
      await Promise.allSettled(this.#runs);
    });
    if (commitPending) {
      let committed = false;
      await step('commit of the last updates', async () => {
        await this.#committer?.close();
        committed = this.#committer !== undefined;
      });
      await step('publish of the last updates', () => this.#publisher?.flush());
      // The projector holds exactly the store's state at its head now: the next start loads
      // its image instead of restoring from the store (restore.ts, projector-image.ts).
      await step('projector image', () => this.#imageKeeper?.stop(committed));
    } else {
      this.#committer?.abandon();
      await step('projector image', () => this.#imageKeeper?.stop(false));
    }
    this.#heartbeat?.close();
    await step('replay answers in flight', () => this.#replay?.drain(deadline));
    await step('agent registry', () => this.#registry?.close());
    // Before the log closes: the process changes not stored yet are written now.
    await step('process registry', () => this.#processes?.close());
    await step('credential issuer', () => this.#issuer?.close());
    this.#publisher?.close();
    await step('NATS drain', () => this.#nc?.drain());
    // A drain needs the server (it ends with a flush): with NATS down it fails and left the
    // connection reconnecting forever, which kept the process alive. A close needs nothing.
    await this.#nc?.close().catch(() => undefined);
    await step('log close', () => this.#updateLog?.close());
    if (this.#ownsStore) await step('store close', () => this.#store?.close());
    // Give the Lease up last (nothing of ours is in flight any more): a standby takes over now
    // instead of after a lease period.
    await step('leader election', () => this.#leadership?.release());
    this.#kube?.close();
    await step('HTTP close', () => this.#http?.close());
  }
}

/**
 * History for the publisher's catch-up. Updates compacted away cannot be re-sent; consumers
 * that missed them recover by snapshot (docs/design.md §4), so the catch-up continues after the floor.
 */
async function readHistorySkippingCompacted(log: UpdateLog, after: number, limit: number) {
  try {
    return await log.readHistory(after, limit);
  } catch (err) {
    if (err instanceof HistoryCompactedError) return log.readHistory(err.floor - 1, limit);
    throw err;
  }
}

/** One abort signal shared by every reflector and timer: many listeners are expected. */
function abortControllerForMany(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
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
