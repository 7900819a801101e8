// GET /api/entity/<kind>/<uid> through fastify's inject(), on a real SDK LocalState: a pod with
// its containers, node, services, owner chain (ReplicaSet → Deployment) and namespace; the other
// kinds with their fields and related pods; 400s and 404s that say what to fix.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ContainerType } from '../../schema/index.ts';
import { container, namespace, node, pod, service, workload } from '../../testing/index.ts';
import { buildConsoleApp, type ConsoleApp } from './api.ts';
import type { EntityDetail } from '../views/entity-view.ts';
import { FakeClusterClient } from '../../../test/helpers/fake-cluster-client.ts';

describe('GET /api/entity', () => {
  const prod = new FakeClusterClient();
  const staging = new FakeClusterClient();
  let one: ConsoleApp;
  let two: ConsoleApp;
  const get = async (url: string, app: ConsoleApp = one) => {
    const res = await app.app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json() as EntityDetail & { error?: { code: string; message: string } } };
  };

  before(() => {
    prod.apply(
      namespace({ uid: 'ns-shop', name: 'shop' }),
      node({ uid: 'node-1', name: 'worker-1', ip: '10.0.0.11' }),
      workload({ kind: 'Deployment', uid: 'd1', name: 'checkout', namespace: 'shop' }),
      workload({ kind: 'ReplicaSet', uid: 'rs1', name: 'checkout-7d9f', namespace: 'shop', owner: { kind: 'Deployment', name: 'checkout', uid: 'd1' } }),
      pod({
        uid: 'p1', name: 'checkout-7d9f-x8kqz', namespace: 'shop', node: 'worker-1', ip: '10.1.0.5',
        labels: { app: 'checkout', 'app.kubernetes.io/name': 'web' },
        owner: { kind: 'ReplicaSet', name: 'checkout-7d9f', uid: 'rs1' },
        containers: [{ name: 'app', id: 'c1' }, { name: 'proxy', id: '', type: ContainerType.SIDECAR }],
      }),
      container({ id: 'c1', name: 'app', podUid: 'p1', podName: 'checkout-7d9f-x8kqz', namespace: 'shop' }),
      service({ uid: 's1', name: 'checkout', namespace: 'shop', clusterIp: '10.96.0.10', podUids: ['p1'], nodes: ['worker-1'] }),
      workload({ kind: 'CronJob', uid: 'cj1', name: 'report', namespace: 'shop' }),
      workload({ kind: 'Job', uid: 'j1', name: 'report-123', namespace: 'shop', owner: { kind: 'CronJob', name: 'report', uid: 'cj1' } }),
      pod({ uid: 'p2', name: 'report-123-abcde', namespace: 'shop', node: 'worker-1', owner: { kind: 'Job', name: 'report-123', uid: 'j1' } }),
      pod({ uid: 'p3', name: 'gone-pod', namespace: 'shop', stopNs: 1_732_700_100_000_000_000n }),
    );
    one = buildConsoleApp({ clusters: [{ name: 'prod', client: prod }] });
    two = buildConsoleApp({ clusters: [{ name: 'prod', client: prod }, { name: 'staging', client: staging }] });
  });

  after(async () => {
    await one.close();
    await two.close();
  });

  test('a pod with its containers, node, services, owner chain, namespace and labels', async () => {
    const { status, body } = await get('/api/entity/pod/p1?cluster=prod');
    assert.equal(status, 200);
    assert.equal(body.kind, 'pod');
    assert.equal(body.name, 'checkout-7d9f-x8kqz');
    assert.equal(body.namespace, 'shop');
    assert.equal(body.live, true);
    assert.deepEqual(body.labels, { app: 'checkout', 'app.kubernetes.io/name': 'web' });
    const field = (name: string) => body.fields.find((f) => f.name === name)?.value;
    assert.equal(field('phase'), 'running');
    assert.equal(field('pod IP'), '10.1.0.5');
    assert.equal(field('node'), 'worker-1');
    const r = body.relations;
    assert.deepEqual(r.containers?.map((c) => [c.name, c.type, c.state, c.containerId]), [['app', 'regular', 'running', 'c1'], ['proxy', 'sidecar', 'waiting', '']]);
    assert.deepEqual(r.node, { kind: 'node', uid: 'node-1', name: 'worker-1', live: true });
    assert.deepEqual(r.namespace, { kind: 'namespace', uid: 'ns-shop', name: 'shop', live: true });
    assert.deepEqual(r.services, { items: [{ kind: 'service', uid: 's1', name: 'checkout', namespace: 'shop', live: true }], total: 1 });
    assert.deepEqual(r.owners?.map((o) => [o.kind, o.name, o.ref?.kind, o.ref?.uid]), [['ReplicaSet', 'checkout-7d9f', 'replicaset', 'rs1'], ['Deployment', 'checkout', 'deployment', 'd1']]);
  });

  test('a Deployment lists the pods of its ReplicaSets; a CronJob those of its Jobs', async () => {
    const d = (await get('/api/entity/deploy/d1')).body;
    assert.equal(d.kind, 'deployment');
    assert.deepEqual(d.relations.workloads?.items.map((w) => w.uid), ['rs1']);
    assert.deepEqual(d.relations.pods?.items.map((p) => p.uid), ['p1']);
    const rs = (await get('/api/entity/replicaset/rs1')).body;
    assert.deepEqual(rs.relations.owners?.map((o) => o.uid), ['d1']);
    const cj = (await get('/api/entity/cronjob/cj1')).body;
    assert.deepEqual(cj.relations.pods?.items.map((p) => p.uid), ['p2']);
  });

  test('services, nodes, namespaces, containers and labels show their fields and related objects', async () => {
    const s = (await get('/api/entity/svc/s1')).body;
    assert.equal(s.fields.find((f) => f.name === 'cluster IPs')?.value, '10.96.0.10');
    assert.deepEqual(s.relations.pods?.items.map((p) => p.uid), ['p1']);
    assert.deepEqual(s.relations.nodes?.items.map((n) => n.name), ['worker-1']);
    const n = (await get('/api/entity/node/node-1')).body;
    assert.deepEqual(n.relations.pods?.items.map((p) => p.uid).sort(), ['p1', 'p2']);
    assert.match(n.fields.find((f) => f.name === 'addresses')?.value ?? '', /10\.0\.0\.11 \(internal ip\)/);
    const ns = (await get('/api/entity/ns/ns-shop')).body;
    assert.equal(ns.relations.pods?.total, 2, 'live pods only');
    assert.deepEqual(ns.relations.services?.items.map((x) => x.uid), ['s1']);
    assert.deepEqual(ns.relations.workloads?.items.map((x) => x.uid).sort(), ['cj1', 'd1', 'j1'], 'ReplicaSets are left to their Deployments');
    const c = (await get('/api/entity/container/c1')).body;
    assert.equal(c.relations.pod?.uid, 'p1');
    assert.equal(c.relations.node?.name, 'worker-1');
    const label = (await get(`/api/entity/label/${encodeURIComponent('app.kubernetes.io/name=web')}`)).body;
    assert.equal(label.kind, 'label');
    assert.deepEqual(label.relations.pods?.items.map((p) => p.uid), ['p1']);
  });

  test('a deleted pod still retained is shown, not live', async () => {
    const { status, body } = await get('/api/entity/pod/p3');
    assert.equal(status, 200);
    assert.equal(body.live, false);
    assert.ok(body.fields.some((f) => f.name === 'deleted'));
  });

  test('unknown objects get a 404, bad input a 400, each saying what to fix', async () => {
    const cases: Array<[string, number, string, RegExp, ConsoleApp?]> = [
      ['/api/entity/pod/nope', 404, 'CONSOLE_UNKNOWN_ENTITY', /holds no pod "nope"/],
      ['/api/entity/sts/d1', 404, 'CONSOLE_UNKNOWN_ENTITY', /no statefulset "d1"/],
      ['/api/entity/label/novalue', 404, 'CONSOLE_UNKNOWN_ENTITY', /no label/],
      ['/api/entity/dogs/p1', 400, 'CONSOLE_UNKNOWN_KIND', /unknown kind "dogs"/],
      ['/api/entity/workload/d1', 400, 'CONSOLE_UNKNOWN_KIND', /several kinds/],
      ['/api/entity/pod/p1?cluster=qa', 400, 'CONSOLE_UNKNOWN_CLUSTER', /unknown cluster "qa"; this console follows prod/],
      ['/api/entity/pod/p1?clustr=prod', 400, 'CONSOLE_BAD_REQUEST', /unknown parameter "clustr"/],
      ['/api/entity/pod/p1?cluster=a&cluster=b', 400, 'CONSOLE_BAD_REQUEST', /cluster must be given once/],
      [`/api/entity/pod/${'x'.repeat(550)}`, 400, 'CONSOLE_BAD_REQUEST', /at most 512 characters/],
      ['/api/entity/pod/p1', 400, 'CONSOLE_BAD_REQUEST', /cluster is required: this console follows prod, staging/, two],
    ];
    for (const [url, code, errorCode, message, app] of cases) {
      const { status, body } = await get(url, app);
      assert.equal(status, code, url);
      assert.equal(body.error?.code, errorCode, url);
      assert.match(body.error?.message ?? '', message, url);
    }
    assert.equal((await get('/api/entity/pod/p1?cluster=prod', two)).status, 200);
  });
});
