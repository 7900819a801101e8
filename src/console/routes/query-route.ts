import type { FastifyInstance, FastifyReply } from 'fastify';
import { isSdkError } from '../../sdk/index.ts';
import { MAX_QUERY_LENGTH, isQueryParseError, type QueryResult } from '../../telemetry/index.ts';
import { ConsoleError, ConsoleErrorCode } from '../errors.ts';

/**
 * Runs one telemetry query on one cluster (a telemetry QueryBroker per cluster behind it).
 * Rejects with QueryParseError for text that does not parse, with the signal's reason when the
 * client went away or the console's deadline passed.
 */
export type ConsoleQueryBroker = (cluster: string, q: string, signal: AbortSignal) => Promise<QueryResult>;

export interface QueryRouteOptions {
  readonly broker: ConsoleQueryBroker;
  /** The clusters the console follows (a query names one, or there is only one). */
  readonly clusters: readonly string[];
  /** The whole query's deadline (default 10 s; each agent has the broker's own, shorter, timeout). */
  readonly timeoutMs?: number;
}

/**
 * `POST /api/query` with `{"q": "p99 latency by service in namespace shop", "cluster"?: "prod"}`:
 *
 * - 200: the QueryResult (`cluster, query, columns, rows, agentsAsked, agentsTotal,
 *   agentsAnswered, partial, failures, truncated, rowsScanned, rowsMatched, tookMs`), groups
 *   without a value named `(no <dimension>)` (nameEmptyGroups);
 * - 400 `CONSOLE_QUERY_INVALID` with `position` and `expected` for a query that does not parse;
 *   `CONSOLE_BAD_REQUEST` for a body that is not `{q, cluster?}`; `CONSOLE_UNKNOWN_CLUSTER`;
 * - 504 `CONSOLE_QUERY_TIMEOUT` when agents were asked and none answered in time (the body's
 *   `result` still says who was asked and why each failed).
 *
 * Behind the console's bearer auth like every /api/ route.
 */
export function registerQueryRoute(app: FastifyInstance, options: QueryRouteOptions): void {
  const timeoutMs = options.timeoutMs ?? 10_000;
  app.post('/api/query', async (req, reply) => {
    const { q, cluster } = readBody(req.body, options.clusters);
    // The client going away (the response closes unfinished) cancels the fan-out.
    const gone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone.abort(new ConsoleError(ConsoleErrorCode.BAD_REQUEST, 'the client closed the request'));
    });
    const deadline = AbortSignal.timeout(timeoutMs);
    let result: QueryResult;
    try {
      result = await options.broker(cluster, q, AbortSignal.any([gone.signal, deadline]));
    } catch (err) {
      if (isQueryParseError(err)) {
        return reply.code(400).send({ error: { code: ConsoleErrorCode.QUERY_INVALID, message: err.message, position: err.position, expected: err.expected } });
      }
      if (isSdkError(err) && err.code === 'SDK_INVALID_ARGUMENT') return sendError(reply, ConsoleErrorCode.QUERY_INVALID, err.message);
      if (deadline.aborted) return sendError(reply, ConsoleErrorCode.QUERY_TIMEOUT, `the query did not finish within ${timeoutMs} ms`);
      throw err;
    }
    if (result.agentsAsked > 0 && result.agentsAnswered === 0) {
      const why = [...new Set(result.failures.map((f) => f.reason))].join(', ');
      return reply.code(504).send({
        error: { code: ConsoleErrorCode.QUERY_TIMEOUT, message: `none of the ${result.agentsAsked} agents asked answered (${why}); are the node agents running (kubemeta agents)?` },
        result: nameEmptyGroups(result),
      });
    }
    return nameEmptyGroups(result);
  });
}

/**
 * The broker keys a group without a value as null: the pods that belong to no service, grouped
 * `by service`, or to no Deployment. Shown as it is, that is a nameless row — and often the one
 * that matters (in the demo, the highest p99 of a namespace). The console names it
 * `(no <dimension>)`, e.g. `(no service)`: Kubernetes names never hold parentheses or spaces
 * (and pod, service and deployment values are `namespace/name`), so it cannot be mistaken for
 * an object, and the page recognizes it by comparing with the column's name. Values stay as
 * they are (a null value is a statistic with no data, not a missing group).
 */
function nameEmptyGroups(result: QueryResult): QueryResult {
  const dimensions = result.columns.length - 1;
  const unnamed = (row: ReadonlyArray<string | number | null>): boolean => row.some((v, i) => i < dimensions && v === null);
  if (!result.rows.some(unnamed)) return result;
  return {
    ...result,
    rows: result.rows.map((row) => (unnamed(row) ? row.map((v, i) => (i < dimensions && v === null ? `(no ${result.columns[i] ?? 'value'})` : v)) : row)),
  };
}

function readBody(body: unknown, clusters: readonly string[]): { q: string; cluster: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a JSON object {"q": "...", "cluster": "..."}');
  const { q, cluster, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw badRequest(`unknown field ${JSON.stringify(unknown[0])}; the body has q and cluster`);
  if (typeof q !== 'string' || q.trim() === '') throw badRequest('q must be the query text, e.g. "p99 latency by service in namespace shop"');
  if (q.length > MAX_QUERY_LENGTH) throw badRequest(`q is longer than ${MAX_QUERY_LENGTH} characters`);
  if (cluster === undefined) {
    if (clusters.length === 1) return { q, cluster: clusters[0] as string };
    throw badRequest(`this console follows ${clusters.join(', ')}: name one in "cluster"`);
  }
  if (typeof cluster !== 'string' || !clusters.includes(cluster)) {
    throw new ConsoleError(ConsoleErrorCode.UNKNOWN_CLUSTER, `unknown cluster ${JSON.stringify(cluster)}; this console follows ${clusters.join(', ')}`);
  }
  return { q, cluster };
}

function badRequest(message: string): ConsoleError {
  return new ConsoleError(ConsoleErrorCode.BAD_REQUEST, message);
}

function sendError(reply: FastifyReply, code: ConsoleErrorCode, message: string): FastifyReply {
  const e = new ConsoleError(code, message);
  return reply.code(e.status).send({ error: { code: e.code, message: e.message } });
}
