import { TimeoutError, systemClock, withTimeout, type Clock } from '../core/index.ts';
import { clusterSubjects } from '../schema/index.ts';
import type { QueryFilter } from '../sdk/index.ts';
import { finalValue, mergePartial, needsHistogram, newPartial, valueColumn, type GroupPartial } from './aggregate.ts';
import { TelemetryInvalidArgumentError } from './errors.ts';
import { decodeAgentQueryReply, encodeJson, type AgentQueryRequest } from './query-protocol.ts';
import { formatTelemetryQuery, parseTelemetryQuery, toQueryFilter, type TelemetryQuery } from './query-language.ts';

/** The part of a NATS connection the broker uses (nats.js NatsConnection satisfies it). */
export interface QueryConnection {
  request(subject: string, payload: Uint8Array, options: { timeout: number }): Promise<{ readonly data: Uint8Array }>;
}

/** Where the broker learns which nodes hold relevant pods (an SDK ClusterClient). */
export interface QueryRouting {
  routeQuery(filter: QueryFilter): Set<string>;
  /**
   * The cluster's state (a ClusterClient has it): when given, only live nodes are asked and
   * counted. Routing also finds nodes that were deleted within retention (their stopped pods'
   * telemetry); an agent that left with its node cannot answer, and asking it would only make
   * every answer partial.
   */
  readonly state?: { nodes(): ReadonlyArray<{ readonly name: string }> };
}

export interface QueryBrokerOptions {
  readonly nc: QueryConnection;
  readonly cluster: string;
  readonly router: QueryRouting;
  /** How long one agent may take to answer (default 2 s). */
  readonly agentTimeoutMs?: number;
  /** Agents asked at once (default 32): a cluster-wide query does not open 5,000 requests at once. */
  readonly maxConcurrency?: number;
  /** Groups one agent may answer (default 10,000). */
  readonly maxGroupsPerAgent?: number;
  /** Rows of the result (default 1,000; the largest values first). */
  readonly maxRows?: number;
  readonly clock?: Clock;
}

/** Why an asked agent is missing from the result. */
export interface AgentFailure {
  readonly node: string;
  /** timeout: no answer in time; noResponders: no agent listens for that node; refused: BUSY/BAD_REQUEST/INTERNAL; badReply: not the protocol. */
  readonly reason: 'timeout' | 'noResponders' | 'refused' | 'badReply' | 'error';
  readonly message: string;
}

/**
 * The answer to a query (the JSON body of `POST /api/query`). `rows[i][j]` is the value of
 * `columns[j]`: the `by` dimensions (strings, null for "none") and then the value. `partial`
 * is true when some asked agent did not answer (`failures` says which and why): the figures
 * then cover only the agents that answered.
 */
export interface QueryResult {
  readonly cluster: string;
  /** The query as understood, in canonical form. */
  readonly query: string;
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<ReadonlyArray<string | number | null>>;
  /** Agents the query was sent to: the nodes routing found for the filter. */
  readonly agentsAsked: number;
  /** Live nodes the cluster client knows: one agent each is expected. */
  readonly agentsTotal: number;
  readonly agentsAnswered: number;
  readonly partial: boolean;
  readonly failures: readonly AgentFailure[];
  /** More groups than `maxRows` (or than an agent may answer): the smallest were left out. */
  readonly truncated: boolean;
  /** Rows the answering agents scanned in the window, and of those the ones that matched. */
  readonly rowsScanned: number;
  readonly rowsMatched: number;
  readonly tookMs: number;
}

/**
 * A telemetry query broker (docs/agents.md): parses the query, routes it with the cluster
 * client to the nodes that hold matching pods only, asks those agents in parallel (bounded,
 * each with a timeout), merges their partial aggregates exactly (aggregate.ts) and builds the
 * table. An agent that does not answer makes the result partial, never failed.
 */
export class QueryBroker {
  readonly cluster: string;
  readonly #nc: QueryConnection;
  readonly #router: QueryRouting;
  readonly #subjects: ReturnType<typeof clusterSubjects>;
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #maxGroups: number;
  readonly #maxRows: number;
  readonly #clock: Clock;

  constructor(options: QueryBrokerOptions) {
    this.cluster = options.cluster;
    this.#subjects = clusterSubjects(options.cluster);
    this.#nc = options.nc;
    this.#router = options.router;
    this.#timeoutMs = int(options.agentTimeoutMs, 'agentTimeoutMs', 2_000, 1, 600_000);
    this.#concurrency = int(options.maxConcurrency, 'maxConcurrency', 32, 1, 10_000);
    this.#maxGroups = int(options.maxGroupsPerAgent, 'maxGroupsPerAgent', 10_000, 1, 1_000_000);
    this.#maxRows = int(options.maxRows, 'maxRows', 1_000, 1, 1_000_000);
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Runs a query (text, or already parsed). Throws QueryParseError for text that does not
   * parse, SdkInvalidArgumentError for a filter routing refuses, and the signal's reason when
   * it aborts; agents that fail only make the result partial.
   */
  async query(query: string | TelemetryQuery, signal?: AbortSignal): Promise<QueryResult> {
    const started = performance.now();
    const q = typeof query === 'string' ? parseTelemetryQuery(query) : query;
    const live = this.#liveNodes();
    const nodes = [...this.#router.routeQuery(toQueryFilter(q.filter))].filter((n) => live === undefined || live.has(n)).sort();
    const agentsTotal = live?.size ?? this.#router.routeQuery({}).size;
    const toMs = this.#clock.now();
    const request: AgentQueryRequest = {
      v: 1, fromMs: toMs - q.windowMs, toMs, filter: q.filter, groupBy: q.groupBy, histogram: needsHistogram(q.aggregation), maxGroups: this.#maxGroups,
    };
    const merged = new Map<string, GroupPartial>();
    const failures: AgentFailure[] = [];
    let answered = 0;
    let scanned = 0;
    let matched = 0;
    let truncated = false;
    await this.#fanOut(nodes, encodeJson(request), signal, (node, data) => {
      const reply = decodeAgentQueryReply(data, q.groupBy.length);
      if (!reply.ok) return failures.push({ node, reason: 'refused', message: `${reply.error.code}: ${reply.error.message}` });
      answered++;
      scanned += reply.scanned;
      matched += reply.matched;
      truncated ||= reply.groupsTruncated;
      // This agent's rows cover the window from its oldest row on (it may have started, or its
      // ring may begin, inside the window); at least a second, so a new agent does not spike.
      const coveredS = Math.max(1_000, toMs - Math.max(request.fromMs, reply.oldestMs ?? request.fromMs)) / 1000;
      for (const g of reply.groups) {
        const id = JSON.stringify(g.key);
        let into = merged.get(id);
        if (!into) merged.set(id, (into = { ...newPartial(g.key, request.histogram), rate: 0 }));
        mergePartial(into, g);
        into.rate = (into.rate ?? 0) + (q.measure === 'errors' ? g.errors : g.count) / coveredS;
      }
      return 0;
    }, failures);
    const rows = [...merged.values()]
      .map((g) => [...g.key, finalValue(q, g)] as Array<string | number | null>)
      .sort((a, b) => compareRows(a, b));
    truncated ||= rows.length > this.#maxRows;
    return {
      cluster: this.cluster,
      query: formatTelemetryQuery(q),
      columns: [...q.groupBy, valueColumn(q.aggregation, q.measure)],
      rows: rows.slice(0, this.#maxRows).map((r) => r.map((v) => (typeof v === 'number' && Number.isNaN(v) ? null : v))),
      agentsAsked: nodes.length,
      agentsTotal,
      agentsAnswered: answered,
      partial: answered < nodes.length,
      failures: failures.sort((a, b) => a.node.localeCompare(b.node)),
      truncated,
      rowsScanned: scanned,
      rowsMatched: matched,
      tookMs: Math.round((performance.now() - started) * 1000) / 1000,
    };
  }

  #liveNodes(): ReadonlySet<string> | undefined {
    const names = this.#router.state?.nodes().map((n) => n.name);
    // No Node objects at all (a state without them): route by pods alone.
    return names === undefined || names.length === 0 ? undefined : new Set(names);
  }

  /** Sends the request to every node with at most `maxConcurrency` in flight. */
  async #fanOut(nodes: readonly string[], payload: Uint8Array, signal: AbortSignal | undefined, onReply: (node: string, data: Uint8Array) => unknown, failures: AgentFailure[]): Promise<void> {
    let next = 0;
    const ask = async (node: string): Promise<void> => {
      try {
        const msg = await abortable(this.#nc.request(this.#subjects.agentQuery(node), payload, { timeout: this.#timeoutMs }), signal, this.#timeoutMs);
        try {
          onReply(node, msg.data);
        } catch (err) {
          failures.push({ node, reason: 'badReply', message: (err as Error).message });
        }
      } catch (err) {
        signal?.throwIfAborted();
        failures.push({ node, ...classify(err, this.#timeoutMs) });
      }
    };
    const worker = async (): Promise<void> => {
      while (next < nodes.length) {
        signal?.throwIfAborted();
        await ask(nodes[next++] as string);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, nodes.length) }, worker));
  }
}

/** The request, or the signal's reason when it aborts first (nats.js requests take no signal). */
function abortable<T>(pending: Promise<T>, signal: AbortSignal | undefined, timeoutMs: number): Promise<T> {
  if (!signal) return pending;
  // The extra timer is a guard only: the request's own timeout normally fires first.
  const bound = withTimeout(signal, timeoutMs + 1_000);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.aborted ? signal.reason : new TimeoutError('the agent\'s answer', timeoutMs));
    if (bound.aborted) return onAbort();
    bound.addEventListener('abort', onAbort, { once: true });
    pending.then(resolve, reject).finally(() => bound.removeEventListener('abort', onAbort));
  });
}

function classify(err: unknown, timeoutMs: number): Pick<AgentFailure, 'reason' | 'message'> {
  const e = err as { name?: string; message?: string; cause?: { name?: string; message?: string } } | undefined;
  const text = `${e?.name ?? ''} ${e?.message ?? ''} ${e?.cause?.name ?? ''} ${e?.cause?.message ?? ''}`;
  if (/no ?responders|503/i.test(text)) return { reason: 'noResponders', message: 'no agent listens for this node' };
  if (/timeout/i.test(text)) return { reason: 'timeout', message: `no answer within ${timeoutMs} ms` };
  return { reason: 'error', message: e?.message ?? String(err) };
}

/** Largest value first, then by key (nulls last) so equal values have a stable order. */
function compareRows(a: ReadonlyArray<string | number | null>, b: ReadonlyArray<string | number | null>): number {
  const va = a[a.length - 1] as number;
  const vb = b[b.length - 1] as number;
  const na = Number.isNaN(va) ? -Infinity : va;
  const nb = Number.isNaN(vb) ? -Infinity : vb;
  if (na !== nb) return nb - na;
  for (let i = 0; i < a.length - 1; i++) {
    const x = a[i] ?? '\uffff';
    const y = b[i] ?? '\uffff';
    if (x !== y) return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

function int(value: number | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw new TelemetryInvalidArgumentError(name, `must be an integer in [${min}, ${max}], got ${String(value)}`);
  return value;
}
