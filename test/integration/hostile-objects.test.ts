// Malformed and extreme Kubernetes objects through the simulator's API (issue 8, "Hostile and
// malformed input"): 10,000 containers, huge and unicode labels, absurd timestamps, fields of
// the wrong type. The service must skip what it cannot read (with a metric), keep the rest, stay
// ready, and keep serving the objects that come after.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/core/index.ts';
import { ClusterClient } from '../../src/sdk/index.ts';
import type { PodUpdate } from '../../src/schema/index.ts';
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
  /**
   * Creates one hostile pod alone and follows it with a normal one: once that arrives (one watch
   * stream, in order), the hostile pod was projected, and the skipped-object count changed by
   * what this pod alone did.
   */
  const outcomeOf = async (object: Obj): Promise<{ held: PodUpdate | undefined; skipped: number }> => {
    const name = (object['metadata'] as Obj)['name'] as string;
    const before = await metric('kubemeta_projector_bad_objects_total');
    create(object);
    await healthyAndFollowing(`after-${name}`);
    return { held: cluster.state.pods().find((p) => p.name === name), skipped: (await metric('kubemeta_projector_bad_objects_total')) - before };
  };
  const app = { containers: [{ name: 'app', image: 'x' }] };

  test('a pod with 10,000 containers is delivered whole and nothing stalls', async () => {
    const containers = Array.from({ length: 10_000 }, (_, i) => ({ name: `c${i}`, image: 'busybox' }));
    const statuses = containers.map((c, i) => ({ name: c.name, containerID: `containerd://${'a'.repeat(56)}${String(i).padStart(8, '0')}`, ready: true, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } }));
    const { held, skipped } = await outcomeOf(pod('many-containers', { containers }, { podIP: '10.1.1.1', containerStatuses: statuses }));
    assert.equal(skipped, 0);
    assert.equal(held?.containers.length, 10_000);
  });

  test('a pod with 1 MB of labels is delivered with all of them', async () => {
    const huge = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}.example.com/key`, 'v'.repeat(10_000)]));
    const { held, skipped } = await outcomeOf(pod('huge-labels', app, { podIP: '10.1.1.2' }, { labels: huge }));
    assert.equal(skipped, 0);
    assert.deepEqual(held?.labels, huge);
  });

  test('unicode, right-to-left marks and NUL in labels survive the wire intact', async () => {
    const labels = { app: 'ünïcødé-🚀', rtl: '\u202eevil', nul: 'a\u0000b' };
    const { held, skipped } = await outcomeOf(pod('unicode', app, { podIP: '10.1.1.3' }, { labels, annotations: { note: '𝔘𝔫𝔦𝔠𝔬𝔡𝔢'.repeat(1_000) } }));
    assert.equal(skipped, 0);
    assert.deepEqual(held?.labels, labels);
  });

  test('absurd and unparsable times are delivered, an unparsable one as unset', async () => {
    const { held, skipped } = await outcomeOf(pod('absurd-times', app, {
      podIP: '10.1.1.4',
      startTime: '9999-12-31T23:59:59Z',
      containerStatuses: [{ name: 'app', containerID: 'containerd://abc', restartCount: -5, state: { running: { startedAt: 'not-a-time' } } }],
    }, { creationTimestamp: '0001-01-01T00:00:00Z' }));
    assert.equal(skipped, 0);
    assert.equal(held?.podIp, '10.1.1.4');
    assert.equal(held.createTimeNs, 0n, 'a time before the epoch reads as unset');
    const container = cluster.state.container('abc');
    assert.equal(container?.podName, 'absurd-times');
    assert.equal(container.startTimeNs, 0n, "'not-a-time' reads as unset");
    assert.equal(container.restartCount, 0, 'a negative restart count reads as none');
  });

  test('a start time past 2262 (beyond int64 nanoseconds) reads as unset, not as a time before the epoch', () => {
    const held = cluster.state.pods().find((p) => p.name === 'absurd-times');
    assert.equal(held?.startTimeNs, 0n, `startTimeNs ${held?.startTimeNs}`);
  });

  test('fields of the wrong type are delivered as absent', async () => {
    const { held, skipped } = await outcomeOf(pod('wrong-types', { containers: 'oops' }, { podIP: 12345, containerStatuses: { not: 'an array' } }, { ownerReferences: [{ kind: 'ReplicaSet' }], labels: 'not-a-map' }));
    assert.equal(skipped, 0);
    assert.deepEqual(held?.containers, [], 'containers: "oops" is no containers');
    assert.deepEqual(held.labels, {}, 'labels: "not-a-map" is no labels');
    assert.equal(held.podIp, '', 'podIP: 12345 is no IP');
  });

  test('a service with fields of the wrong type is delivered as having none of them', async () => {
    create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'weird-svc', namespace: ns }, spec: { selector: 'app=x', ports: 'none', clusterIP: ['a'] } });
    // Services come on their own watch stream: wait for this one itself.
    await waitFor(() => cluster.state.serviceByName(ns, 'weird-svc') !== undefined, { what: 'weird-svc to reach the cluster client', timeoutMs: 30_000 });
    const held = cluster.state.serviceByName(ns, 'weird-svc');
    assert.deepEqual([held?.clusterIps, held?.ports, held?.podUids], [[], [], []]);
    await healthyAndFollowing('after-weird-svc');
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
