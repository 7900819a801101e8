import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { toError, type Logger, type Rng } from '../core/index.ts';
import { clusterSubjects, nodeScope, type ContainerUpdate, type PodUpdate } from '../schema/index.ts';
import { NodeAgentClient, type Change } from '../sdk/index.ts';
import { newQueryScratch, runAgentQuery } from './agent-query.ts';
import { decodeAgentQueryRequest, encodeJson, type AgentQueryErrorCode, type AgentQueryReply } from '../telemetry/index.ts';
import { deriveSeed, seededRandom } from './random.ts';
import { SyntheticWorkload } from './synthetic-workload.ts';
import { TelemetryRing, type TelemetryRow } from './telemetry-ring.ts';

export interface SimulatedAgentOptions {
  /** A NATS connection (possibly shared by many agents); the agent never closes it. */
  readonly nc: NatsConnection;
  readonly cluster: string;
  readonly node: string;
  /** Base seed; the agent's own stream is derived from it and the node name. */
  readonly seed: number;
  /** Rows recorded per second. */
  readonly ratePerSecond: number;
  readonly ringCapacity: number;
  /** Queries waiting or running at this agent before it answers BUSY (default 8). */
  readonly maxPendingQueries?: number;
  /** The SDK's retention of stopped pods (default its own, 1 h): rows of stopped pods hydrate that long. */
  readonly retentionMs?: number;
  readonly logger: Logger;
  /** Bounds connect (registration retries until it aborts). */
  readonly signal?: AbortSignal;
}

export interface SimulatedAgentStats {
  readonly node: string;
  readonly asid: number;
  readonly inSync: boolean;
  readonly activeProcesses: number;
  readonly registeredProcesses: number;
  readonly rowsRecorded: number;
  readonly rowsHeld: number;
  readonly queriesAnswered: number;
  /** Queries answered BUSY or BAD_REQUEST. */
  readonly queriesRefused: number;
  /** Rows hydrated by queries, and the time hydrateBatch took for them. */
  readonly hydratedRows: number;
  readonly hydrateMs: number;
}

/**
 * One simulated node agent: a NodeAgentClient for its node, synthetic processes for the
 * containers of the node's pods (kept in step through `changes()`), a bounded ring of UPID-keyed
 * request rows, and the query endpoint `kubemeta.<cluster>.query.node.<node>` that hydrates the
 * rows with the local metadata and answers mergeable partial aggregates (query-protocol.ts).
 * Row generation is driven from outside (`tick`), so a fleet runs one timer for all agents.
 */
export class SimulatedAgent {
  readonly node: string;
  readonly client: NodeAgentClient;
  readonly #ring: TelemetryRing;
  readonly #workload: SyntheticWorkload;
  readonly #random: Rng;
  readonly #ratePerSecond: number;
  readonly #maxPending: number;
  readonly #logger: Logger;
  readonly #scratch = newQueryScratch();
  readonly #nc: NatsConnection;
  #querySub: Subscription | undefined;
  #changes: AsyncIterableIterator<Change> | undefined;
  #lastTickMs: number | undefined;
  #pending = 0;
  #closed = false;
  #answered = 0;
  #refused = 0;
  #hydratedRows = 0;
  #hydrateMs = 0;

  private constructor(client: NodeAgentClient, options: SimulatedAgentOptions) {
    this.node = options.node;
    this.client = client;
    this.#ring = new TelemetryRing(options.ringCapacity);
    this.#random = seededRandom(deriveSeed(options.seed, options.node));
    this.#workload = new SyntheticWorkload(client, this.#random);
    this.#ratePerSecond = options.ratePerSecond;
    this.#maxPending = options.maxPendingQueries ?? 8;
    this.#logger = options.logger;
    this.#nc = options.nc;
  }

  /** Connects the node agent (registration included), starts following pods and answering queries. */
  static async start(options: SimulatedAgentOptions): Promise<SimulatedAgent> {
    const subjects = clusterSubjects(options.cluster);
    const client = await NodeAgentClient.connect({
      nc: options.nc,
      cluster: options.cluster,
      node: options.node,
      // Stable per node: a restarted fleet gets its ASIDs back (wire-protocol §8).
      agentInstanceId: `kubemeta-agents/${options.node}`,
      // Replays into `_INBOX.<node subject>` whatever the shared connection's own prefix is.
      natsOptions: { inboxPrefix: `_INBOX.${subjects.scope(nodeScope(options.node))}` },
      logger: options.logger,
      ...(options.retentionMs !== undefined ? { retentionMs: options.retentionMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const agent = new SimulatedAgent(client, options);
    agent.#follow();
    agent.#querySub = options.nc.subscribe(subjects.agentQuery(options.node), { callback: (err, msg) => agent.#onQuery(err, msg) });
    return agent;
  }

  get asid(): number {
    return this.client.asid;
  }

  /** Records the rows due since the last tick (the first tick only starts the clock). */
  tick(nowMs: number): number {
    if (this.#closed) return 0;
    const last = this.#lastTickMs;
    this.#lastTickMs = nowMs;
    return last === undefined ? 0 : this.#workload.generate(this.#ring, nowMs, nowMs - last, this.#ratePerSecond);
  }

  /** The rows held now, oldest first (a copy; for tests and cross-checks). */
  rows(): TelemetryRow[] {
    return this.#ring.rows();
  }

  stats(): SimulatedAgentStats {
    return {
      node: this.node,
      asid: this.client.asid,
      inSync: this.client.inSync,
      activeProcesses: this.#workload.activeProcesses,
      registeredProcesses: this.#workload.registeredProcesses,
      rowsRecorded: this.#ring.recorded,
      rowsHeld: this.#ring.size,
      queriesAnswered: this.#answered,
      queriesRefused: this.#refused,
      hydratedRows: this.#hydratedRows,
      hydrateMs: this.#hydrateMs,
    };
  }

  /** Stops answering queries and recording, and closes the node agent (not the connection). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#querySub?.unsubscribe();
    // Once close() returns the server knows nobody listens here any more: a query to this node
    // gets "no responders" at once, not a timeout (the connection may be shared and stay open).
    await this.#nc.flush().catch(() => undefined);
    await this.#changes?.return?.();
    await this.client.close();
  }

  /**
   * Follows the agent's state. The change reader is opened before the first resync, so nothing
   * between the two is missed (a change applied twice is harmless: syncPod is idempotent).
   */
  #follow(): void {
    const changes = this.client.changes();
    this.#changes = changes;
    this.#workload.resync();
    void (async () => {
      try {
        for await (const c of changes) this.#apply(c);
      } catch (err) {
        this.#logger.warn({ err: toError(err), node: this.node }, 'simulated agent stopped following its state');
      }
    })();
  }

  #apply(c: Change): void {
    if (c.type === 'snapshot' || c.type === 'overflow') return this.#workload.resync();
    if (c.kind === 'Pod') {
      if (c.type === 'removed') return this.#workload.stopPod(c.uid);
      return this.#workload.syncPod(c.object as PodUpdate);
    }
    if (c.kind === 'Container' && c.type !== 'removed') {
      // A container's own state (terminated, restarted) decides whether its processes run.
      const pod = this.client.state.pod((c.object as ContainerUpdate).podUid);
      if (pod) this.#workload.syncPod(pod);
    }
  }

  #onQuery(err: Error | null, msg: Msg): void {
    if (err || this.#closed || !msg.reply) return;
    if (this.#pending >= this.#maxPending) return this.#refuse(msg, 'BUSY', `agent on ${this.node} has ${this.#pending} queries pending; retry later`);
    this.#pending++;
    // Answered after the current I/O callbacks: many agents share one event loop and one
    // connection, and a burst of queries must not starve the protocol reading behind it.
    setImmediate(() => {
      try {
        if (!this.#closed) this.#answer(msg);
      } finally {
        this.#pending--;
      }
    });
  }

  #answer(msg: Msg): void {
    const started = performance.now();
    let request;
    try {
      request = decodeAgentQueryRequest(msg.data);
    } catch (e) {
      return this.#refuse(msg, 'BAD_REQUEST', (e as Error).message);
    }
    try {
      const r = runAgentQuery(this.#ring, (rows, out) => this.client.hydrateBatch(rows, out), request, this.#scratch);
      this.#hydratedRows += r.scanned;
      this.#hydrateMs += r.hydrateMs;
      const reply: AgentQueryReply = {
        v: 1, ok: true, node: this.node, asid: this.client.asid, groups: r.groups, scanned: r.scanned, matched: r.matched,
        unhydrated: r.unhydrated, groupsTruncated: r.groupsTruncated, oldestMs: this.#ring.oldestTimestamp() ?? null, tookMs: Math.round((performance.now() - started) * 1000) / 1000,
      };
      msg.respond(encodeJson(reply));
      this.#answered++;
    } catch (e) {
      this.#logger.error({ err: toError(e), node: this.node }, 'simulated agent failed to answer a query');
      this.#refuse(msg, 'INTERNAL', 'the agent failed to answer; see its log');
    }
  }

  #refuse(msg: Msg, code: AgentQueryErrorCode, message: string): void {
    this.#refused++;
    const reply: AgentQueryReply = { v: 1, ok: false, node: this.node, error: { code, message } };
    msg.respond(encodeJson(reply));
  }
}
