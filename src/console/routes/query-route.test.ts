// POST /api/query through inject(), with a fake broker: the JSON contract of the query box
// (body, 200/400/504, auth). The broker itself is tested in test/integration/query-broker.test.ts.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTelemetryQuery, type QueryResult } from '../../telemetry/index.ts';
import { buildConsoleApp, type ConsoleApp } from './api.ts';
import { FakeClusterClient } from '../../../test/helpers/fake-cluster-client.ts';

const TOKEN = 'a-token-of-sixteen-chars';

function result(over: Partial<QueryResult>): QueryResult {
  return {
    cluster: 'prod', query: 'count requests last 5m', columns: ['count_requests'], rows: [[3]], agentsAsked: 2, agentsTotal: 5, agentsAnswered: 2,
    partial: false, failures: [], truncated: false, rowsScanned: 10, rowsMatched: 3, tookMs: 1, ...over,
  };
}

describe('POST /api/query', () => {
  const calls: Array<{ cluster: string; q: string }> = [];
  let next: (q: string) => QueryResult = () => result({});
  const broker = async (cluster: string, q: string): Promise<QueryResult> => {
    calls.push({ cluster, q });
    parseTelemetryQuery(q); // a parse error rejects, as the real broker does
    return next(q);
  };
  const one = buildConsoleApp({ clusters: [{ name: 'prod', client: new FakeClusterClient() }], queryBroker: broker });
  const two = buildConsoleApp({ clusters: [{ name: 'prod', client: new FakeClusterClient() }, { name: 'dev', client: new FakeClusterClient() }], queryBroker: broker, token: TOKEN });
  const none = buildConsoleApp({ clusters: [{ name: 'prod', client: new FakeClusterClient() }] });
  after(async () => {
    for (const c of [one, two, none]) await c.close();
  });
  const post = async (c: ConsoleApp, body: unknown, headers: Record<string, string> = {}) => {
    const res = await c.app.inject({ method: 'POST', url: '/api/query', payload: body as object, headers });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> & { error?: { code: string; message: string; position?: number } } };
  };

  test('answers the broker result; the cluster is optional when the console follows one', async () => {
    const r = await post(one, { q: 'count requests' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, result({}));
    assert.deepEqual(calls.at(-1), { cluster: 'prod', q: 'count requests' });
    assert.equal(one.status().features.query, true);
    assert.equal(none.status().features.query, false);
  });

  test('a group without a value is named "(no <dimension>)", never an empty row; values stay as they are', async () => {
    // As the broker answers `p99 latency by service, deployment`: pods in no service (and of no
    // Deployment) are keyed null, and a group with no latency data has a null value.
    next = () => result({
      query: 'p99 latency by service, deployment last 5m',
      columns: ['service', 'deployment', 'p99_latency_ms'],
      rows: [[null, 'shop/batch', 412.5], ['shop/checkout', null, 231.4], [null, null, 12], ['shop/cart', 'shop/cart', null]],
    });
    const r = await post(one, { q: 'p99 latency by service, deployment' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body['rows'], [
      ['(no service)', 'shop/batch', 412.5],
      ['shop/checkout', '(no deployment)', 231.4],
      ['(no service)', '(no deployment)', 12],
      ['shop/cart', 'shop/cart', null],
    ]);
    assert.deepEqual(r.body['columns'], ['service', 'deployment', 'p99_latency_ms']);
    // The 504 body's result is named the same way.
    next = () => result({ agentsAnswered: 0, partial: true, columns: ['service', 'count_requests'], rows: [[null, 1]], failures: [{ node: 'n1', reason: 'timeout', message: 'no answer' }] });
    const timeout = await post(one, { q: 'count requests by service' });
    assert.equal(timeout.status, 504);
    assert.deepEqual((timeout.body['result'] as QueryResult).rows, [['(no service)', 1]]);
    next = () => result({});
  });

  test('a query that does not parse is 400 CONSOLE_QUERY_INVALID with the position', async () => {
    const r = await post(one, { q: 'p99 latncy by service' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error?.code, 'CONSOLE_QUERY_INVALID');
    assert.equal(r.body.error?.position, 4);
    assert.match(r.body.error?.message ?? '', /unknown measure 'latncy' at 4; expected latency\|requests\|errors/);
  });

  test('bad bodies and clusters are 400', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal((await post(one, { q: '' })).body.error?.code, 'CONSOLE_BAD_REQUEST');
    assert.equal((await post(one, { q: 'count requests', limit: 3 })).body.error?.code, 'CONSOLE_BAD_REQUEST');
    assert.equal((await post(one, ['count requests'])).status, 400);
    const noCluster = await post(two, { q: 'count requests' }, auth);
    assert.equal(noCluster.status, 400);
    assert.match(noCluster.body.error?.message ?? '', /follows prod, dev: name one/);
    const unknown = await post(two, { q: 'count requests', cluster: 'staging' }, auth);
    assert.equal(unknown.body.error?.code, 'CONSOLE_UNKNOWN_CLUSTER');
    assert.equal((await post(two, { q: 'count requests', cluster: 'dev' }, auth)).status, 200);
    assert.deepEqual(calls.at(-1), { cluster: 'dev', q: 'count requests' });
  });

  test('needs the bearer token like every /api route', async () => {
    const before = calls.length;
    assert.equal((await post(two, { q: 'count requests', cluster: 'dev' })).status, 401);
    assert.equal(calls.length, before, 'the broker was not called');
  });

  test('no agent answering is 504 CONSOLE_QUERY_TIMEOUT with the result attached; a partial answer is 200', async () => {
    next = () => result({ agentsAnswered: 0, partial: true, rows: [], failures: [{ node: 'n1', reason: 'timeout', message: 'no answer within 2000 ms' }] });
    const r = await post(one, { q: 'count requests' });
    assert.equal(r.status, 504);
    assert.equal(r.body.error?.code, 'CONSOLE_QUERY_TIMEOUT');
    assert.match(r.body.error?.message ?? '', /none of the 2 agents asked answered \(timeout\)/);
    assert.equal((r.body['result'] as QueryResult).agentsAsked, 2);
    next = () => result({ agentsAnswered: 1, partial: true });
    assert.equal((await post(one, { q: 'count requests' })).status, 200);
    next = () => result({ agentsAsked: 0, agentsAnswered: 0, rows: [] });
    assert.equal((await post(one, { q: 'count requests namespace empty' })).status, 200, 'no matching pods: an empty answer, not a timeout');
  });
});
