// The metadata service end to end against `kubemeta sim` and a real nats-server: initial sync,
// churn (rolling updates, scaling to zero, pod restarts and deletions, nodes removed and
// added), with every scope's stream checked against the simulator's truth.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/core/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import { actualScope, diffScopes, expectedScopes } from '../helpers/cluster-truth.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';
import { StreamCollector } from '../helpers/stream-collector.ts';
import { replay } from '../helpers/replay-client.ts';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { RequestErrorCode, clusterSubjects, parseScope } from '../../src/schema/index.ts';

function assertConverged(env: ServeEnv, collector: StreamCollector): Promise<unknown> {
  let last: string[] = [];
  return waitFor(
    () => {
      last = diffScopes(expectedScopes(env.engine.model), (scope) => actualScope(collector.scope(scope).objects));
      return last.length === 0;
    },
    { what: 'every scope to equal the simulator', timeoutMs: 30_000, intervalMs: 250 },
  ).then(
    () => assert.deepEqual(collector.undecodable, [], 'every message on an update subject decodes'),
    (err: Error) => {
      throw new Error(`${err.message}\n${last.join('\n')}`);
    },
  );
}

describe('kubemeta serve against the simulator', () => {
  let env: ServeEnv;
  let service: MetadataService;
  let collector: StreamCollector;

  before(async () => {
    env = await startServeEnv({ seed: 7, nodes: 6, podsPerNode: 8, namespaces: 2, statefulSets: 1, cronJobs: 1 });
    collector = await StreamCollector.start(env.nats.url, 'test');
    service = await MetadataService.start(env.serveConfig());
  });

  after(async () => {
    await service?.drain();
    await collector?.stop();
    await env?.stop();
  });

  test('initial sync: ready, and every node scope and the cluster scope equal the simulator', async () => {
    await service.whenReady(AbortSignal.timeout(30_000));
    await assertConverged(env, collector);
    assert.ok(collector.scopes.size >= 7, 'the cluster scope and one scope per node');
    assert.deepEqual(collector.allGaps(), []);
    assert.deepEqual(collector.reused, []);
    assert.equal(collector.streamIds.size, 1);
    // The initial sync of the new stream was committed as state: never published update by
    // update; every scope was taken by snapshot, and the floor lies above the sync's versions.
    assert.deepEqual(collector.bootstrapErrors, []);
    assert.ok(collector.snapshots.has('cluster') && collector.snapshots.size >= 7, `scopes bootstrapped by snapshot: ${[...collector.snapshots].join(', ')}`);
    const status = (await (await fetch(`${service.httpUrl}/status`)).json()) as { head: number; log: { floor: number }; publisher: { updates: number } };
    assert.ok(status.log.floor > 1, `floor ${status.log.floor}`);
    assert.ok(status.publisher.updates <= status.head - (status.log.floor - 1), `published ${status.publisher.updates} of ${status.head} updates, floor ${status.log.floor}`);
  });

  test('one watch per kind: the API server sees one WatchList stream per kind, whatever the scopes, and no LIST', async () => {
    const stats = env.api.stats();
    const lists = Object.values(stats.requests['list'] ?? {}).reduce((a, b) => a + b, 0);
    assert.equal(stats.openWatches, 12, 'Namespace, Node, Pod, Service, EndpointSlice, ServiceCIDR, and six owner kinds');
    assert.equal(lists, 0, 'the initial lists are WatchList streams');
    for (const r of service.reflectorStats()) assert.equal(r.listMode, 'watch-list', `${r.kind} listed by WatchList`);
    const status = (await (await fetch(`${service.httpUrl}/status`)).json()) as { reflectors: Array<{ listMode?: string }> };
    assert.ok(status.reflectors.every((r) => r.listMode === 'watch-list'), '/status says how each kind was listed');
  });

  test('churn: rolling updates, scaling, restarts, deletions, node moves all reach every scope', async () => {
    const report = env.engine.step(300);
    assert.ok(report.writes > 300, 'the churn wrote to the cluster');
    await assertConverged(env, collector);
    assert.deepEqual(collector.allGaps(), []);
    assert.deepEqual(collector.reused, []);
  });

  test('a service scaled to zero publishes its empty membership and leaves the node scopes', async () => {
    const model = env.engine.model;
    const templateLabels = (d: { object: Record<string, unknown> }) =>
      ((d.object['spec'] as { template?: { metadata?: { labels?: Record<string, string> } } }).template?.metadata?.labels ?? {});
    const pair = model.list('Service').items.flatMap((svc) => {
      const selector = (svc.object['spec'] as { selector?: Record<string, string> }).selector;
      if (!selector || svc.object.metadata.namespace === 'kube-system') return [];
      const deploy = model.list('Deployment', { namespace: svc.object.metadata.namespace }).items.find((d) =>
        Object.entries(selector).every(([k, v]) => templateLabels(d)[k] === v));
      return deploy ? [{ svc, deploy }] : [];
    })[0];
    assert.ok(pair, 'the scenario has an application service backed by a deployment');
    const { svc, deploy } = pair;
    env.engine.model.update({ ...deploy.object, spec: { ...(deploy.object['spec'] as object), replicas: 0 } });
    await env.engine.controllers.settle();
    await assertConverged(env, collector);
    const update = collector.scope('cluster').objects.get(`Service/${svc.object.metadata.uid}`);
    assert.ok(update?.object.case === 'service');
    assert.deepEqual(update.object.value.podUids, []);
    for (const [name, s] of collector.scopes) {
      if (name.startsWith('node/')) assert.ok(!s.objects.has(`Service/${svc.object.metadata.uid}`), `${name} no longer holds the service`);
    }
  });

  test('node heartbeats change nothing that is published', async () => {
    const before = service.head;
    const r = env.engine.step(50, { mix: { heartbeat: 1 } });
    assert.ok(r.writes > 0, 'heartbeats were written to the cluster');
    await waitFor(() => service.reflectorStats().find((s) => s.kind === 'Node')?.events ?? 0, { what: 'node events to arrive' });
    await env.engine.controllers.settle();
    await new Promise((r2) => setTimeout(r2, 300));
    assert.equal(service.head, before, 'no update for a heartbeat');
  });

  test('readiness, health and metrics endpoints answer', async () => {
    const ready = await fetch(`${service.httpUrl}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { ready: boolean; kinds: unknown[] };
    assert.equal(body.ready, true);
    assert.ok(body.kinds.length >= 11);
    const metrics = await (await fetch(`${service.httpUrl}/metrics`)).text();
    assert.match(metrics, /kubemeta_head_version \d+/);
    assert.match(metrics, /kubemeta_updates_committed_total\{kind="Pod"\} \d+/);
    assert.match(metrics, /kubemeta_api_watch_restarts_total/);
    assert.equal((await fetch(`${service.httpUrl}/healthz`)).status, 200);
  });
});

describe('kubemeta serve against an API server without WatchList', () => {
  let env: ServeEnv;
  let service: MetadataService;
  let collector: StreamCollector;

  before(async () => {
    env = await startServeEnv({ seed: 11, nodes: 3, podsPerNode: 6, namespaces: 2 }, { watchList: false });
    collector = await StreamCollector.start(env.nats.url, 'test');
    // 38 tokens cover the 12 refused WatchLists, the 12 first LIST pages and 12 watches; had
    // the continue pages of the paginated LISTs (more than ten) taken tokens too, at 0.1 QPS
    // the sync would take minutes.
    service = await MetadataService.start(env.serveConfig({ listPageSize: '5', apiQps: '0.1', apiBurst: '38' }));
  });

  after(async () => {
    await service?.drain();
    await collector?.stop();
    await env?.stop();
  });

  test('falls back to paginated LISTs, without rate-limiting the continue pages, and converges', async () => {
    await service.whenReady(AbortSignal.timeout(30_000));
    await assertConverged(env, collector);
    const pods = service.reflectorStats().find((r) => r.kind === 'Pod');
    assert.equal(pods?.listMode, 'list');
    assert.ok((pods?.pages ?? 0) >= 4, `18 pods in pages of 5: ${pods?.pages} pages`);
    assert.ok(service.reflectorStats().every((r) => r.listMode === 'list'));
    const stats = env.api.stats();
    assert.equal(stats.openWatches, 12);
  });
});

describe('a new stream whose initial sync is interrupted', () => {
  let env: ServeEnv;
  let collector: StreamCollector;
  let nc: NatsConnection;

  before(async () => {
    env = await startServeEnv({ seed: 13, nodes: 3, podsPerNode: 6, namespaces: 2 });
    collector = await StreamCollector.start(env.nats.url, 'test');
    nc = await connect({ servers: env.nats.url });
  });

  after(async () => {
    await nc?.close();
    await collector?.stop();
    await env?.stop();
  });

  /** The error code of a replay answer for the cluster scope (0: answered), once the replay server is up. */
  const replayAnswer = (): Promise<number> =>
    waitFor(
      async () => {
        const r = await replay(nc, clusterSubjects('test').replay, { scope: parseScope('cluster'), after: 0, requestId: `interrupted-${Math.random()}` }, { silenceMs: 5_000 });
        return r.error ? r.error.code : -1;
      },
      { what: 'a replay answer', timeoutMs: 20_000 },
    ).then((code) => (code === -1 ? 0 : code));

  test('publishes nothing and answers replay UNAVAILABLE until the sync is complete, also across a restart; then consumers take snapshots', async () => {
    // Pods cannot be listed: every other kind syncs, committed as state.
    env.api.faults.failNext({ status: 500, verb: 'watch', kind: 'Pod', count: 1_000_000 });
    const first = await MetadataService.start(env.serveConfig());
    try {
      await waitFor(() => first.reflectorStats().filter((r) => r.synced).length === 11, { what: 'every kind but Pod to sync', timeoutMs: 20_000 });
      assert.equal(first.readiness()['committing'], 'state');
      // Synced means listed; the committer commits what was listed a moment later.
      await waitFor(() => first.head > 0, { what: 'the synced kinds to be committed', timeoutMs: 20_000 });
      assert.equal(await replayAnswer(), RequestErrorCode.UNAVAILABLE, 'no snapshot of half a sync');
    } finally {
      // Also after a failure: a service left running kept the test process from ending.
      await first.drain();
    }
    // A restart in the middle goes on committing as state.
    const second = await MetadataService.start(env.serveConfig());
    try {
      await waitFor(() => second.readiness()['state'] === 'syncing', { what: 'the restarted service to sync', timeoutMs: 20_000 });
      assert.equal(second.readiness()['committing'], 'state');
      assert.equal(await replayAnswer(), RequestErrorCode.UNAVAILABLE);
      assert.equal([...collector.scopes.values()].reduce((n, s) => n + s.updates, 0), 0, 'no update was published');
      env.api.faults.reset();
      await second.whenReady(AbortSignal.timeout(60_000));
      assert.equal(second.readiness()['committing'], 'history');
      await assertConverged(env, collector);
      assert.deepEqual(collector.allGaps(), []);
      assert.deepEqual(collector.bootstrapErrors, []);
      assert.ok(collector.snapshots.has('cluster'));
      assert.equal(await replayAnswer(), 0, 'answered once the sync is complete');
    } finally {
      await second.drain();
    }
  });
});
