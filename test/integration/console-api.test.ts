// The console's HTTP API against the whole system (issue 6): the simulator, a real
// nats-server, `kubemeta serve` (MetadataService) and SDK ClusterClients feeding the
// autocomplete index. Names that exist in the simulator are found with the right kind and
// namespace, churn shows up (new pods live, deleted ones flagged), bad input gets a 400, a
// token-protected server answers 401 without the token, two clusters are told apart, and the
// `kubemeta console` command serves the same API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../src/core/index.ts';
import { startConsoleServer, type ConsoleServer, type Suggestion } from '../../src/console/index.ts';
import { ClusterClient } from '../../src/sdk/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import { spawnProcess, type SpawnedProcess } from '../../src/testing/index.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';

const TOKEN = 'integration-token-0123456789abcdef';
const root = new URL('../..', import.meta.url).pathname;

interface SimObject {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly uid: string;
}

describe('console API against kubemeta serve and the simulator', () => {
  let env: ServeEnv;
  let service: MetadataService;
  let other: MetadataService;
  let client: ClusterClient;
  let otherClient: ClusterClient;
  let server: ConsoleServer;
  let secured: ConsoleServer;
  let both: ConsoleServer;
  let cli: SpawnedProcess | undefined;

  const objects = (kind: string): SimObject[] =>
    env.engine.model.list(kind).items.map((s) => ({ kind, name: s.object.metadata.name, namespace: s.object.metadata.namespace, uid: s.object.metadata.uid }));
  const get = async (base: string, path: string, token?: string): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string; message: string } } }> => {
    const res = await fetch(`${base}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } } };
  };
  const suggest = async (q: string, base = server.url, extra = ''): Promise<Suggestion[]> =>
    (await get(base, `/api/autocomplete?q=${encodeURIComponent(q)}${extra}`)).body['suggestions'] as Suggestion[];
  /** Every live entity of a kind the API lists, paging through. */
  const listed = async (kind: string): Promise<Set<string>> => {
    const keys = new Set<string>();
    let after: string | null = null;
    do {
      const { body }: { body: Record<string, unknown> } = await get(server.url, `/api/entities/${kind}?limit=500${after ? `&after=${after}` : ''}`);
      for (const item of body['items'] as Array<{ key: string }>) keys.add(item.key);
      after = body['next'] as string | null;
    } while (after);
    return keys;
  };

  before(async () => {
    env = await startServeEnv({ seed: 6, nodes: 4, podsPerNode: 8, namespaces: 2 });
    service = await MetadataService.start(env.serveConfig());
    other = await MetadataService.start(env.serveConfig({ cluster: 'test2', store: `lmdb:${join(env.dir, 'store2')}` }));
    await service.whenReady(AbortSignal.timeout(30_000));
    await other.whenReady(AbortSignal.timeout(30_000));
    client = await ClusterClient.connect({ servers: env.nats.url, cluster: 'test' });
    otherClient = await ClusterClient.connect({ servers: env.nats.url, cluster: 'test2' });
    await client.whenInSync(AbortSignal.timeout(30_000));
    await otherClient.whenInSync(AbortSignal.timeout(30_000));
    server = await startConsoleServer({ clusters: [{ name: 'test', client }] });
    secured = await startConsoleServer({ clusters: [{ name: 'test', client }], token: TOKEN });
    both = await startConsoleServer({ clusters: [{ name: 'test', client }, { name: 'test2', client: otherClient }] });
  });

  after(async () => {
    await cli?.stop();
    for (const s of [server, secured, both]) await s?.close();
    await client?.close();
    await otherClient?.close();
    await service?.drain();
    await other?.drain();
    await env?.stop();
  });

  test('finds the simulator’s objects by name, with their kind and namespace', async () => {
    const expected: Array<[string, string, SimObject]> = [];
    const alias: Record<string, [string, string]> = {
      Pod: ['pod', 'pod'], Service: ['svc', 'service'], Deployment: ['deploy', 'deployment'], ReplicaSet: ['rs', 'replicaset'],
      DaemonSet: ['ds', 'daemonset'], StatefulSet: ['sts', 'statefulset'], Namespace: ['ns', 'namespace'], Node: ['no', 'node'],
    };
    for (const [kind, [short, entityKind]] of Object.entries(alias)) {
      for (const o of objects(kind).slice(0, 3)) expected.push([`${short}:${o.namespace ? `${o.namespace}/` : ''}${o.name}`, entityKind, o]);
    }
    assert.ok(expected.length >= 16, `objects of every kind: ${expected.length}`);
    await waitFor(async () => {
      for (const [q, kind, o] of expected) {
        const top = (await suggest(q))[0];
        if (top?.key !== o.uid) return false;
        assert.equal(top.kind, kind, q);
        assert.equal(top.match, 'exact', q);
        assert.equal(top.namespace, o.namespace, q);
        assert.equal(top.cluster, 'test', q);
        assert.equal(top.live, true, q);
        assert.deepEqual(top.highlights, [[0, o.name.length]], q);
      }
      return true;
    }, { what: 'every sampled simulator object to be found', timeoutMs: 30_000, intervalMs: 200 });
  });

  test('prefixes, substrings and typos of real names', async () => {
    const deploy = objects('Deployment')[0] as SimObject;
    const byPrefix = await suggest(`deploy:${deploy.name.slice(0, 4)}`, server.url, '&limit=50');
    assert.ok(byPrefix.some((s) => s.key === deploy.uid && s.match === 'prefix'), 'prefix');
    const inner = deploy.name.slice(2);
    assert.ok((await suggest(`deploy:${inner}`, server.url, '&limit=50')).some((s) => s.key === deploy.uid && s.match === 'substring'), 'substring');
    const typo = deploy.name.slice(0, 1) + deploy.name.slice(2, 3) + deploy.name.slice(1, 2) + deploy.name.slice(3);
    const fuzzy = (await suggest(`deploy:${typo}`, server.url, '&limit=50')).find((s) => s.key === deploy.uid);
    assert.equal(fuzzy?.match, typo === deploy.name ? 'exact' : 'fuzzy', `typo ${typo} of ${deploy.name}`);
    const pod = objects('Pod')[0] as SimObject;
    assert.ok((await suggest(`${pod.namespace}/${pod.name.slice(0, 6)}`, server.url, '&limit=100')).some((s) => s.key === pod.uid), 'namespace scope');
  });

  test('churn: new pods appear live, deleted ones stay findable, flagged', async () => {
    const before = new Map(objects('Pod').map((o) => [o.uid, o]));
    env.engine.step(120, { mix: { podDelete: 1, rollingUpdate: 1, scale: 1 } });
    await env.engine.controllers.settle();
    const now = new Map(objects('Pod').map((o) => [o.uid, o]));
    const added = [...now.values()].filter((o) => !before.has(o.uid));
    const deleted = [...before.values()].filter((o) => !now.has(o.uid));
    assert.ok(added.length > 0 && deleted.length > 0, `churn added ${added.length} and deleted ${deleted.length} pods`);
    await waitFor(async () => {
      const live = await listed('pod');
      return live.size === now.size && [...now.keys()].every((uid) => live.has(uid));
    }, { what: 'the listed live pods to equal the simulator’s', timeoutMs: 30_000, intervalMs: 250 });
    for (const o of added.slice(0, 5)) {
      const top = (await suggest(`pod:${o.namespace}/${o.name}`))[0];
      assert.equal(top?.key, o.uid);
      assert.equal(top?.live, true);
    }
    for (const o of deleted.slice(0, 5)) {
      const hit = (await suggest(`pod:${o.namespace}/${o.name}`)).find((s) => s.key === o.uid);
      assert.ok(hit, `deleted pod ${o.name} is still findable`);
      assert.equal(hit.live, false);
      assert.equal(hit.gone, 'deleted');
      assert.ok((hit.goneAtMs ?? 0) > 0);
    }
  });

  test('status shows the cluster connected and in sync, with its head and what the index holds', async () => {
    await client.whenInSync(AbortSignal.timeout(30_000));
    const { status, body } = await get(server.url, '/api/status');
    assert.equal(status, 200);
    const c = (body['clusters'] as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
    assert.equal(c['name'], 'test');
    assert.equal(c['connected'], true);
    assert.equal(c['lifecycle'], 'running');
    assert.ok((c['head'] as number) > 0);
    assert.equal(typeof c['inSync'], 'boolean');
    assert.equal(typeof c['lag'], 'number');
    assert.ok((c['indexedEntities'] as number) >= objects('Pod').length);
    assert.ok((c['indexBytes'] as number) > 0);
  });

  test('bad input gets a 400 with a clear message', async () => {
    for (const [path, pattern] of [
      ['/api/autocomplete?limit=5', /q is required/],
      ['/api/autocomplete?q=x&limit=1000', /limit must be between 1 and 100/],
      ['/api/autocomplete?q=dog:x', /unknown kind "dog"/],
      ['/api/autocomplete?q=x&cluster=prod', /unknown cluster "prod"/],
      ['/api/entities/pod?after=%%%', /after: not a cursor/],
    ] as const) {
      const { status, body } = await get(server.url, path);
      assert.equal(status, 400, path);
      assert.match(body.error?.message ?? '', pattern, path);
    }
  });

  test('with a token, the API answers 401 without it and 200 with it', async () => {
    const none = await get(secured.url, '/api/autocomplete?q=a');
    assert.equal(none.status, 401);
    assert.equal(none.body.error?.code, 'CONSOLE_UNAUTHORIZED');
    assert.equal((await get(secured.url, '/api/status', 'wrong-token')).status, 401);
    assert.equal((await get(secured.url, '/api/status', TOKEN)).status, 200);
  });

  test('two clusters at once: every result names its cluster, and a query can keep to one', async () => {
    const deploy = objects('Deployment')[0] as SimObject;
    const q = `deploy:${deploy.namespace}/${deploy.name}`;
    await waitFor(async () => (await suggest(q, both.url)).filter((s) => s.match === 'exact').length === 2, { what: 'the deployment in both clusters', timeoutMs: 30_000 });
    const hits = (await suggest(q, both.url)).filter((s) => s.match === 'exact');
    assert.deepEqual(hits.map((s) => s.cluster).sort(), ['test', 'test2']);
    const one = (await suggest(q, both.url, '&cluster=test2')).filter((s) => s.match === 'exact');
    assert.deepEqual(one.map((s) => s.cluster), ['test2']);
    const status = (await get(both.url, '/api/status')).body['clusters'] as Array<{ name: string }>;
    assert.deepEqual(status.map((c) => c.name), ['test', 'test2']);
  });

  test('`kubemeta console` follows the clusters it is given and serves the API with a token', { timeout: 90_000 }, async () => {
    const tokenFile = join(env.dir, 'console-token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    cli = spawnProcess(process.execPath, [
      join(root, 'bin/kubemeta.js'), 'console', '--nats', env.nats.url, '--cluster', 'test', '--cluster', 'test2', '--http', '127.0.0.1:0',
      '--token-file', tokenFile, '--log-level', 'info',
    ]);
    const started = await waitFor(() => /"url":"(http:\/\/[^"]+)"/.exec(cli?.output() ?? '')?.[1], { what: 'kubemeta console to log its URL', timeoutMs: 60_000 })
      .catch((err: Error) => { throw new Error(`${err.message}\n${cli?.output()}`); });
    const url = started as string;
    assert.equal((await get(url, '/api/status')).status, 401);
    const pod = objects('Pod')[0] as SimObject;
    await waitFor(async () => {
      const { body } = await get(url, `/api/autocomplete?q=${encodeURIComponent(`pod:${pod.namespace}/${pod.name}`)}`, TOKEN);
      return (body['suggestions'] as Suggestion[]).filter((s) => s.key === pod.uid).length === 2;
    }, { what: 'the pod in both clusters through the command', timeoutMs: 30_000 });
    await cli.stop();
    assert.equal(await cli.exited, 0, cli.output());
  });
});
