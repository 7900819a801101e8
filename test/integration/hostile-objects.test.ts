// Malformed and extreme Kubernetes objects through the simulator's API (issue 8, "Hostile and
// malformed input"): 10,000 containers, huge and unicode labels, absurd timestamps, fields of
// the wrong type. The service must skip what it cannot read (with a metric), keep the rest, stay
// ready, and keep serving the objects that come after.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/core/index.ts';
import { ClusterClient } from '../../src/sdk/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';

type Obj = Record<string, unknown>;

describe('hostile Kubernetes objects through the simulator', () => {
  let env: ServeEnv;
  let service: MetadataService;
  let cluster: ClusterClient;
  let node: string;
  let ns: string;

  before(async () => {
    env = await startServeEnv({ seed: 4, nodes: 2, podsPerNode: 3, namespaces: 1 });
    service = await MetadataService.start(env.serveConfig());
    await service.whenReady(AbortSignal.timeout(30_000));
    cluster = await ClusterClient.connect({ servers: env.nats.url, cluster: 'test' });
    node = env.engine.model.list('Node').items[0]?.object.metadata.name as string;
    ns = env.engine.model.list('Pod').items[0]?.object.metadata.namespace as string;
  });

  after(async () => {
    await cluster?.close();
    await service?.drain();
    await env?.stop();
  });

  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${service.httpUrl}/metrics`)).text();
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  const pod = (name: string, spec: Obj, status: Obj, metadata: Obj = {}): Obj => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, ...metadata },
    spec: { nodeName: node, ...spec },
    status: { phase: 'Running', ...status },
  });
  const create = (o: Obj): void => void env.engine.model.create(o as never);
  const healthyAndFollowing = async (probe: string): Promise<void> => {
    // A normal pod created after the hostile ones must still arrive: nothing is stuck.
    create(pod(probe, { containers: [{ name: 'app', image: 'x' }] }, { podIP: '10.9.9.9', containerStatuses: [{ name: 'app', containerID: `containerd://${probe}`, ready: true, restartCount: 0, state: { running: { startedAt: new Date().toISOString() } } }] }));
    await waitFor(() => cluster.state.pods().some((p) => p.name === probe), { what: `${probe} to reach the cluster client`, timeoutMs: 30_000 });
    assert.equal((await fetch(`${service.httpUrl}/readyz`)).status, 200, 'still ready');
    assert.equal(service.state, 'ready');
  };

  test('a pod with 10,000 containers is published (or skipped with a metric) and nothing stalls', async (t) => {
    const containers = Array.from({ length: 10_000 }, (_, i) => ({ name: `c${i}`, image: 'busybox' }));
    const statuses = containers.map((c, i) => ({ name: c.name, containerID: `containerd://${'a'.repeat(56)}${String(i).padStart(8, '0')}`, ready: true, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } }));
    create(pod('many-containers', { containers }, { podIP: '10.1.1.1', containerStatuses: statuses }));
    await healthyAndFollowing('after-many');
    const held = cluster.state.pods().find((p) => p.name === 'many-containers');
    const skipped = await metric('kubemeta_projector_bad_objects_total');
    assert.ok(held !== undefined || skipped > 0, 'either delivered or counted as skipped');
    if (held) assert.equal(held.containers.length, 10_000);
    t.diagnostic(`10,000-container pod: ${held ? 'delivered' : 'skipped'}; bad objects counted: ${skipped}`);
  });

  test('huge and unicode labels, absurd timestamps, and fields of the wrong type', async (t) => {
    const badBefore = await metric('kubemeta_projector_bad_objects_total');
    const huge = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}.example.com/key`, 'v'.repeat(10_000)]));
    create(pod('huge-labels', { containers: [{ name: 'app', image: 'x' }] }, { podIP: '10.1.1.2' }, { labels: huge }));
    create(pod('unicode', { containers: [{ name: 'app', image: 'x' }] }, { podIP: '10.1.1.3' }, { labels: { app: 'ünïcødé-🚀', rtl: '\u202eevil', nul: 'a\u0000b' }, annotations: { note: '𝔘𝔫𝔦𝔠𝔬𝔡𝔢'.repeat(1_000) } }));
    create(pod('absurd-times', { containers: [{ name: 'app', image: 'x' }] }, {
      podIP: '10.1.1.4',
      startTime: '9999-12-31T23:59:59Z',
      containerStatuses: [{ name: 'app', containerID: 'containerd://abc', restartCount: -5, state: { running: { startedAt: 'not-a-time' } } }],
    }, { creationTimestamp: '0001-01-01T00:00:00Z' }));
    create(pod('wrong-types', { containers: 'oops' }, { podIP: 12345, containerStatuses: { not: 'an array' } }, { ownerReferences: [{ kind: 'ReplicaSet' }], labels: 'not-a-map' }));
    create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'weird-svc', namespace: ns }, spec: { selector: 'app=x', ports: 'none', clusterIP: ['a'] } });
    await healthyAndFollowing('after-hostile');
    const names = new Set(cluster.state.pods().map((p) => p.name));
    for (const ok of ['huge-labels', 'unicode', 'absurd-times']) {
      assert.ok(names.has(ok) || (await metric('kubemeta_projector_bad_objects_total')) > badBefore, `${ok} is delivered or counted as skipped`);
    }
    t.diagnostic(`delivered: ${['huge-labels', 'unicode', 'absurd-times', 'wrong-types'].filter((n) => names.has(n)).join(', ')}; bad objects counted: ${(await metric('kubemeta_projector_bad_objects_total')) - badBefore}`);
    const unicode = cluster.state.pods().find((p) => p.name === 'unicode');
    if (unicode) assert.equal(unicode.labels['app'], 'ünïcødé-🚀', 'unicode survives the wire intact');
    const wrong = cluster.state.pods().find((p) => p.name === 'wrong-types');
    if (wrong) {
      // Read defensively: the fields of the wrong type count as absent.
      assert.equal(wrong.containers.length, 0, 'containers: "oops" is no containers');
      assert.deepEqual(wrong.labels, {}, 'labels: "not-a-map" is no labels');
    } else {
      assert.ok((await metric('kubemeta_projector_bad_objects_total')) > badBefore, 'or it is skipped and counted');
    }
  });

  test('the store and the stream are intact afterwards: a new client bootstraps to the same state', async () => {
    const fresh = await ClusterClient.connect({ servers: env.nats.url, cluster: 'test' });
    try {
      await waitFor(() => fresh.inSync && fresh.head === cluster.head, { what: 'a fresh client in sync', timeoutMs: 30_000 });
      const a = cluster.state.pods().map((p) => `${p.uid}:${p.name}:${p.containers.length}`).sort();
      const b = fresh.state.pods().map((p) => `${p.uid}:${p.name}:${p.containers.length}`).sort();
      assert.deepEqual(b, a);
    } finally {
      await fresh.close();
    }
  });
});
