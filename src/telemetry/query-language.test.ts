import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QueryParseError } from './errors.ts';
import { DEFAULT_WINDOW_MS, formatTelemetryQuery, parseTelemetryQuery, toQueryFilter } from './query-language.ts';

const parseError = (text: string): QueryParseError => {
  try {
    parseTelemetryQuery(text);
  } catch (err) {
    assert.ok(err instanceof QueryParseError, `a QueryParseError for ${JSON.stringify(text)}, got ${String(err)}`);
    assert.equal(err.code, 'TELEMETRY_QUERY_INVALID');
    return err;
  }
  assert.fail(`${JSON.stringify(text)} parsed`);
};

test('parses aggregation, measure, dimensions, filters and window', () => {
  const q = parseTelemetryQuery('p99 latency by service in namespace shop');
  assert.deepEqual({ ...q, filter: { ...q.filter }, groupBy: [...q.groupBy] }, {
    aggregation: 'p99', measure: 'latency', groupBy: ['service'], filter: { namespace: 'shop' }, windowMs: DEFAULT_WINDOW_MS,
  });
  const r = parseTelemetryQuery('RATE errors by pod, node deployment checkout and namespace shop where label tier=api,canary!=true last 15m');
  assert.equal(r.aggregation, 'rate');
  assert.deepEqual(r.groupBy, ['pod', 'node']);
  assert.deepEqual({ ...r.filter }, { deployment: 'checkout', namespace: 'shop', labelSelector: 'tier=api,canary!=true' });
  assert.equal(r.windowMs, 15 * 60_000);
  const s = parseTelemetryQuery('count requests service web pod web-1 node n1 container app last 30s');
  assert.deepEqual({ ...s.filter }, { service: 'web', pod: 'web-1', node: 'n1', container: 'app' });
  assert.deepEqual(s.groupBy, []);
  assert.equal(s.windowMs, 30_000);
});

test('the routing filter leaves out what routing does not know (containers)', () => {
  const q = parseTelemetryQuery('avg latency in namespace shop container app where label a=b');
  assert.deepEqual(toQueryFilter(q.filter), { namespace: 'shop', labelSelector: 'a=b' });
});

test('canonical text parses back to the same query', () => {
  for (const text of ['p99 latency by service in namespace shop', 'max latency by container, pod node n1 last 1h', 'count errors where label app=web last 90s']) {
    const q = parseTelemetryQuery(text);
    assert.deepEqual(parseTelemetryQuery(formatTelemetryQuery(q)), q, text);
  }
});

test('an unknown measure names the token, its position and the alternatives', () => {
  const e = parseError('p99 latncy by service');
  assert.equal(e.position, 4);
  assert.match(e.message, /^unknown measure 'latncy' at 4; expected latency\|requests\|errors/);
  assert.match(e.message, /did you mean 'latency'/);
  assert.deepEqual(e.expected, ['latency', 'requests', 'errors']);
});

test('parse errors point at the offending token', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['', 0, /empty query.*expected count\|rate\|p50/],
    ['p95 latency', 0, /unknown aggregation 'p95' at 0/],
    ['p99', 3, /missing measure after 'p99' at 3/],
    ['p99 requests', 4, /applies to latency only.*requests takes count or rate/],
    ['count requests by', 17, /missing a dimension after 'by' at 17/],
    ['count requests by flavour', 18, /unexpected dimension 'flavour' at 18/],
    ['count requests by pod, pod', 23, /'pod' listed twice at 23/],
    ['count requests in shop', 18, /after 'in'/],
    ['count requests namespace', 24, /missing a namespace name after 'namespace' at 24/],
    ['count requests namespace a namespace b', 27, /namespace given twice at 27/],
    ['count requests where tier=api', 21, /'label' after 'where'/],
    ['count requests where label tier', 27, /label requirement/],
    ['count requests last 5 minutes', 20, /window after 'last'/],
    ['count requests last 2d', 20, /window after 'last'/],
    ['count requests last 0s', 20, /out of range/],
    ['count requests sorted', 15, /unexpected 'sorted' at 15; expected by, in/],
  ];
  for (const [text, position, message] of cases) {
    const e = parseError(text);
    assert.equal(e.position, position, `${text}: ${e.message}`);
    assert.match(e.message, message, text);
  }
});

test('overlong queries are refused before parsing', () => {
  assert.match(parseError(`count requests ${'x'.repeat(600)}`).message, /longer than 500/);
});
