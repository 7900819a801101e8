import { hostname as osHostname } from 'node:os';
import { clusterSubjects, nodeScope, type NodeUpdate, type ProcessInfo, type Upid } from '../schema/index.ts';
import { ClientCore, type ClientStats } from './client-core.ts';
import { compileClientOptions, integer, requiredString, type ClientOptions } from './client-options.ts';
import { SdkInvalidArgumentError } from './errors.ts';
import { Hydrator, ProcessTable, type Hydration } from './hydration.ts';
import { registerAgent } from './registration.ts';
import { ProcessReporter, type ProcessEvent, type ProcessReporterStats } from './process-reporter.ts';
import { lookupProcess, type ProcessQueryOptions } from './process-queries.ts';
import { DebugResponder } from './debug-responder.ts';
import { ScopeClient } from './scope-client.ts';
import { IssuedCredentials } from './issued-credentials.ts';
import type { ClientConfig } from './client-options.ts';

export interface NodeAgentClientOptions extends ClientOptions {
  /** The node this agent runs on (a Kubernetes node name): the scope `node/<node>`. */
  node: string;
  /**
   * Stable across restarts of this agent on this node (persist it on the host, e.g. with the
   * persistDir): the registry gives the same (node, instance) its ASID back.
   */
  agentInstanceId: string;
  /** Reported to the registry; default os.hostname(). */
  hostname?: string;
  /** Most processes remembered for hydration (default 65,536); the oldest registrations go first. */
  maxProcesses?: number;
  /** Timeout of one registration request (default 5 s); registration retries until connect's signal aborts. */
  registerTimeoutMs?: number;
  /**
   * Issued credentials (docs/sdk.md, "Credentials from the service"): the pod's projected
   * service-account token (audience `kubemeta`), traded with the service's credential issuer for
   * a NATS user of this node, renewed before it expires. Needs `servers` and `bootstrapCredsFile`;
   * do not set an authenticator or credentials in natsOptions.
   */
  serviceAccountTokenFile?: string;
  /** The `.creds` file of the bootstrap user, which may only ask the issuer (`kubemeta nats-auth init` writes it). */
  bootstrapCredsFile?: string;
  /** Timeout of one credential request (default 10 s). */
  credentialRequestTimeoutMs?: number;
  /**
   * Process reports (reportProcess, wire-protocol §12): events per second sent at most and the
   * burst (defaults 100 and 500, below the service's default limit of 200 and 1,000), events
   * held while the service cannot take them (default 10,000; beyond, the oldest are dropped),
   * and how often they are sent (default 250 ms).
   */
  processReportRate?: number;
  processReportBurst?: number;
  maxPendingProcessReports?: number;
  processReportIntervalMs?: number;
  /**
   * Answer `kubemeta debug agent <node>` (default false): position, counts and a digest of this
   * agent's state on `kubemeta.<cluster>.debug.node.<node>`, which the node's NATS permissions
   * let it read (docs/operating.md, "Debug dumps"). Read-only; it costs nothing until asked.
   */
  debugHandler?: boolean;
}

const AGENT_KEYS = ['node', 'agentInstanceId', 'hostname', 'maxProcesses', 'registerTimeoutMs', 'serviceAccountTokenFile', 'bootstrapCredsFile', 'credentialRequestTimeoutMs', 'debugHandler',
  'processReportRate', 'processReportBurst', 'maxPendingProcessReports', 'processReportIntervalMs'];

/**
 * The node agent's view of kubemeta: the `node/<name>` scope (docs/design.md §5) — its node, its pods
 * and their containers, and the namespaces, services and owners of those pods — kept in step
 * with gap detection and replay (wire-protocol §6), plus UPID hydration.
 *
 * Guarantees: updates are applied in version order, each once (duplicates skipped); a gap is
 * repaired by replay before later updates are applied; a snapshot replaces the state
 * atomically (objects deleted while the agent was away disappear); a new stream id drops the
 * position and re-bootstraps by snapshot. Memory follows the node's workload, not the
 * cluster's size, plus what stopped within `retentionMs` and at most `maxProcesses` processes.
 */
export class NodeAgentClient extends ScopeClient {
  readonly node: string;
  /** The agent short id from the registry (wire-protocol §8): the first field of this agent's UPIDs. */
  readonly asid: number;
  readonly #processes: ProcessTable;
  readonly #hydrator: Hydrator;
  readonly #reporter: ProcessReporter;

  private constructor(core: ClientCore, node: string, asid: number, processes: ProcessTable, reporting: ReportingSettings) {
    super(core);
    this.node = node;
    this.asid = asid;
    this.#processes = processes;
    this.#hydrator = new Hydrator(core.state, processes);
    const c = core.config;
    this.#reporter = new ProcessReporter({
      ...reporting, connection: core.connection, subject: clusterSubjects(c.cluster).processReports(node), node, asid, state: core.state,
      status: core.statusHub, clock: c.clock, random: c.random, holdMs: 30_000, timeoutMs: 5_000,
    });
    void core.closed.then(() => this.#reporter.close());
  }

  /**
   * Connects, loads persisted state (if `persistDir`), subscribes to the node scope, starts the
   * bootstrap, and registers with the agent registry; resolves once the ASID is known
   * (registration is retried while the service is unavailable, until `signal` aborts). The
   * state may still be bootstrapping: await `whenInSync()` before relying on it.
   */
  static async connect(options: NodeAgentClientOptions): Promise<NodeAgentClient> {
    const config = compileClientOptions(options, AGENT_KEYS);
    const node = requiredString(options, 'node');
    const scope = nodeScope(node);
    const agentInstanceId = requiredString(options, 'agentInstanceId');
    const maxProcesses = integer(options, 'maxProcesses', 65_536, 1);
    const registerTimeoutMs = integer(options, 'registerTimeoutMs', 5_000, 1);
    if (options.hostname !== undefined && typeof options.hostname !== 'string') throw new SdkInvalidArgumentError('hostname', 'must be a string');
    if (options.debugHandler !== undefined && typeof options.debugHandler !== 'boolean') throw new SdkInvalidArgumentError('debugHandler', 'must be a boolean');
    const reporting: ReportingSettings = {
      ratePerSec: positiveNumber(options, 'processReportRate', 100),
      burst: integer(options, 'processReportBurst', 500, 1),
      maxPending: integer(options, 'maxPendingProcessReports', 10_000, 1),
      intervalMs: integer(options, 'processReportIntervalMs', 250, 1),
    };
    const credentials = issuedCredentials(options, config);
    const processes = new ProcessTable(maxProcesses);
    const purged = new Set<string>();
    const core = await ClientCore.open(config, scope, {
      name: `kubemeta-agent/${node}`,
      onPurge: (kind, uid) => {
        if (kind === 'Container') purged.add(uid);
        queueMicrotask(() => {
          processes.forgetContainers(purged);
          purged.clear();
        });
      },
      processes: () => processes.entries(),
      ...(credentials ? { credentials } : {}),
    });
    if (credentials && credentials.current?.node !== node) {
      await core.close();
      throw new SdkInvalidArgumentError('node', `this pod runs on node ${JSON.stringify(credentials.current?.node)} according to the credential issuer, not on ${JSON.stringify(node)}: set node from spec.nodeName (the downward API)`);
    }
    for (const [pid, ticks, cid] of core.persisted?.processes ?? []) processes.register(pid, ticks, cid);
    try {
      const registration = await registerAgent({
        connection: core.connection,
        subject: clusterSubjects(config.cluster).agentsRegister,
        request: { nodeName: node, agentInstanceId, hostname: options.hostname ?? osHostname() },
        clock: config.clock,
        timeoutMs: registerTimeoutMs,
        backoff: { random: config.random },
        signal: config.signal,
        onRetry: (error, delayMs) => core.statusHub.emit({ type: 'error', error, retryInMs: delayMs }),
      });
      // The registry speaks for the service's current stream: a persisted state from another
      // stream is dropped now instead of at the first message (docs/design.md §7).
      core.subscription.noteStreamId(registration.streamId);
      if (options.debugHandler === true) new DebugResponder(core, { node, agentInstanceId, asid: registration.asid });
      return new NodeAgentClient(core, node, registration.asid, processes, reporting);
    } catch (err) {
      await core.close();
      throw err;
    }
  }

  stats(): ClientStats & { readonly processes: number } {
    return { ...this.core.stats(), processes: this.#processes.size };
  }

  /** The node object of this agent's node, if known. */
  nodeObject(): NodeUpdate | undefined {
    return this.core.state.node(this.node);
  }

  /**
   * Records which container a process runs in (the bare container id from its cgroup path).
   * The UPID (asid, pid, startTimeTicks) then hydrates to that container's metadata, also
   * before the container's metadata arrives (it is resolved at query time).
   */
  registerProcess(pid: number, startTimeTicks: number, containerId: string): void {
    this.#processes.register(pid, startTimeTicks, containerId);
  }

  /** Forgets a process (optional: registrations are bounded and follow container retention). */
  unregisterProcess(pid: number, startTimeTicks: number): boolean {
    return this.#processes.unregister(pid, startTimeTicks);
  }

  /**
   * Reports a process start (no `stopTimeNs`: needs `containerId`) or stop to the service
   * (wire-protocol §12), so that UIs list the processes of a pod and other nodes can name this
   * agent's UPIDs by command line. Queued and sent in batches, rate-limited, retried while the
   * service cannot take them; refusals arrive as `error` statuses (ProcessReportRefusedError).
   * A start also registers the process for hydration (registerProcess). Throws
   * SdkInvalidArgumentError for an event that can never be valid.
   */
  reportProcess(event: ProcessEvent): void {
    this.#reporter.report(event);
    if ((event.stopTimeNs ?? 0n) === 0n && event.containerId) this.#processes.register(event.pid, event.startTimeTicks, event.containerId);
  }

  /** Sends the queued process events now (as far as the rate allows); resolves when answered. */
  flushProcessReports(): Promise<void> {
    return this.#reporter.flush();
  }

  processReportStats(): ProcessReporterStats {
    return this.#reporter.stats();
  }

  /**
   * The process of any node's UPID from the service (command line, container, pod, node):
   * for rows whose UPID another agent produced, which `hydrate` cannot name. Undefined when the
   * service holds no such process (never reported, or stopped longer ago than its retention).
   * Throws ProcessQueryError when the service does not answer.
   */
  lookupProcess(upid: Upid, options: Pick<ProcessQueryOptions, 'timeoutMs'> = {}): Promise<ProcessInfo | undefined> {
    return lookupProcess(this.core.connection, clusterSubjects(this.core.config.cluster).processByUpid, upid, options.timeoutMs);
  }

  /** The metadata of a UPID of this agent, or undefined (unknown process, or another agent's UPID). */
  hydrate(upid: Upid): Hydration | undefined {
    return this.#hydrator.hydrate(this.asid, upid);
  }

  /**
   * Hydrates many rows in one call: `result[i]` belongs to `rows[i]`. Results are shared per
   * container (no allocation per row); pass `out` to reuse an array across calls.
   */
  hydrateBatch(rows: readonly Upid[], out?: Array<Hydration | undefined>): Array<Hydration | undefined> {
    return this.#hydrator.hydrateBatch(this.asid, rows, out);
  }

  /** Hydration by container id (e.g. for a cgroup path before a process is registered). */
  hydrateContainer(containerId: string): Hydration | undefined {
    return this.#hydrator.forContainer(containerId);
  }
}

/** The issued-credentials source when serviceAccountTokenFile is set (checked here, used by ClientCore). */
function issuedCredentials(options: NodeAgentClientOptions, config: ClientConfig): IssuedCredentials | undefined {
  const tokenFile = options.serviceAccountTokenFile;
  const bootstrap = options.bootstrapCredsFile;
  if (tokenFile === undefined && bootstrap === undefined) return undefined;
  if (typeof tokenFile !== 'string' || tokenFile === '') throw new SdkInvalidArgumentError('serviceAccountTokenFile', 'must be the path of the projected service-account token (with bootstrapCredsFile)');
  if (typeof bootstrap !== 'string' || bootstrap === '') throw new SdkInvalidArgumentError('bootstrapCredsFile', 'must be the path of the bootstrap user\'s .creds file (with serviceAccountTokenFile)');
  const servers = config.source.servers;
  if (servers === undefined) throw new SdkInvalidArgumentError('serviceAccountTokenFile', 'needs servers (NATS URLs): the client makes its own connections with the issued credentials, not nc');
  const nats = config.source.natsOptions;
  if (nats?.authenticator !== undefined || nats?.user !== undefined || nats?.token !== undefined) {
    throw new SdkInvalidArgumentError('natsOptions', 'must not carry credentials (authenticator, user, token) together with serviceAccountTokenFile: the issued credentials are the agent\'s login');
  }
  return new IssuedCredentials({
    cluster: config.cluster,
    servers: typeof servers === 'string' ? [servers] : [...servers],
    tokenFile,
    bootstrapCredsFile: bootstrap,
    natsOptions: nats,
    requestTimeoutMs: integer(options, 'credentialRequestTimeoutMs', 10_000, 100),
    clock: config.clock,
    random: config.random,
  });
}

type ReportingSettings = Pick<ConstructorParameters<typeof ProcessReporter>[0], 'ratePerSec' | 'burst' | 'maxPending' | 'intervalMs'>;

function positiveNumber(options: NodeAgentClientOptions, key: 'processReportRate', fallback: number): number {
  const v = options[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new SdkInvalidArgumentError(key, `must be a positive number, got ${String(v)}`);
  return v;
}
