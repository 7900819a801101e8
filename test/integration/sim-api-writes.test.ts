import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../../src/core/index.ts';
import { deployment, namespace, pod } from '../fixtures/sim-objects.ts';
import { call, serveSimModelForSuite, type Item, type List, type Meta, type Status } from '../helpers/sim-http.ts';


describe('sim API server over HTTP: writes, faults, counters', () => {
  const api = serveSimModelForSuite();

  describe('writes', () => {
    const pods = '/api/v1/namespaces/default/pods';

    it('creates, updates with optimistic concurrency, patches three ways, and deletes', async () => {
      const created = await call<Item>(api.base, pods, { method: 'POST', json: pod('written') });
      assert.equal(created.status, 201);
      const rv = created.body.metadata.resourceVersion;
      const duplicate = await call<Status>(api.base, pods, { method: 'POST', json: pod('written') });
      assert.equal(duplicate.status, 409);
      assert.equal(duplicate.body.reason, 'AlreadyExists');

      const updated = await call<Item>(api.base, `${pods}/written`, { method: 'PUT', json: { ...created.body, metadata: { ...created.body.metadata, labels: { v: '2' } } } });
      assert.equal(updated.status, 200);
      assert.notEqual(updated.body.metadata.resourceVersion, rv);
      const stale = await call<Status>(api.base, `${pods}/written`, { method: 'PUT', json: { ...created.body, metadata: { ...created.body.metadata, labels: { v: '3' } } } });
      assert.equal(stale.status, 409);
      assert.equal(stale.body.reason, 'Conflict');

      const merge = await call<Item>(api.base, `${pods}/written`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, json: { metadata: { labels: { m: '1' } } } });
      assert.deepEqual(merge.body.metadata.labels, { v: '2', m: '1' });
      const json = await call<Item>(api.base, `${pods}/written`, { method: 'PATCH', headers: { 'content-type': 'application/json-patch+json' }, json: [{ op: 'remove', path: '/metadata/labels/v' }] });
      assert.deepEqual(json.body.metadata.labels, { m: '1' });
      const smp = await call<Item>(api.base, `${pods}/written`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/strategic-merge-patch+json' },
        json: { spec: { containers: [{ name: 'app', image: 'nginx:1.28' }] } },
      });
      assert.deepEqual(smp.body.spec?.['containers'], [{ name: 'app', image: 'nginx:1.28', ports: [{ containerPort: 80, protocol: 'TCP' }] }]);
      const badPatch = await call<Status>(api.base, `${pods}/written`, { method: 'PATCH', headers: { 'content-type': 'application/json-patch+json' }, json: [{ op: 'test', path: '/metadata/name', value: 'other' }] });
      assert.equal(badPatch.status, 422);

      const wrongUid = await call<Status>(api.base, `${pods}/written`, { method: 'DELETE', json: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'not-it' } } });
      assert.equal(wrongUid.status, 409);
      const deleted = await call<Item>(api.base, `${pods}/written`, { method: 'DELETE', json: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
      assert.equal(deleted.status, 200);
      assert.equal(deleted.body.metadata.name, 'written');
      assert.equal((await call(api.base, `${pods}/written`)).status, 404);
    });

    it('keeps the status on main-resource writes and changes only the status through /status', async () => {
      const d = '/apis/apps/v1/namespaces/default/deployments/web';
      const patched = await call<Item>(api.base, d, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, json: { status: { readyReplicas: 99 } } });
      assert.equal(patched.body.status?.['readyReplicas'], 2);
      const status = await call<Item>(api.base, `${d}/status`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, json: { status: { readyReplicas: 1 }, spec: { replicas: 7 } } });
      assert.equal(status.body.status?.['readyReplicas'], 1);
      assert.equal(status.body.spec?.['replicas'], 2);
    });

    it('scales through the scale subresource (GET, PUT, PATCH)', async () => {
      const scalePath = '/apis/apps/v1/namespaces/default/deployments/web/scale';
      const scale = await call<{ kind: string; apiVersion: string; spec: { replicas: number }; status: { selector: string }; metadata: Meta }>(api.base, scalePath);
      assert.equal(scale.body.kind, 'Scale');
      assert.equal(scale.body.apiVersion, 'autoscaling/v1');
      assert.equal(scale.body.spec.replicas, 2);
      assert.equal(scale.body.status.selector, 'app=web');
      const put = await call<{ spec: { replicas: number } }>(api.base, scalePath, { method: 'PUT', json: { ...scale.body, spec: { replicas: 4 } } });
      assert.equal(put.body.spec.replicas, 4);
      const stalePut = await call<Status>(api.base, scalePath, { method: 'PUT', json: { ...scale.body, spec: { replicas: 5 } } });
      assert.equal(stalePut.status, 409);
      const patched = await call<{ spec: { replicas: number } }>(api.base, scalePath, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, json: { spec: { replicas: 3 } } });
      assert.equal(patched.body.spec.replicas, 3);
      assert.equal((api.model.get('Deployment', 'default', 'web')?.object['spec'] as { replicas: number }).replicas, 3);
      const negative = await call<Status>(api.base, scalePath, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, json: { spec: { replicas: -1 } } });
      assert.equal(negative.status, 422);
    });

    it('deletes a non-pod object answering a Success Status', async () => {
      api.model.create(deployment('short-lived', 1));
      const res = await call<Status & { details: { name: string; kind: string; group: string } }>(api.base, '/apis/apps/v1/namespaces/default/deployments/short-lived', { method: 'DELETE' });
      assert.equal(res.status, 200);
      assert.equal(res.body.status, 'Success');
      assert.deepEqual({ name: res.body.details.name, kind: res.body.details.kind, group: res.body.details.group }, { name: 'short-lived', kind: 'deployments', group: 'apps' });
    });

    it('answers malformed bodies, unknown paths and methods with Status objects and keeps serving', async () => {
      const malformed = await call<Status>(api.base, pods, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind": "Pod", ' });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.kind, 'Status');
      assert.equal(malformed.body.reason, 'BadRequest');
      assert.match(malformed.body.message, /not valid JSON/);
      const wrongKind = await call<Status>(api.base, pods, { method: 'POST', json: deployment('nope', 1) });
      assert.equal(wrongKind.status, 400);
      const unknown = await call<Status>(api.base, '/api/v1/frobnicators');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.reason, 'NotFound');
      const method = await call<Status>(api.base, pods, { method: 'PUT', json: {} });
      assert.equal(method.status, 405);
      const dryRun = await call<Status>(api.base, `${pods}?dryRun=All`, { method: 'POST', json: pod('dry') });
      assert.equal(dryRun.status, 400);
      assert.equal((await call(api.base, '/api/v1/namespaces')).status, 200);
    });

    it('creates namespaces and refuses objects in a namespace that does not exist', async () => {
      const missing = await call<Status>(api.base, '/api/v1/namespaces/ghost/pods', { method: 'POST', json: pod('p', { namespace: 'ghost' }) });
      assert.equal(missing.status, 404);
      const ns = await call<Item>(api.base, '/api/v1/namespaces', { method: 'POST', json: namespace('ghost') });
      assert.equal(ns.status, 201);
      assert.equal((await call(api.base, '/api/v1/namespaces/ghost/pods', { method: 'POST', json: pod('p', { namespace: 'ghost' }) })).status, 201);
    });
  });

  describe('faults', () => {
    it('drops all watches on demand', async () => {
      const w = await api.watch(`/api/v1/pods?watch=true&resourceVersion=${api.model.resourceVersion}`);
      await waitFor(() => api.sim.openWatches === 1, { what: 'the watch to open' });
      const res = await call<{ dropped: number }>(api.base, '/_sim/faults/drop-watches', { method: 'POST', json: {} });
      assert.equal(res.body.dropped, 1);
      assert.equal(await w.ended, 'end');
    });

    it('fails the next matching request with the given status, then serves again', async () => {
      await call(api.base, '/_sim/faults/fail', { method: 'POST', json: { status: 500, verb: 'list', kind: 'Node' } });
      assert.equal((await call(api.base, '/api/v1/pods')).status, 200, 'other kinds are unaffected');
      const failed = await call<Status>(api.base, '/api/v1/nodes');
      assert.equal(failed.status, 500);
      assert.equal(failed.body.reason, 'InternalError');
      assert.equal((await call(api.base, '/api/v1/nodes')).status, 200);
      api.sim.faults.failNext({ status: 429, retryAfterSeconds: 2 });
      const throttled = await call<Status>(api.base, '/api/v1/nodes');
      assert.equal(throttled.status, 429);
      assert.equal(throttled.headers.get('retry-after'), '2');
      assert.equal(throttled.body.reason, 'TooManyRequests');
    });

    it('forces 410 on the next watch and on the next LIST continue', async () => {
      await call(api.base, '/_sim/faults/expire', { method: 'POST', json: { count: 1, on: 'watch' } });
      const w = await api.watch(`/api/v1/pods?watch=true&resourceVersion=${api.model.resourceVersion}`);
      await w.ended;
      assert.equal(w.events[0]?.type, 'ERROR');
      const page = await call<List>(api.base, '/api/v1/pods?limit=2');
      api.sim.faults.expireNext(1, 'continue');
      const expired = await call<Status>(api.base, `/api/v1/pods?limit=2&continue=${encodeURIComponent(page.body.metadata.continue as string)}`);
      assert.equal(expired.status, 410);
      const state = await call<{ expireWatches: number; expireContinues: number }>(api.base, '/_sim/faults');
      assert.deepEqual([state.body.expireWatches, state.body.expireContinues], [0, 0]);
    });

    it('silently drops the next watch event', async () => {
      const w = await api.watch(`/api/v1/namespaces/default/pods?watch=true&resourceVersion=${api.model.resourceVersion}`);
      await waitFor(() => api.sim.openWatches >= 1, { what: 'the watch to open' });
      api.sim.faults.dropWatchEvents(1, 'Pod');
      api.model.create(pod('dropped', { namespace: 'default' }));
      api.model.create(pod('kept', { namespace: 'default' }));
      await w.next((e) => e.object.metadata.name === 'kept', 'the event after the dropped one');
      assert.deepEqual(w.events.map((e) => e.object.metadata.name), ['kept']);
      w.close();
    });

    it('stalls requests and resets all faults', async () => {
      api.sim.faults.stall(50, 1);
      assert.equal((await call(api.base, '/api/v1/nodes')).status, 200);
      await call(api.base, '/_sim/faults/stall', { method: 'POST', json: { ms: 10 } });
      assert.equal((await call<{ stall: { ms: number } }>(api.base, '/_sim/faults')).body.stall.ms, 10);
      assert.equal((await call<{ stall: { ms: number } }>(api.base, '/_sim/faults', { method: 'DELETE' })).body.stall.ms, 0);
      const bad = await call<Status>(api.base, '/_sim/faults/fail', { method: 'POST', json: { status: 200 } });
      assert.equal(bad.status, 400);
    });
  });

  describe('load counters', () => {
    it('counts requests, LIST objects and bytes, watch events, and exposes them as Prometheus text and JSON', async () => {
      const before = api.sim.stats();
      const list = await fetch(`${api.base}/api/v1/nodes`);
      const bytes = (await list.arrayBuffer()).byteLength;
      const after = api.sim.stats();
      assert.equal(after.requests['list']?.['Node'], (before.requests['list']?.['Node'] ?? 0) + 1);
      assert.equal(after.listObjects - before.listObjects, 3);
      assert.equal(after.listBytes - before.listBytes, bytes);

      // A 410 of this test's own, not whatever earlier tests left in the counter.
      const page = await call<List>(api.base, '/api/v1/pods?limit=2');
      api.sim.faults.expireNext(1, 'continue');
      const goneBefore = api.sim.stats().gone410;
      assert.equal((await call(api.base, `/api/v1/pods?limit=2&continue=${encodeURIComponent(page.body.metadata.continue as string)}`)).status, 410);
      assert.equal(api.sim.stats().gone410 - goneBefore, 1);

      const w = await api.watch(`/api/v1/pods?watch=true&resourceVersion=${api.model.resourceVersion}`);
      await waitFor(() => api.sim.stats().openWatches === 1, { what: 'this watch to be the only one open' });
      const watchBefore = api.sim.stats();
      api.model.create(pod('counted', { namespace: 'default' }));
      const event = await w.next((e) => e.object.metadata.name === 'counted', 'event');
      const watchAfter = api.sim.stats();
      assert.equal(watchAfter.watchEvents - watchBefore.watchEvents, 1, 'one event to the one open watch (bookmarks are not counted)');
      assert.ok(watchAfter.watchBytes - watchBefore.watchBytes >= JSON.stringify(event).length, 'its bytes are counted (bookmarks may add more)');
      w.close();

      const metrics = await call<string>(api.base, '/metrics');
      assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(metrics.body, /kubemeta_sim_requests_total\{verb="list",kind="Node"\} \d+/);
      assert.match(metrics.body, /kubemeta_sim_list_bytes_total \d+/);
      assert.match(metrics.body, /kubemeta_sim_open_watches \d+/);
      assert.match(metrics.body, /kubemeta_sim_watches_closed_total\{reason="slow"\} \d+/);
      assert.match(metrics.body, /kubemeta_sim_process_cpu_seconds_total [\d.e-]+/);
      const stats = await call<{ requests: Record<string, Record<string, number>>; objects: Record<string, number> }>(api.base, '/_sim/stats');
      assert.equal(stats.body.requests['list']?.['Node'], api.sim.stats().requests['list']?.['Node']);
      assert.equal(stats.body.objects['Node'], 3);
    });
  });
});
