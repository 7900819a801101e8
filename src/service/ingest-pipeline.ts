import { setMaxListeners } from 'node:events';
import type { ServeConfig } from '../config/index.ts';
import { ClosedError, toError, type Clock, type Logger } from '../core/index.ts';
import { UpdateLog, type CommitGuard, type CommittedBatch, type UpdateStore } from '../log/index.ts';
import type { Projector } from '../project/index.ts';
import { Reflector, WATCHED_KINDS, type KubeApiClient, type ReflectorStats, type WatchedKind } from '../source/index.ts';
import { GroupCommitter } from './group-committer.ts';
import { ImageKeeper } from './image-keeper.ts';
import { Ingest } from './ingest.ts';
import type { ServiceMetrics } from './metrics.ts';
import { SyncProgress, type KindProgress } from './progress.ts';
import { restoreProjector, type RestoreResult } from './restore.ts';

/**
 * Log metadata: the last version NATS confirmed, stored with every commit. Where publishing
 * resumes after a restart (the stored name predates this constant's name: existing stores hold it).
 */
export const PUBLISH_CONFIRMED_META = 'bus/flushed';
/**
 * Set by every commit of an initial sync committed as state, removed when it ends: a service
 * restarted in the middle of one goes on committing as state (consumers never saw any of it).
 */
const STATE_SYNC_META = 'sync/as-state';
/** Updates per store commit while the initial sync is committed as state. */
const STATE_BATCH_UPDATES = 20_000;
/** Kinds watched by default; Endpoints only when the server has no EndpointSlices. */
const DEFAULT_KINDS: readonly WatchedKind[] = Object.values(WATCHED_KINDS).filter((k) => k.kind !== 'Endpoints');
const CLUSTER_SCOPED = new Set(['Namespace', 'Node', 'ServiceCIDR']);
/**
 * Store ops per compaction step. Each step holds the log's commit queue and reads the state
 * entries of what it drops synchronously (LMDB): at the default 2,000 a step kept commits
 * waiting 50–110 ms (CPU profile under churn at 30,000 pods), most of the write → agent p99.
 */
const COMPACTION_STEP_OPS = 256;
/**
 * How often the sync's end is checked: a restart that resumes its watches is synced within a
 * few hundred milliseconds, and a 1 s check made up most of its time to ready.
 */
const SYNC_CHECK_MS = 50;

function encodeVersion(v: number): Uint8Array {
  return new TextEncoder().encode(String(v));
}

function decodeVersion(bytes: Uint8Array): number {
  const v = Number(new TextDecoder().decode(bytes));
  return Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

/** Where durable batches go: the bus side, once it publishes. */
export interface CommitListener {
  /** A durable batch, in version order (docs/design.md §3: commit before publish). Must not throw. */
  committed(batch: CommittedBatch): void;
  /** The last version NATS confirmed, stored with every commit; undefined while nothing is published. */
  confirmedVersion(): number | undefined;
}

export interface IngestPipelineOptions {
  config: ServeConfig;
  store: UpdateStore;
  /** HA: the writer fence claimed with the Lease's term (log/fence.ts). */
  fence: CommitGuard | undefined;
  projector: Projector;
  kube: KubeApiClient;
  /** The projector image beside the store (undefined: none, e.g. etcd). */
  imagePath: string | undefined;
  listener: CommitListener;
  metrics: ServiceMetrics;
  /** The service is ready: the image keeper writes only then. */
  ready: () => boolean;
  /** The log stopped for good (fenced, failed): the service must stop. */
  onFatal: (err: Error) => void;
  clock: Clock;
  logger: Logger;
  /** Aborts the restore. */
  signal: AbortSignal;
}

/**
 * The source → project → log side of the service, opened: the log with the projector restored
 * from it, the group committer, the projector image keeper, and (after `start`) one reflector
 * per kind. Each batch the committer makes durable goes to the CommitListener. Stopping is in
 * the steps a graceful shutdown orders around the bus side: stopWatches, commitPending,
 * saveImage, close.
 */
export class IngestPipeline {
  readonly log: UpdateLog;
  readonly restored: RestoreResult & { ms: number };
  readonly #committer: GroupCommitter;
  readonly #imageKeeper: ImageKeeper | undefined;
  readonly #options: IngestPipelineOptions;
  readonly #logger: Logger;
  readonly #progress: SyncProgress;
  /** Stops the reflectors and the sync check; the service's own signal only aborts the restore. */
  readonly #stop = new AbortController();
  readonly #reflectors: Reflector[] = [];
  readonly #runs: Promise<void>[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #startHead: number;
  #storeTrouble: Error | undefined;

  private constructor(options: IngestPipelineOptions, log: UpdateLog, startHead: number, restored: RestoreResult & { ms: number }, asState: boolean) {
    this.#options = options;
    this.#logger = options.logger;
    this.log = log;
    this.#startHead = startHead;
    this.restored = restored;
    this.#progress = new SyncProgress(options.clock);
    setMaxListeners(0, this.#stop.signal);
    const { config: c, metrics } = options;
    this.#committer = new GroupCommitter({
      log,
      maxUpdates: c.batchMaxUpdates,
      lingerMs: c.batchLingerMs,
      clock: options.clock,
      logger: options.logger,
      onCommitted: (batch) => options.listener.committed(batch),
      extraMeta: (): Record<string, Uint8Array> => {
        const confirmed = options.listener.confirmedVersion();
        return confirmed === undefined ? {} : { [PUBLISH_CONFIRMED_META]: encodeVersion(confirmed) };
      },
      onStoreTrouble: (failing, err) => {
        this.#storeTrouble = failing ? err : undefined;
        if (failing) metrics.storeFailures.inc();
      },
      onFatal: options.onFatal,
      onEventSplit: () => metrics.splitEvents.inc(),
      onTimings: (eventSeconds, commitSeconds) => {
        metrics.commitSeconds.observe(commitSeconds);
        for (const s of eventSeconds) metrics.eventToPublishSeconds.observe(s);
      },
      ...(asState ? { asState: { batchUpdates: STATE_BATCH_UPDATES } } : {}),
    });
    if (options.imagePath !== undefined) {
      const committer = this.#committer;
      this.#imageKeeper = new ImageKeeper({
        path: options.imagePath,
        log,
        projector: options.projector,
        quiet: () => options.ready() && committer.idle,
        ...(restored.imageHead === undefined ? {} : { imageHead: restored.imageHead }),
        logger: options.logger,
      });
      this.#imageKeeper.start();
    }
  }

  /** Opens the log on the store and restores the projector from it (its image, or every object). */
  static async open(options: IngestPipelineOptions): Promise<IngestPipeline> {
    const { config: c, store, logger } = options;
    const log = await UpdateLog.open(store, { clock: options.clock, logger: logger.child({ module: 'log' }), ...(options.fence ? { fence: options.fence } : {}) });
    try {
      // Where publishing resumes: the last version NATS confirmed, stored with the commits. A
      // crash between a commit and its publish leaves versions that are sent again now.
      const confirmed = await log.getMeta(PUBLISH_CONFIRMED_META);
      const startHead = Math.min(log.head, confirmed ? decodeVersion(confirmed) : 0);
      logger.info({ streamId: log.streamId, head: startHead }, 'store opened');
      const started = performance.now();
      const restored = await restoreProjector(log, options.projector, options.signal, options.imagePath);
      if (restored.imageRefused !== undefined) logger.warn({ reason: restored.imageRefused }, 'the projector image was not used: restoring from the store');
      const ms = Math.round(performance.now() - started);
      logger.info({ objects: restored.objects, from: restored.from, imageHead: restored.imageHead, replayed: restored.replayed, ms }, 'restored projector state from the store');
      // The initial sync of a new stream (or one a restart interrupted) is committed as current
      // state: no consumer can have followed it, and each bootstraps by snapshot anyway (docs/design.md
      // §4, §12). Only where one batch is one store commit (LMDB), and unless asked for history.
      const marker = await log.getMeta(STATE_SYNC_META);
      const asState = !c.syncAsHistory && !Number.isFinite(store.limits.maxOpsPerCommit) && (log.head === 0 || marker !== undefined);
      if (asState) {
        // The marker is durable before the first state commit (whose own meta the log holds
        // with its state until the end, state-spool.ts): a start after a crash must know that
        // the sync was not finished and go on with it as state.
        if (marker === undefined) await log.commit([], { meta: { [STATE_SYNC_META]: encodeVersion(1) } });
        logger.info({}, 'initial sync of a new stream: committing it as current state; consumers take a snapshot when it is complete');
      }
      return new IngestPipeline(options, log, startHead, { ...restored, ms }, asState);
    } catch (err) {
      await log.close().catch(() => undefined);
      throw err;
    }
  }

  /** Where publishing starts: the last confirmed version, or the end of a sync committed as state. */
  get startHead(): number {
    return this.#startHead;
  }

  /** True while a new stream's initial sync is committed as current state (nothing is published). */
  get committingState(): boolean {
    return this.#committer.committingState;
  }

  get backlog(): number {
    return this.#committer.backlog;
  }

  /** The store's last commit failure while it is failing (commits are retried). */
  get storeTrouble(): Error | undefined {
    return this.#storeTrouble;
  }

  reflectorStats(): ReflectorStats[] {
    return this.#reflectors.map((r) => r.stats());
  }

  progress(): KindProgress[] {
    return this.#progress.report(this.reflectorStats());
  }

  imageStats(): ReturnType<ImageKeeper['stats']> | undefined {
    return this.#imageKeeper?.stats();
  }

  /** Starts one reflector per kind (per namespace with --namespaces), progress logs and compaction. */
  start(): void {
    for (const kind of DEFAULT_KINDS) this.#startReflectors(kind);
    const c = this.#options.config;
    this.#timers.push(setInterval(() => this.#progress.log(this.reflectorStats(), this.#logger), 1_000));
    this.#timers.push(setInterval(() => void this.#compact(), c.compactionIntervalMs));
  }

  /**
   * Resolves once every kind has listed (or resumed) and everything received until then is
   * committed — a barrier, so it does not wait for a quiet moment under churn — and a sync
   * committed as state has ended (its floor committed; publishing starts after it). A failed
   * floor commit (store trouble) is tried again. Rejects when the pipeline stops first.
   */
  async synced(): Promise<void> {
    const signal = this.#stop.signal;
    const clock = this.#options.clock;
    for (;;) {
      await clock.sleep(SYNC_CHECK_MS, signal);
      const stats = this.reflectorStats();
      if (!stats.every((s) => s.synced || s.phase === 'unsupported')) continue;
      try {
        await this.#committer.barrier();
        await this.#endStateSync();
      } catch (err) {
        if (signal.aborted) throw err;
        this.#logger.warn({ err: toError(err) }, 'could not complete the initial sync; retrying');
        continue;
      }
      this.#logger.info({ head: this.log.head, ...this.#progress.summary(stats) }, 'initial sync complete; ready');
      return;
    }
  }

  /** Stops the watches and timers; resolves once every reflector has returned. */
  async stopWatches(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#stop.abort(new ClosedError('ingest pipeline'));
    await Promise.allSettled(this.#runs);
  }

  /** Commits and hands over everything received (graceful stop). */
  async commitPending(): Promise<void> {
    await this.#committer.close();
  }

  /** Drops what is not committed: the log stopped for good and a successor commits it from its own watch. */
  abandon(): void {
    this.#committer.abandon();
  }

  /**
   * Stops the image keeper; `final`: everything received is committed, so the projector equals
   * the store at its head and the next start loads its image instead of the store.
   */
  async saveImage(final: boolean): Promise<void> {
    await this.#imageKeeper?.stop(final);
  }

  async close(): Promise<void> {
    await this.log.close();
  }

  /**
   * After an initial sync committed as state: the floor goes above its versions (tails across
   * them are answered by snapshot, the publisher never re-sends them), in one commit with the
   * end of the state-sync marker; publishing then starts from there.
   */
  async #endStateSync(): Promise<void> {
    if (!this.#committer.committingState) return;
    const log = this.log;
    await this.#committer.endStateSync(async () => {
      const head = log.head;
      await log.raiseFloor(head + 1, { [STATE_SYNC_META]: null, [PUBLISH_CONFIRMED_META]: encodeVersion(head) });
      this.#startHead = head;
    });
    this.#logger.info({ head: log.head }, 'initial sync committed as current state; consumers bootstrap by snapshot from here');
  }

  #startReflectors(kind: WatchedKind): void {
    const c = this.#options.config;
    const namespaces = c.namespaces.length > 0 && !CLUSTER_SCOPED.has(kind.kind) ? c.namespaces : [undefined];
    for (const namespace of namespaces) {
      const stored = this.log.resourceVersions()[Ingest.resumeKey(kind.kind, namespace)];
      const reflector = new Reflector({
        client: this.#options.kube,
        kind,
        sink: new Ingest(this.#options.projector, this.#committer, namespace),
        ...(namespace !== undefined ? { namespace } : {}),
        ...(stored !== undefined ? { resumeFrom: stored } : {}),
        pageSize: c.listPageSize,
        watchList: !c.listWithPages,
        idleTimeoutMs: c.watchIdleTimeoutMs,
        clock: this.#options.clock,
        logger: this.#logger.child({ module: 'source' }),
      });
      this.#reflectors.push(reflector);
      this.#runs.push(this.#runReflector(reflector, kind));
    }
  }

  async #runReflector(reflector: Reflector, kind: WatchedKind): Promise<void> {
    try {
      await reflector.run(this.#stop.signal);
    } catch (err) {
      if (kind.kind === 'EndpointSlice') {
        this.#logger.warn({ err: toError(err) }, 'EndpointSlices are not served; watching Endpoints instead');
        this.#startReflectors(WATCHED_KINDS.Endpoints);
        return;
      }
      this.#logger.warn({ err: toError(err), kind: kind.kind }, 'kind not served by this API server; not watching it');
    }
  }

  async #compact(): Promise<void> {
    const c = this.#options.config;
    try {
      await this.log.compact({
        keepUpdates: c.historyKeepUpdates,
        keepAgeMs: c.historyKeepAgeMs,
        tombstoneRetentionMs: c.tombstoneRetentionMs,
        maxOpsPerCommit: COMPACTION_STEP_OPS,
        signal: this.#stop.signal,
      });
    } catch (err) {
      if (!this.#stop.signal.aborted) this.#logger.warn({ err: toError(err) }, 'compaction failed; will try again');
    }
  }
}
