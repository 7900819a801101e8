import { setMaxListeners } from 'node:events';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import { silentLogger, systemClock, toError, type Clock, type Logger } from '../core/index.ts';
import { clusterSubjects, isValidClusterName, nodeScope, CLUSTER_SCOPE } from '../schema/index.ts';
import { ClusterClient, type Change } from '../sdk/index.ts';
import { connectUntilAnswered, TelemetryError, TelemetryErrorCode, TelemetryInvalidArgumentError, type NatsConnector } from '../telemetry/index.ts';
import { SimulatedAgent, type SimulatedAgentStats } from './simulated-agent.ts';

export interface RunAgentsOptions {
  readonly servers: string | readonly string[];
  readonly cluster: string;
  /**
   * Which nodes get an agent: `'all'` (and follow nodes joining and leaving), the first N by
   * name, or these names. `'all'` and N read the nodes from a ClusterClient.
   */
  readonly nodes: 'all' | number | readonly string[];
  /** Rows recorded per second per agent (default 20). */
  readonly ratePerSecond?: number;
  /** Seed of every synthetic choice (default 1): the same seed gives the same processes and rows. */
  readonly seed?: number;
  /** Rows each agent keeps (default 20,000); the oldest are overwritten. */
  readonly ringCapacity?: number;
  /**
   * Agents per shared NATS connection (default 50). 1 gives every agent its own connection with
   * inboxes under `_INBOX.<its node subject>`, which `kubemeta serve --require-scoped-inboxes`
   * requires for registration; shared connections register through `_INBOX.<nuid>` inboxes.
   */
  readonly agentsPerConnection?: number;
  /** Connection options (credentials, TLS) of the shared connections and the node-discovery client. */
  readonly natsOptions?: Partial<ConnectionOptions>;
  /**
   * Per-node credentials (per-node NATS permissions): every agent gets its own connection with
   * these. May resolve later: issued credentials are obtained first (the demo's agents).
   */
  readonly natsOptionsFor?: (node: string) => Partial<ConnectionOptions> | Promise<Partial<ConnectionOptions>>;
  /**
   * Opens each connection (default: waits until NATS answers, refused credentials thrown; aborted by
   * `signal` or close()). `kubemeta agents` passes one that fails at once on refused credentials.
   */
  readonly connect?: NatsConnector;
  /** How often rows are recorded (default 250 ms). */
  readonly tickMs?: number;
  /** Agents connecting at once (default 16): a fleet start is not a registration storm. */
  readonly startConcurrency?: number;
  /** Queries waiting at one agent before it answers BUSY (default 8). */
  readonly maxPendingQueries?: number;
  readonly retentionMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Aborts the start (connections, registrations). */
  readonly signal?: AbortSignal;
}

/** The fleet's agents' figures summed (SimulatedAgentStats), and how many agents are in sync. */
export interface FleetStats
  extends Pick<SimulatedAgentStats, 'activeProcesses' | 'rowsRecorded' | 'rowsHeld' | 'queriesAnswered' | 'queriesRefused' | 'hydratedRows' | 'hydrateMs'> {
  readonly agents: number;
  readonly inSync: number;
  readonly connections: number;
}

interface Config {
  readonly servers: string[];
  readonly cluster: string;
  readonly ratePerSecond: number;
  readonly seed: number;
  readonly ringCapacity: number;
  readonly agentsPerConnection: number;
  readonly tickMs: number;
  readonly startConcurrency: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: RunAgentsOptions;
}

interface PooledConnection {
  /** Pending while the connection opens: agents starting at once wait for the same one. */
  readonly nc: Promise<NatsConnection>;
  users: number;
  readonly shared: boolean;
}

/**
 * Runs simulated node agents (SimulatedAgent) for many nodes in this process: `kubemeta agents`,
 * the demo, the bench and the tests. Resolves once the initial agents are registered (their
 * state may still be bootstrapping: `whenInSync`).
 */
export async function runAgents(options: RunAgentsOptions): Promise<AgentFleet> {
  const config = compile(options);
  const fleet = new AgentFleet(config);
  try {
    await fleet.start(options.nodes);
  } catch (err) {
    await fleet.close();
    throw err;
  }
  return fleet;
}

/** The agents of one `runAgents` call, their connections and the row timer. */
export class AgentFleet implements AsyncDisposable {
  readonly #config: Config;
  readonly #agents = new Map<string, SimulatedAgent>();
  readonly #connections = new Map<SimulatedAgent, PooledConnection>();
  readonly #pool: PooledConnection[] = [];
  readonly #closer = new AbortController();
  /** Bounds every agent's connect: the caller's signal or close(). One signal for all agents. */
  readonly #startSignal: AbortSignal;
  #discovery: { client: ClusterClient; nc: NatsConnection } | undefined;
  /** Nodes whose agent is connecting (counted against the limit, never started twice). */
  readonly #starting = new Set<string>();
  #limit = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(config: Config) {
    this.#config = config;
    const given = config.options.signal;
    this.#startSignal = given ? AbortSignal.any([given, this.#closer.signal]) : this.#closer.signal;
    // Every agent connecting at once listens on it (startConcurrency of them, plus their
    // clients): not a leak, so no MaxListenersExceededWarning.
    setMaxListeners(0, this.#startSignal);
  }

  /** Agents by node name. */
  get agents(): ReadonlyMap<string, SimulatedAgent> {
    return this.#agents;
  }

  async start(nodes: RunAgentsOptions['nodes']): Promise<void> {
    if (typeof nodes === 'object') {
      await this.#startAll([...nodes]);
    } else {
      const { client, changes } = await this.#discover(nodes);
      await this.#startAll(this.#wanted(client));
      // Only now: runAgents resolves with the initial agents started, none still connecting.
      void this.#followNodes(client, changes);
    }
    void this.#tickLoop();
  }

  stats(): FleetStats {
    const all: SimulatedAgentStats[] = [...this.#agents.values()].map((a) => a.stats());
    const sum = (f: (s: SimulatedAgentStats) => number): number => all.reduce((n, s) => n + f(s), 0);
    return {
      agents: all.length,
      inSync: all.filter((s) => s.inSync).length,
      connections: this.#pool.length,
      activeProcesses: sum((s) => s.activeProcesses),
      rowsRecorded: sum((s) => s.rowsRecorded),
      rowsHeld: sum((s) => s.rowsHeld),
      queriesAnswered: sum((s) => s.queriesAnswered),
      queriesRefused: sum((s) => s.queriesRefused),
      hydratedRows: sum((s) => s.hydratedRows),
      hydrateMs: Math.round(sum((s) => s.hydrateMs) * 1000) / 1000,
    };
  }

  /** Resolves when every agent's state is in sync with the service; rejects when `signal` aborts. */
  async whenInSync(signal?: AbortSignal): Promise<void> {
    // One signal that every agent's wait listens on (hundreds of them: not a leak).
    const shared = new AbortController();
    setMaxListeners(0, shared.signal);
    const onAbort = (): void => shared.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.all([...this.#agents.values()].map((a) => a.client.whenInSync(shared.signal)));
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Stops one agent (as if its node's agent crashed): it answers no more queries. */
  async stopAgent(node: string): Promise<boolean> {
    const agent = this.#agents.get(node);
    if (!agent) return false;
    this.#agents.delete(node);
    await agent.close();
    await this.#release(agent);
    return true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closer.abort(new TelemetryError(TelemetryErrorCode.CLOSED, 'the agent fleet was closed'));
    await this.#discovery?.client.close();
    await Promise.all([...this.#agents.keys()].map((node) => this.stopAgent(node)));
    await this.#discovery?.nc.close().catch(() => undefined);
    await Promise.all(this.#pool.map((c) => c.nc.then((nc) => nc.close()).catch(() => undefined)));
    this.#pool.length = 0;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Node names from a ClusterClient, which the fleet then follows: agents start for nodes that
   * join (up to N) and stop for nodes that are deleted. The service may still be syncing when
   * the fleet starts (an empty cluster at first): following is what fills the fleet then.
   */
  async #discover(nodes: 'all' | number): Promise<{ client: ClusterClient; changes: AsyncIterableIterator<Change> }> {
    const c = this.#config;
    const nc = await openNats(c, 'kubemeta-agents/discovery', `_INBOX.${clusterSubjects(c.cluster).scope(CLUSTER_SCOPE)}`, c.options.natsOptions, this.#startSignal);
    const client = await ClusterClient.connect({ nc, cluster: c.cluster, logger: c.logger, signal: this.#startSignal }).catch(async (err: unknown) => {
      await nc.close();
      throw err;
    });
    this.#discovery = { client, nc };
    this.#limit = nodes === 'all' ? Number.POSITIVE_INFINITY : nodes;
    // Opened before the state is read: node changes from here on wait in it (bounded; an
    // overflow is a full reconcile) until the initial agents are started.
    const changes = client.changes();
    await client.whenInSync(this.#startSignal);
    return { client, changes };
  }

  /** Live nodes without an agent, by name, as many as the limit leaves room for. */
  #wanted(client: ClusterClient): string[] {
    const room = this.#limit - this.#agents.size - this.#starting.size;
    if (room <= 0) return [];
    return client.state.nodes().map((n) => n.name).filter((n) => !this.#agents.has(n) && !this.#starting.has(n)).sort().slice(0, room);
  }

  async #followNodes(client: ClusterClient, changes: AsyncIterableIterator<Change>): Promise<void> {
    for await (const change of changes) {
      if (this.#closed) return;
      if (change.type !== 'snapshot' && change.type !== 'overflow' && change.kind !== 'Node') continue;
      const live = new Set(client.state.nodes().map((n) => n.name));
      for (const node of [...this.#agents.keys()]) if (!live.has(node)) void this.stopAgent(node);
      this.#startAll(this.#wanted(client)).catch((err: unknown) => {
        if (!this.#closed) this.#config.logger.warn({ err: toError(err) }, 'a simulated agent for a new node did not start');
      });
    }
  }

  /** Starts agents with bounded concurrency; a failure stops the start and is thrown. */
  async #startAll(nodes: readonly string[]): Promise<void> {
    const queue = nodes.filter((n) => !this.#agents.has(n) && !this.#starting.has(n));
    for (const node of queue) this.#starting.add(node);
    let failure: Error | undefined;
    const worker = async (): Promise<void> => {
      for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
        try {
          if (failure === undefined && !this.#closed) await this.#startOne(node);
        } catch (err) {
          failure ??= toError(err);
        } finally {
          this.#starting.delete(node);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#config.startConcurrency, queue.length) }, worker));
    if (failure) throw failure;
  }

  async #startOne(node: string): Promise<void> {
    const c = this.#config;
    const conn = this.#acquire(node);
    try {
      const agent = await SimulatedAgent.start({
        nc: await conn.nc, cluster: c.cluster, node, seed: c.seed, ratePerSecond: c.ratePerSecond, ringCapacity: c.ringCapacity, logger: c.logger,
        ...(c.options.maxPendingQueries !== undefined ? { maxPendingQueries: c.options.maxPendingQueries } : {}),
        ...(c.options.retentionMs !== undefined ? { retentionMs: c.options.retentionMs } : {}),
        signal: this.#startSignal,
      });
      if (this.#closed) {
        await agent.close();
        await this.#releaseConnection(conn);
        return;
      }
      this.#agents.set(node, agent);
      this.#connections.set(agent, conn);
    } catch (err) {
      await this.#releaseConnection(conn);
      throw err;
    }
  }

  /**
   * A shared connection with room, or a new one; per-agent connections when asked for. Taken
   * synchronously (the pool entry exists before the connection is open), so agents starting
   * together share it instead of each opening its own.
   */
  #acquire(node: string): PooledConnection {
    const c = this.#config;
    const own = c.options.natsOptionsFor !== undefined || c.agentsPerConnection === 1;
    if (!own) {
      const free = this.#pool.find((p) => p.shared && p.users < c.agentsPerConnection);
      if (free) {
        free.users++;
        return free;
      }
    }
    const inboxPrefix = own ? `_INBOX.${clusterSubjects(c.cluster).scope(nodeScope(node))}` : undefined;
    const name = own ? `kubemeta-agent/${node}` : `kubemeta-agents/${this.#pool.length}`;
    const extra = own ? c.options.natsOptionsFor?.(node) ?? c.options.natsOptions : c.options.natsOptions;
    const nc = Promise.resolve(extra).then((options) => openNats(c, name, inboxPrefix, options, this.#startSignal));
    const conn: PooledConnection = { nc, users: 1, shared: !own };
    this.#pool.push(conn);
    nc.catch(() => this.#drop(conn)); // a failed connection leaves the pool; its users see the error
    return conn;
  }

  async #release(agent: SimulatedAgent): Promise<void> {
    const conn = this.#connections.get(agent);
    this.#connections.delete(agent);
    if (conn) await this.#releaseConnection(conn);
  }

  async #releaseConnection(conn: PooledConnection): Promise<void> {
    conn.users--;
    if (conn.users > 0) return;
    this.#drop(conn);
    await conn.nc.then((nc) => nc.close()).catch(() => undefined);
  }

  #drop(conn: PooledConnection): void {
    const i = this.#pool.indexOf(conn);
    if (i >= 0) this.#pool.splice(i, 1);
  }

  async #tickLoop(): Promise<void> {
    const c = this.#config;
    try {
      for (;;) {
        const now = c.clock.now();
        for (const agent of this.#agents.values()) agent.tick(now);
        await c.clock.sleep(c.tickMs, this.#closer.signal);
      }
    } catch {
      // closed
    }
  }
}

async function openNats(c: Config, name: string, inboxPrefix: string | undefined, extra: Partial<ConnectionOptions> | undefined, signal: AbortSignal): Promise<NatsConnection> {
  signal.throwIfAborted();
  const options: ConnectionOptions = {
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    ...(inboxPrefix !== undefined ? { inboxPrefix } : {}),
    ...extra,
    servers: c.servers,
  };
  return await (c.options.connect ?? connectUntilAnswered)(options, signal);
}

function compile(o: RunAgentsOptions): Config {
  if (typeof o !== 'object' || o === null) throw new TelemetryInvalidArgumentError('options', 'must be an object');
  const servers = typeof o.servers === 'string' ? o.servers.split(',') : [...(o.servers ?? [])];
  if (servers.length === 0 || servers.some((s) => s.trim() === '')) throw new TelemetryInvalidArgumentError('servers', 'give NATS server URLs');
  if (typeof o.cluster !== 'string' || !isValidClusterName(o.cluster)) throw new TelemetryInvalidArgumentError('cluster', `${JSON.stringify(o.cluster)} is not a cluster name`);
  const nodes = o.nodes;
  if (!(nodes === 'all' || (typeof nodes === 'number' && Number.isInteger(nodes) && nodes >= 1) || (Array.isArray(nodes) && nodes.every((n) => typeof n === 'string')))) {
    throw new TelemetryInvalidArgumentError('nodes', `must be 'all', a positive integer or a list of node names, got ${JSON.stringify(nodes)}`);
  }
  if (Array.isArray(nodes)) for (const n of nodes as string[]) nodeScope(n); // throws for a name that is no node name
  return Object.freeze({
    servers: servers.map((s) => s.trim()),
    cluster: o.cluster,
    ratePerSecond: number(o.ratePerSecond, 'ratePerSecond', 20, 0, 1_000_000),
    seed: number(o.seed, 'seed', 1, 0, 0xffffffff),
    ringCapacity: number(o.ringCapacity, 'ringCapacity', 20_000, 1, 10_000_000),
    agentsPerConnection: number(o.agentsPerConnection, 'agentsPerConnection', 50, 1, 10_000),
    tickMs: number(o.tickMs, 'tickMs', 250, 10, 60_000),
    startConcurrency: number(o.startConcurrency, 'startConcurrency', 16, 1, 1_000),
    clock: o.clock ?? systemClock,
    logger: o.logger ?? silentLogger,
    options: o,
  });
}

function number(value: number | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new TelemetryInvalidArgumentError(name, `must be a number in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}
