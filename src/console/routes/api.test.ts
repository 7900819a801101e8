// The console API through fastify's inject(), fed by a real SDK LocalState (the part of a
// ClusterClient that holds and changes the state) behind a fake client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../core/index.ts';
import { create, createResourceUpdate, kinds, PodUpdateSchema, type ResourceUpdate } from '../../schema/index.ts';
import { buildConsoleApp, type ConsoleApp } from './api.ts';
import { FakeClusterClient as FakeClient } from '../../../test/helpers/fake-cluster-client.ts';

function pod(uid: string, name: string, namespace: string, labels: Record<string, string> = {}, stopped = false): ResourceUpdate {
  return createResourceUpdate({ object: { case: 'pod', value: create(PodUpdateSchema, { uid, name, namespace, labels, stopTimeNs: stopped ? 1_800_000_000_000_000_000n : 0n }) } });
}
function service(uid: string, name: string, namespace: string): ResourceUpdate {
  return createResourceUpdate({ object: { case: 'service', value: { uid, name, namespace } } });
}
function deployment(uid: string, name: string, namespace: string): ResourceUpdate {
  return createResourceUpdate({ object: { case: 'workload', value: { kind: kinds.Deployment.wire, uid, name, namespace } } });
}

const TOKEN = 'a-token-long-enough-0123456789';

describe('console API', () => {
  const prod = new FakeClient();
  const staging = new FakeClient();
  let api: ConsoleApp;
  let secured: ConsoleApp;
  const get = async (url: string, app: ConsoleApp = api, headers: Record<string, string> = {}) => {
    const res = await app.app.inject({ method: 'GET', url, headers });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> & { error?: { code: string; message: string } }, headers: res.headers };
  };

  before(() => {
    prod.apply(service('s1', 'frontend', 'shop'), deployment('d1', 'frontend', 'shop'), pod('p1', 'frontend-7d9f8b6c5d-x8kqz', 'shop', { app: 'frontend' }));
    for (let i = 0; i < 30; i++) prod.apply(pod(`w${i}`, `worker-${String(i).padStart(2, '0')}`, i % 2 ? 'jobs' : 'batch'));
    staging.apply(service('s9', 'frontend', 'shop'));
    api = buildConsoleApp({ clusters: [{ name: 'prod', client: prod }, { name: 'staging', client: staging }] });
    secured = buildConsoleApp({ clusters: [{ name: 'prod', client: prod }], token: TOKEN, corsOrigins: ['https://console.example.com'] });
  });

  after(async () => {
    await api.close();
    await secured.close();
  });

  test('autocomplete ranks, names the cluster, and highlights', async () => {
    const { status, body } = await get('/api/autocomplete?q=front');
    assert.equal(status, 200);
    const s = body['suggestions'] as Array<Record<string, unknown>>;
    assert.deepEqual(s.map((x) => `${x['cluster']} ${x['kind']} ${x['name']}`), [
      'prod service frontend', 'staging service frontend', 'prod deployment frontend', 'prod pod frontend-7d9f8b6c5d-x8kqz', 'prod label app=frontend',
    ]);
    assert.deepEqual(s[0]?.['highlights'], [[0, 5]]);
    assert.equal(s[0]?.['match'], 'prefix');
    assert.equal(s[0]?.['namespace'], 'shop');
    assert.deepEqual((body['query'] as Record<string, unknown>)['clusters'], ['prod', 'staging']);
  });

  test('autocomplete filters by kind (parameter or prefix), cluster and limit', async () => {
    const kind = await get('/api/autocomplete?q=front&kind=deploy,svc&cluster=staging');
    assert.deepEqual((kind.body['suggestions'] as Array<Record<string, unknown>>).map((x) => x['key']), ['s9']);
    const limited = await get('/api/autocomplete?q=pod:worker&limit=3');
    assert.deepEqual((limited.body['suggestions'] as Array<Record<string, unknown>>).map((x) => x['name']), ['worker-00', 'worker-01', 'worker-02']);
    const repeated = await get('/api/autocomplete?q=svc:frontend&cluster=prod&cluster=staging');
    assert.equal((repeated.body['suggestions'] as unknown[]).length, 2);
  });

  test('bad input gets a 400 that says what to fix', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['/api/autocomplete', 'CONSOLE_BAD_REQUEST', /q is required/],
      ['/api/autocomplete?q=a&limit=0', 'CONSOLE_BAD_REQUEST', /limit must be between 1 and 100/],
      ['/api/autocomplete?q=a&limit=ten', 'CONSOLE_BAD_REQUEST', /limit must be a number/],
      ['/api/autocomplete?q=a&limt=5', 'CONSOLE_BAD_REQUEST', /unknown parameter "limt"/],
      ['/api/autocomplete?q=a&q=b', 'CONSOLE_BAD_REQUEST', /q must be given once/],
      ['/api/autocomplete?q=pdo:x', 'CONSOLE_UNKNOWN_KIND', /unknown kind "pdo"/],
      ['/api/autocomplete?q=x&kind=pods,dogs', 'CONSOLE_UNKNOWN_KIND', /unknown kind "dogs"/],
      ['/api/autocomplete?q=x&cluster=qa', 'CONSOLE_UNKNOWN_CLUSTER', /unknown cluster "qa"; this console follows prod, staging/],
      [`/api/autocomplete?q=${'x'.repeat(600)}`, 'CONSOLE_BAD_REQUEST', /at most 512/],
      ['/api/entities/dogs', 'CONSOLE_UNKNOWN_KIND', /unknown kind "dogs"/],
      ['/api/entities/workload', 'CONSOLE_UNKNOWN_KIND', /several kinds/],
      ['/api/entities/pod?namespace=Not_A_Namespace', 'CONSOLE_BAD_REQUEST', /namespace must be a namespace name/],
      ['/api/entities/pod?after=garbage', 'CONSOLE_BAD_REQUEST', /after: not a cursor/],
      ['/api/entities/pod?includeDeleted=yes', 'CONSOLE_BAD_REQUEST', /includeDeleted must be true or false/],
    ];
    for (const [url, code, message] of cases) {
      const { status, body } = await get(url);
      assert.equal(status, 400, url);
      assert.equal(body.error?.code, code, url);
      assert.match(body.error?.message ?? '', message, url);
    }
    const missing = await get('/api/nothing');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error?.code, 'CONSOLE_NOT_FOUND');
  });

  test('entities are listed a page at a time, by namespace and cluster', async () => {
    const names: string[] = [];
    let after: string | null = null;
    do {
      const { body }: { body: Record<string, unknown> } = await get(`/api/entities/pods?namespace=jobs&limit=4${after ? `&after=${after}` : ''}`);
      names.push(...(body['items'] as Array<{ name: string }>).map((p) => p.name));
      after = body['next'] as string | null;
    } while (after);
    assert.equal(names.length, 15);
    assert.deepEqual(names.slice(0, 3), ['worker-01', 'worker-03', 'worker-05']);
    const svc = await get('/api/entities/svc?cluster=staging');
    assert.deepEqual((svc.body['items'] as Array<{ key: string }>).map((s) => s.key), ['s9']);
  });

  test('changes applied to the client reach the index at once; deleted ones are flagged', async () => {
    prod.apply(pod('n1', 'newcomer-1', 'shop'));
    prod.apply(pod('w3', 'worker-03', 'jobs', {}, true));
    await waitFor(async () => ((await get('/api/autocomplete?q=newcomer')).body['suggestions'] as unknown[]).length === 1, { what: 'the new pod in the index', timeoutMs: 2_000 });
    const gone = (await get('/api/autocomplete?q=worker-03')).body['suggestions'] as Array<Record<string, unknown>>;
    assert.equal(gone[0]?.['live'], false);
    assert.equal(gone[0]?.['gone'], 'deleted');
    const live = await get('/api/entities/pod?namespace=jobs&limit=100');
    assert.ok(!(live.body['items'] as Array<{ name: string }>).some((p) => p.name === 'worker-03'), 'not listed without includeDeleted');
    const all = await get('/api/entities/pod?namespace=jobs&limit=100&includeDeleted=true');
    assert.ok((all.body['items'] as Array<{ name: string }>).some((p) => p.name === 'worker-03'));
  });

  test('status reports each cluster: connection, position, entities indexed and memory', async () => {
    const { body } = await get('/api/status');
    const clusters = body['clusters'] as Array<Record<string, unknown>>;
    assert.deepEqual(clusters.map((c) => c['name']), ['prod', 'staging']);
    const p = clusters[0] as Record<string, unknown>;
    assert.equal(p['connected'], true);
    assert.equal(p['head'], prod.head);
    assert.equal(p['inSync'], true);
    assert.ok((p['indexedEntities'] as number) > 30);
    assert.ok((p['indexBytes'] as number) > 0);
    assert.ok(((body['index'] as Record<string, unknown>)['bytes'] as number) > 0);
    staging.statusFeed.push({ type: 'disconnect', scope: 'cluster', atMs: 0 });
    await waitFor(async () => ((await get('/api/status')).body['clusters'] as Array<Record<string, unknown>>)[1]?.['connected'] === false, { what: 'staging shown disconnected', timeoutMs: 2_000 });
  });

  test('with a token, /api/ answers 401 without it or with a wrong one, the same way', async () => {
    const none = await get('/api/autocomplete?q=front', secured);
    const wrong = await get('/api/autocomplete?q=front', secured, { authorization: 'Bearer nope' });
    const prefixOnly = await get('/api/status', secured, { authorization: `Bearer ${TOKEN.slice(0, 10)}` });
    for (const r of [none, wrong, prefixOnly]) {
      assert.equal(r.status, 401);
      assert.equal(r.body.error?.code, 'CONSOLE_UNAUTHORIZED');
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="kubemeta-console"');
    }
    assert.equal(none.body.error?.message, wrong.body.error?.message);
    const ok = await get('/api/autocomplete?q=front', secured, { authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['cache-control'], 'no-store');
  });

  test('CORS is closed by default and open only to the listed origins', async () => {
    const other = await get('/api/status', api, { origin: 'https://evil.example.com' });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    const listed = await get('/api/status', secured, { origin: 'https://console.example.com', authorization: `Bearer ${TOKEN}` });
    assert.equal(listed.headers['access-control-allow-origin'], 'https://console.example.com');
    const unlisted = await get('/api/status', secured, { origin: 'https://evil.example.com', authorization: `Bearer ${TOKEN}` });
    assert.equal(unlisted.headers['access-control-allow-origin'], undefined);
    const preflight = await secured.app.inject({ method: 'OPTIONS', url: '/api/status', headers: { origin: 'https://console.example.com', 'access-control-request-method': 'GET' } });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-headers'], 'authorization, content-type', 'POST /api/query sends JSON');
  });

  test('options that can never work are refused', () => {
    assert.throws(() => buildConsoleApp({ clusters: [{ name: 'a', client: prod }, { name: 'a', client: prod }] }), /listed twice/);
    assert.throws(() => buildConsoleApp({ clusters: [], token: 'short' }), /at least 16 characters/);
    assert.throws(() => buildConsoleApp({ clusters: [], corsOrigins: ['https://x.example.com/path'] }), /not an origin/);
  });
});
