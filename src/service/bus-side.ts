import type { NatsConnection } from '@nats-io/transport-node';
import type { ServeConfig } from '../config/index.ts';
import type { Clock, Logger } from '../core/index.ts';
import { HistoryCompactedError, type CommittedBatch, type StoreLimits, type UpdateLog } from '../log/index.ts';
import type { Projector } from '../project/index.ts';
import type { KubeApiClient } from '../source/index.ts';
import {
  AgentRegistry,
  ProcessRegistry,
  ReplayServer,
  ScopeHeartbeat,
  ScopePublisher,
  type AgentCredentialSigner,
  type CredentialIssuer,
  type PublishFaults,
} from '../bus/index.ts';
import type { StreamId } from '../schema/index.ts';
import { startCredentialIssuer } from './credential-issuer-setup.ts';
import type { CommitListener } from './ingest-pipeline.ts';
import { LiveScopes } from './live-scopes.ts';
import type { ServiceMetrics } from './metrics.ts';
import { connectNats, redactNatsUrl } from './nats-connect.ts';

export interface BusSideOptions {
  config: ServeConfig;
  log: UpdateLog;
  /** The store's per-commit limits (process records are committed within them). */
  storeLimits: StoreLimits;
  projector: Projector;
  kube: KubeApiClient;
  /** Signs node agents' credentials (--issuer-signing-key-file); undefined: no issuer. */
  issuerSigner: AgentCredentialSigner | undefined;
  metrics: ServiceMetrics;
  /** Test hook: drop a fraction of published messages (consumers must repair by replay). */
  publishFaults: PublishFaults | undefined;
  /** The service's state is complete: process reports and credentials are taken only then. */
  ready: () => boolean;
  /** Replay may answer (not draining, not in a sync committed as state: a snapshot would be half a sync). */
  replayAvailable: () => boolean;
  clock: Clock;
  logger: Logger;
  /** Ends the connection attempts (the service stops). */
  signal: AbortSignal;
}

/**
 * The NATS side of the service, started: replay answers, the agent and process registries,
 * the credential issuer, and (from `startPublishing`) the publisher and scope heartbeats. It
 * owns its connection. Built whole or not at all: `connect` closes what it started when a later
 * part fails.
 */
export class BusSide implements CommitListener {
  readonly connection: NatsConnection;
  readonly replay: ReplayServer;
  readonly agents: AgentRegistry;
  readonly processes: ProcessRegistry;
  readonly issuer: CredentialIssuer | undefined;
  readonly #options: BusSideOptions;
  #publisher: ScopePublisher | undefined;
  #heartbeat: ScopeHeartbeat | undefined;

  private constructor(options: BusSideOptions, parts: { connection: NatsConnection; replay: ReplayServer; agents: AgentRegistry; processes: ProcessRegistry; issuer: CredentialIssuer | undefined }) {
    this.#options = options;
    this.connection = parts.connection;
    this.replay = parts.replay;
    this.agents = parts.agents;
    this.processes = parts.processes;
    this.issuer = parts.issuer;
  }

  /**
   * Connects to NATS (retrying while the server is unreachable) and starts the bus parts.
   * Rejects with NatsConfigError when the server refuses our credentials or TLS (retrying
   * cannot help), or with the abort reason.
   */
  static async connect(options: BusSideOptions): Promise<BusSide> {
    const { config: c, logger } = options;
    const connection = await connectNats(c, `kubemeta-serve-${c.cluster}`, options.signal, (err, retryInMs) => {
      logger.warn({ err, retryInMs, servers: c.natsUrls.map(redactNatsUrl) }, 'cannot connect to NATS yet; retrying');
    });
    const started: Array<{ close(): Promise<void> | void }> = [];
    try {
      const busLogger = logger.child({ module: 'bus' });
      const common = { connection, cluster: c.cluster, logger: busLogger };
      const log = options.log;
      const replay = new ReplayServer({
        ...common,
        log,
        requireScopedInboxes: c.requireScopedInboxes,
        maxLimit: c.replayMaxLimit,
        defaultLimit: Math.min(100_000, c.replayMaxLimit),
        maxConcurrentAnswers: c.replayMaxConcurrent,
        maxQueuedRequests: c.replayMaxQueued,
        requesterRatePerSec: c.replayRequesterRate,
        requesterBurst: c.replayRequesterBurst,
        maxAnswersPerRequester: c.replayMaxPerRequester,
        available: options.replayAvailable,
      });
      started.push(replay);
      await replay.start();
      const agents = new AgentRegistry({ ...common, log, requireScopedInboxes: c.requireScopedInboxes });
      started.push(agents);
      await agents.start();
      const processes = processRegistry(options, connection, agents, busLogger);
      started.push(processes);
      await processes.start();
      const issuer = options.issuerSigner
        ? startCredentialIssuer({
            config: c,
            signer: options.issuerSigner,
            connection,
            kube: options.kube,
            pod: (uid) => options.projector.pod(uid),
            ready: options.ready,
            metrics: options.metrics,
            logger: logger.child({ module: 'issuer' }),
          })
        : undefined;
      logger.info({ servers: c.natsUrls.map(redactNatsUrl), issuer: issuer !== undefined }, `connected to NATS; answering replay and agent registration${issuer ? ' and issuing agent credentials' : ''}`);
      return new BusSide(options, { connection, replay, agents, processes, issuer });
    } catch (err) {
      for (const part of started.reverse()) await Promise.resolve(part.close()).catch(() => undefined);
      await connection.close().catch(() => undefined);
      throw err;
    }
  }

  get publisher(): ScopePublisher | undefined {
    return this.#publisher;
  }

  get heartbeat(): ScopeHeartbeat | undefined {
    return this.#heartbeat;
  }

  /**
   * Starts publishing committed batches from version `resumeFrom` (what NATS confirmed last;
   * later versions committed before are sent again first) and heartbeats for the live
   * scopes. Once only; the service calls it when the bus is up and no initial sync is being
   * committed as state, whichever comes last.
   */
  startPublishing(resumeFrom: number): void {
    if (this.#publisher) return;
    const { config: c, log, logger } = this.#options;
    this.#publisher = new ScopePublisher({
      connection: this.connection,
      cluster: c.cluster,
      streamId: log.streamId as StreamId,
      history: { get head() { return log.head; }, readHistory: (after, limit) => readHistorySkippingCompacted(log, after, limit) },
      maxMessageBytes: c.publishMaxMessageBytes,
      logger,
      resumeFrom,
      ...(this.#options.publishFaults ? { faults: this.#options.publishFaults } : {}),
    });
    // Heartbeats for the live cluster only: scopes of nodes gone for longer than the grace
    // period cost nothing more (live-scopes.ts).
    const heads = new LiveScopes({ heads: log, liveNodeScopes: () => this.#options.projector.liveNodeScopes(), clock: this.#options.clock, graceMs: c.goneScopeHeartbeatMs });
    this.#heartbeat = new ScopeHeartbeat({ connection: this.connection, cluster: c.cluster, logger: logger.child({ module: 'bus' }), streamId: log.streamId, heads, publisher: this.#publisher });
    this.#heartbeat.start();
    logger.info({}, 'publishing updates and scope heartbeats');
  }

  committed(batch: CommittedBatch): void {
    if (!this.#publisher) return;
    const start = performance.now();
    this.#publisher.publishCommitted(batch.updates);
    this.#options.metrics.publishSeconds.observe((performance.now() - start) / 1000);
  }

  confirmedVersion(): number | undefined {
    return this.#publisher?.stats().flushedVersion;
  }

  /** Waits until NATS confirmed everything handed to the publisher. */
  async flush(): Promise<void> {
    await this.#publisher?.flush();
  }

  /**
   * Stops every part, in the order that loses nothing: heartbeats, replay answers in flight
   * (ended at `deadline`), the registries (the process registry stores what it holds: before
   * the log closes), the issuer, the publisher, then the connection. `step` runs each one
   * bounded by the shutdown's deadline and logs what did not finish.
   */
  async close(deadline: AbortSignal, step: (what: string, fn: () => Promise<void> | undefined) => Promise<void>): Promise<void> {
    this.#heartbeat?.close();
    await step('replay answers in flight', () => this.replay.drain(deadline));
    await step('agent registry', () => this.agents.close());
    await step('process registry', () => this.processes.close());
    await step('credential issuer', () => this.issuer?.close());
    this.#publisher?.close();
    await step('NATS drain', () => this.connection.drain());
    // A drain needs the server (it ends with a flush): with NATS down it fails and left the
    // connection reconnecting forever, which kept the process alive. A close needs nothing.
    await this.connection.close().catch(() => undefined);
  }
}

/**
 * Process reports from agents (wire-protocol §12), kept as log metadata: not versioned, not
 * published. Taken only once ready: before, the projector may not know an agent's pods yet.
 */
function processRegistry(options: BusSideOptions, connection: NatsConnection, agents: AgentRegistry, logger: Logger): ProcessRegistry {
  const c = options.config;
  const limits = options.storeLimits;
  return new ProcessRegistry({
    connection,
    cluster: c.cluster,
    log: options.log,
    nodeOfAsid: (asid) => agents.nodeOfAsid(asid),
    pod: (uid) => options.projector.pod(uid),
    available: options.ready,
    retentionMs: c.processRetentionMs,
    reportRate: c.processReportRate,
    reportBurst: c.processReportBurst,
    maxLivePerNode: c.processMaxLivePerNode,
    maxStoppedPerNode: c.processMaxStoppedPerNode,
    // Within one store commit (etcd's --max-txn-ops and request size; a record is ≤ ~4.5 KB).
    maxPerCommit: Math.max(1, Math.min(100, limits.maxOpsPerCommit - 8, Math.floor(limits.maxBytesPerCommit / 5_000))),
    sweepIntervalMs: Math.min(60_000, Math.max(1_000, Math.floor(c.processRetentionMs / 10))),
    clock: options.clock,
    logger,
  });
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

