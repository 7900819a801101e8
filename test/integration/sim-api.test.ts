import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { ManualClock, waitFor } from '../../src/core/index.ts';
import { ClusterModel, startSimApiServer } from '../../src/sim/index.ts';
import { pod, populate } from '../fixtures/sim-objects.ts';
import { call, names, openWatch, serveSimModelForSuite, type Item, type List, type Meta, type Status } from '../helpers/sim-http.ts';


describe('sim API server over HTTP: LIST, WATCH, discovery', () => {
  const api = serveSimModelForSuite();
  /** The names of the model's pods that `keep` selects, sorted: what a LIST must answer exactly. */
  const podsWhere = (keep: (pod: Item) => boolean): string[] =>
    names(api.model.list('Pod').items.map((i) => i.object as unknown as Item).filter(keep)).sort();

  describe('LIST', () => {
    it('pages through a consistent snapshot: objects created or deleted between pages neither appear nor disappear', async () => {
      const first = await call<List>(api.base, '/api/v1/pods?limit=10');
      assert.equal(first.status, 200);
      assert.equal(first.body.kind, 'PodList');
      assert.equal(first.body.items.length, 10);
      assert.equal(first.body.metadata.remainingItemCount, 20);
      const rv = first.body.metadata.resourceVersion;
      api.model.create(pod('pod-0010a', { namespace: 'default' }));
      api.model.delete('Pod', 'team-a', 'pod-0029');
      const seen = names(first.body.items);
      let token = first.body.metadata.continue;
      while (token) {
        const page = await call<List>(api.base, `/api/v1/pods?limit=10&continue=${encodeURIComponent(token)}`);
        assert.equal(page.status, 200);
        assert.equal(page.body.metadata.resourceVersion, rv, 'every page carries the snapshot resourceVersion');
        seen.push(...names(page.body.items));
        token = page.body.metadata.continue;
      }
      assert.equal(seen.length, 30);
      assert.ok(seen.includes('pod-0029'), 'deleted after the first page, still in the snapshot');
      assert.ok(!seen.includes('pod-0010a'), 'created after the first page, not in the snapshot');
      const fresh = await call<List>(api.base, '/api/v1/pods');
      assert.ok(names(fresh.body.items).includes('pod-0010a'));
      assert.ok(!names(fresh.body.items).includes('pod-0029'));
      assert.equal(fresh.body.metadata.continue, undefined);
    });

    it('lists one namespace and serves a single object', async () => {
      const list = await call<List>(api.base, '/api/v1/namespaces/team-a/pods');
      assert.deepEqual(names(list.body.items).sort(), podsWhere((p) => p.metadata.namespace === 'team-a'));
      const one = await call<Item>(api.base, '/api/v1/namespaces/team-a/pods/pod-0001');
      assert.equal(one.status, 200);
      assert.equal(one.body.metadata.name, 'pod-0001');
      const missing = await call<Status>(api.base, '/api/v1/namespaces/team-a/pods/nope');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.reason, 'NotFound');
      assert.equal(missing.body.message, 'pods "nope" not found');
    });

    it('answers 410 Expired with a fresh continue token once the snapshot resourceVersion is compacted', async () => {
      const first = await call<List>(api.base, '/api/v1/namespaces/default/pods?limit=5');
      const token = first.body.metadata.continue as string;
      api.model.create(pod('after-compaction', { namespace: 'default' }));
      api.sim.faults.compactHistory();
      const expired = await call<Status>(api.base, `/api/v1/namespaces/default/pods?limit=5&continue=${encodeURIComponent(token)}`);
      assert.equal(expired.status, 410);
      assert.equal(expired.body.reason, 'Expired');
      assert.match(expired.body.message, /^The provided continue parameter is too old to display a consistent list result/);
      const resumed = await call<List>(api.base, `/api/v1/namespaces/default/pods?limit=100&continue=${encodeURIComponent(expired.body.metadata?.continue as string)}`);
      assert.equal(resumed.status, 200);
      const lastOfFirst = first.body.items[4]?.metadata.name as string;
      assert.ok(resumed.body.items.every((p) => p.metadata.name > lastOfFirst), 'the inconsistent continuation starts after the last key served');
      api.model.delete('Pod', 'default', 'after-compaction');
    });

    it('answers 410 when the continue snapshot was evicted from the bounded cache', async () => {
      const small = await startSimApiServer(api.model, { listSnapshots: 1 });
      try {
        const a = await call<List>(small.url, '/api/v1/pods?limit=5');
        const b = await call<List>(small.url, '/api/v1/nodes?limit=1');
        assert.equal((await call(small.url, `/api/v1/nodes?limit=1&continue=${encodeURIComponent(b.body.metadata.continue as string)}`)).status, 200);
        const evicted = await call<Status>(small.url, `/api/v1/pods?limit=5&continue=${encodeURIComponent(a.body.metadata.continue as string)}`);
        assert.equal(evicted.status, 410);
        assert.equal(evicted.body.reason, 'Expired');
        const garbage = await call<Status>(small.url, '/api/v1/pods?limit=5&continue=bm9wZQ==');
        assert.equal(garbage.status, 400);
      } finally {
        await small.close();
      }
    });

    it('answers 410 when the continue token outlived its TTL (time is injected)', async () => {
      const clock = new ManualClock(Date.now());
      const timed = await startSimApiServer(api.model, { clock, continueTtlMs: 60_000 });
      try {
        const first = await call<List>(timed.url, '/api/v1/pods?limit=5');
        const token = encodeURIComponent(first.body.metadata.continue as string);
        clock.advance(30_000);
        const second = await call<List>(timed.url, `/api/v1/pods?limit=5&continue=${token}`);
        assert.equal(second.status, 200);
        clock.advance(31_000);
        assert.equal((await call(timed.url, `/api/v1/pods?limit=5&continue=${token}`)).status, 410);
      } finally {
        await timed.close();
      }
    });

    it('filters by label and field selectors, also across pages', async () => {
      const web = await call<List>(api.base, '/api/v1/pods?labelSelector=tier%3Dweb');
      assert.deepEqual(names(web.body.items).sort(), podsWhere((p) => p.metadata.labels?.['tier'] === 'web'));
      const notIn = await call<List>(api.base, `/api/v1/pods?labelSelector=${encodeURIComponent('tier in (web,db),app notin (app-0,app-1),!missing')}`);
      assert.deepEqual(names(notIn.body.items).sort(), podsWhere((p) => p.metadata.labels?.['app'] === 'app-2'));
      const onNode = await call<List>(api.base, '/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1');
      assert.deepEqual(names(onNode.body.items).sort(), podsWhere((p) => p.spec?.['nodeName'] === 'node-1'));
      const byName = await call<List>(api.base, '/api/v1/pods?fieldSelector=metadata.name%3Dpod-0003,metadata.namespace%3Dteam-a');
      assert.deepEqual(names(byName.body.items), ['pod-0003']);
      const paged: string[] = [];
      let token: string | undefined = '';
      do {
        const page: { body: List } = await call<List>(api.base, `/api/v1/pods?limit=3&labelSelector=tier%3Dweb&continue=${encodeURIComponent(token)}`);
        assert.equal(page.body.metadata.remainingItemCount, undefined, 'unknown with selectors');
        assert.ok(page.body.items.length <= 3);
        paged.push(...names(page.body.items));
        token = page.body.metadata.continue;
      } while (token);
      assert.deepEqual(paged, names(web.body.items));
    });

    it('refuses bad selectors and a too large resourceVersion with Status errors', async () => {
      const badLabel = await call<Status>(api.base, '/api/v1/pods?labelSelector=a%20b%20c');
      assert.equal(badLabel.status, 400);
      assert.equal(badLabel.body.kind, 'Status');
      const badField = await call<Status>(api.base, '/api/v1/services?fieldSelector=spec.nodeName%3Dx');
      assert.equal(badField.status, 400);
      assert.equal(badField.body.message, 'field label not supported: spec.nodeName');
      const future = await call<Status>(api.base, `/api/v1/pods?resourceVersion=${api.model.resourceVersion + 1000}`);
      assert.equal(future.status, 504);
      assert.match(future.body.message, /Too large resource version/);
      const current = await call<List>(api.base, `/api/v1/pods?resourceVersion=${api.model.resourceVersion}&resourceVersionMatch=NotOlderThan`);
      assert.equal(current.status, 200);
    });

    it('answers Table output for kubectl', async () => {
      const table = await call<{ kind: string; columnDefinitions: Array<{ name: string; priority: number }>; rows: Array<{ cells: unknown[]; object: { kind: string } }> }>(
        api.base,
        '/api/v1/namespaces/default/pods?limit=2',
        { headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } },
      );
      assert.equal(table.headers.get('content-type'), 'application/json;as=Table;g=meta.k8s.io;v=v1');
      assert.equal(table.body.kind, 'Table');
      assert.deepEqual(
        table.body.columnDefinitions.map((c) => c.name),
        ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates'],
      );
      assert.equal(table.body.rows.length, 2);
      assert.deepEqual(table.body.rows[0]?.cells.slice(0, 4), ['pod-0000', '1/1', 'Running', '0']);
      assert.equal(table.body.rows[0]?.object.kind, 'PartialObjectMetadata');
    });
  });

  describe('WATCH', () => {
    it('starts with synthetic ADDED events for resourceVersion=0, then streams live events', async () => {
      const w = await api.watch('/api/v1/namespaces/team-a/pods?watch=true&resourceVersion=0');
      assert.equal(w.status, 200);
      const count = api.model.list('Pod', { namespace: 'team-a' }).items.length;
      await waitFor(() => w.events.length >= count, { what: 'initial ADDED events' });
      assert.ok(w.events.every((e) => e.type === 'ADDED'));
      api.model.create(pod('live-1', { namespace: 'team-a' }));
      const added = await w.next((e) => e.object.metadata.name === 'live-1', 'live ADDED');
      assert.equal(added.type, 'ADDED');
      api.model.delete('Pod', 'team-a', 'live-1');
      assert.equal((await w.next((e) => e.type === 'DELETED', 'DELETED')).object.metadata.name, 'live-1');
      w.close();
    });

    it('resumes from a resourceVersion with exactly the events after it', async () => {
      const rv = api.model.resourceVersion;
      api.model.create(pod('resume-1', { namespace: 'default' }));
      api.model.create(pod('resume-2', { namespace: 'default' }));
      api.model.delete('Pod', 'default', 'resume-1');
      const w = await api.watch(`/api/v1/pods?watch=true&resourceVersion=${rv}`);
      await waitFor(() => w.events.length >= 3, { what: 'three replayed events' });
      assert.deepEqual(
        w.events.map((e) => `${e.type} ${e.object.metadata.name}`),
        ['ADDED resume-1', 'ADDED resume-2', 'DELETED resume-1'],
      );
      api.model.delete('Pod', 'default', 'resume-2');
      await w.next((e) => e.type === 'DELETED' && e.object.metadata.name === 'resume-2', 'live DELETED');
      w.close();
    });

    it('sends BOOKMARKs carrying a resourceVersion no older than any event sent', async () => {
      const w = await api.watch(`/api/v1/pods?watch=true&resourceVersion=${api.model.resourceVersion}&allowWatchBookmarks=true`);
      api.model.create(pod('bookmarked', { namespace: 'default' }));
      const added = await w.next((e) => e.object.metadata.name === 'bookmarked', 'ADDED');
      const bookmark = await w.next((e) => e.type === 'BOOKMARK' && w.events.indexOf(e) > w.events.indexOf(added), 'a BOOKMARK after the event');
      assert.equal(bookmark.object.kind, 'Pod');
      assert.ok(Number(bookmark.object.metadata.resourceVersion) >= Number(added.object.metadata.resourceVersion));
      api.model.delete('Pod', 'default', 'bookmarked');
      w.close();
    });

    it('answers an expired resourceVersion with an ERROR event carrying a 410 Status, over HTTP 200', async () => {
      const old = api.model.resourceVersion;
      api.model.create(pod('expiring', { namespace: 'default' }));
      api.sim.faults.compactHistory();
      const w = await api.watch(`/api/v1/pods?watch=true&resourceVersion=${old}`);
      assert.equal(w.status, 200);
      assert.equal(await w.ended, 'end');
      assert.equal(w.events.length, 1);
      const status = w.events[0]?.object as unknown as Status;
      assert.equal(w.events[0]?.type, 'ERROR');
      assert.equal(status.code, 410);
      assert.equal(status.reason, 'Expired');
      assert.match(status.message, new RegExp(`^too old resource version: ${old} \\(\\d+\\)$`));
      api.model.delete('Pod', 'default', 'expiring');
    });

    it('serves watch-list (sendInitialEvents) with the initial-events-end bookmark, and legacy /watch/ paths', async () => {
      const w = await api.watch('/api/v1/nodes?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan');
      const end = await w.next((e) => e.type === 'BOOKMARK', 'the initial-events-end bookmark');
      assert.equal(end.object.metadata.annotations?.['k8s.io/initial-events-end'], 'true');
      assert.deepEqual(w.events.slice(0, 3).map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED node-0', 'ADDED node-1', 'ADDED node-2']);
      w.close();
      const legacy = await api.watch('/api/v1/watch/namespaces/team-a/pods/pod-0001');
      const only = await legacy.next((e) => e.type === 'ADDED', 'the one pod');
      assert.equal(only.object.metadata.name, 'pod-0001');
      legacy.close();
      const metadataOnly = await api.watch('/api/v1/nodes?watch=true', { accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1' });
      const meta = await metadataOnly.next((e) => e.type === 'ADDED', 'a metadata-only event');
      assert.equal(meta.object.kind, 'PartialObjectMetadata');
      assert.equal(meta.object['status'], undefined);
      metadataOnly.close();
    });

    it('ends the watch after timeoutSeconds', async () => {
      const w = await api.watch('/api/v1/nodes?watch=true&timeoutSeconds=1');
      assert.equal(await w.ended, 'end');
    });

    it('sends ADDED and DELETED when an object starts or stops matching the label selector', async () => {
      const w = await api.watch(`/api/v1/namespaces/default/pods?watch=true&resourceVersion=${api.model.resourceVersion}&labelSelector=selected%3Dyes`);
      api.model.create(pod('mover', { namespace: 'default', labels: { selected: 'no' } }));
      const patch = (value: string): Promise<unknown> =>
        call(api.base, '/api/v1/namespaces/default/pods/mover', { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, json: { metadata: { labels: { selected: value } } } });
      await patch('yes');
      await w.next((e) => e.type === 'ADDED', 'ADDED on starting to match');
      await patch('no');
      const deleted = await w.next((e) => e.type === 'DELETED', 'DELETED on stopping to match');
      assert.equal(deleted.object.metadata.name, 'mover');
      assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'DELETED']);
      api.model.delete('Pod', 'default', 'mover');
      w.close();
    });

    it('closes a watcher that does not read and counts it as slow', async () => {
      const slowSim = await startSimApiServer(api.model, { watchBufferBytes: 64 * 1024 });
      try {
        const url = new URL(`${slowSim.url}/api/v1/namespaces/default/pods?watch=true&resourceVersion=${api.model.resourceVersion}`);
        const closed = new Promise<void>((resolve) => {
          const req = request(url, (res) => {
            res.pause(); // never read: the server's buffer for this watcher grows
            res.on('close', () => resolve());
          });
          req.on('error', () => resolve());
          req.end();
        });
        await waitFor(() => slowSim.openWatches === 1, { what: 'the slow watch to open' });
        const big = 'x'.repeat(200_000);
        for (let i = 0; i < 400 && slowSim.stats().watchesClosed.slow === 0; i++) {
          const p = pod(`big-${i}`, { namespace: 'default' });
          p.metadata.annotations = { big };
          api.model.create(p);
          await new Promise((resolve) => setImmediate(resolve));
        }
        await waitFor(() => slowSim.stats().watchesClosed.slow === 1, { what: 'the slow watcher to be dropped' });
        await closed;
        assert.equal(slowSim.openWatches, 0);
      } finally {
        await slowSim.close();
        for (const p of api.model.list('Pod', { namespace: 'default' }).items) if (p.object.metadata.name.startsWith('big-')) api.model.delete('Pod', 'default', p.object.metadata.name);
      }
    });

    it('serves Table events to kubectl get --watch', async () => {
      const w = await api.watch(`/api/v1/pods?watch=true&resourceVersion=${api.model.resourceVersion}`, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
      api.model.create(pod('tabled', { namespace: 'default' }));
      const e = await w.next((ev) => ev.type === 'ADDED', 'Table event');
      assert.equal(e.object.kind, 'Table');
      const rows = e.object['rows'] as Array<{ cells: unknown[] }>;
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.cells[0], 'tabled');
      api.model.delete('Pod', 'default', 'tabled');
      w.close();
    });
  });

  it('serves discovery in both forms, /version and OpenAPI', async () => {
    const version = await call<{ gitVersion: string }>(api.base, '/version');
    assert.match(version.body.gitVersion, /^v1\.32\./);
    const apps = await call<{ resources: Array<{ name: string; kind: string; group?: string; verbs: string[]; shortNames?: string[] }> }>(api.base, '/apis/apps/v1');
    const scale = apps.body.resources.find((r) => r.name === 'deployments/scale');
    assert.deepEqual([scale?.group, scale?.kind], ['autoscaling', 'Scale']);
    assert.deepEqual(apps.body.resources.find((r) => r.name === 'deployments')?.shortNames, ['deploy']);
    const aggregated = await call<{ kind: string; items: Array<{ metadata: { name?: string } }> }>(api.base, '/apis', {
      headers: { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' },
    });
    assert.equal(aggregated.headers.get('content-type'), 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    assert.equal(aggregated.body.kind, 'APIGroupDiscoveryList');
    assert.ok(aggregated.body.items.some((i) => i.metadata.name === 'apps'));
    assert.equal((await call<{ kind: string }>(api.base, '/api')).body.kind, 'APIVersions');
    assert.equal((await call(api.base, '/openapi/v3')).status, 200);
  });
});

describe('sim API server lifecycle', () => {
  it('close() ends open watches and resolves', async () => {
    const model = new ClusterModel();
    populate(model);
    const sim = await startSimApiServer(model);
    const w = await openWatch(sim.url, '/api/v1/namespaces?watch=true');
    await waitFor(() => sim.openWatches === 1, { what: 'the watch to open' });
    await sim.close();
    assert.equal(await w.ended, 'end');
    assert.equal(sim.state, 'closed');
    await sim.close();
  });
});
