// Replay limits from the service's configuration (issue 8, "Limits"): the largest tail a request
// may ask for and the per-requester rate are what `kubemeta serve` was given, and a requester
// beyond them gets a clear error while others are still served.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { RequestErrorCode, clusterSubjects, parseScope } from '../../src/schema/index.ts';
import { waitFor } from '../../src/core/index.ts';
import { ClusterClient } from '../../src/sdk/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import { replay } from '../helpers/replay-client.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';

describe('replay limits from the serve configuration', () => {
  let env: ServeEnv;
  let service: MetadataService;
  let nc: NatsConnection;
  const subject = clusterSubjects('test').replay;

  before(async () => {
    env = await startServeEnv({ seed: 3, nodes: 3, podsPerNode: 4, namespaces: 1 });
    service = await MetadataService.start(env.serveConfig({ replayMaxLimit: '2000', replayRequesterRate: '0.05', replayRequesterBurst: '2' }));
    await service.whenReady(AbortSignal.timeout(30_000));
    nc = await connect({ servers: env.nats.url });
  });

  after(async () => {
    await nc?.close();
    await service?.drain();
    await env?.stop();
  });

  test('a tail larger than --replay-max-limit is refused with INVALID_LIMIT', async () => {
    const tooMuch = await replay(nc, subject, { scope: parseScope('cluster'), after: 1, limit: 2_001, requestId: 'big' }, { requester: 'agent-a' });
    assert.equal(tooMuch.error?.code, RequestErrorCode.INVALID_LIMIT);
    assert.match(tooMuch.error?.message ?? '', /2000/);
  });

  test('a requester beyond --replay-requester-rate/--replay-requester-burst gets BUSY with a retry time; another is served', async () => {
    // A refused request (the test above) takes no token: agent-a has its burst of 2 left.
    for (const id of ['a-1', 'a-2']) {
      const ok = await replay(nc, subject, { scope: parseScope('cluster'), after: 0, requestId: id }, { requester: 'agent-a' });
      assert.equal(ok.error, undefined, `${id} is within the burst`);
    }
    const limited = await replay(nc, subject, { scope: parseScope('cluster'), after: 0, requestId: 'a-3' }, { requester: 'agent-a' });
    assert.equal(limited.error?.code, RequestErrorCode.BUSY);
    assert.ok((limited.error?.retryAfterMs ?? 0) > 1_000, `retry after ${limited.error?.retryAfterMs} ms at 0.05 requests/s`);
    const other = await replay(nc, subject, { scope: parseScope('cluster'), after: 0, requestId: 'b-1' }, { requester: 'agent-b' });
    assert.equal(other.error, undefined, 'another requester is not held back');
    assert.ok(other.end && other.end.head > 0);
  });

  test('limits out of range are configuration errors that name the option', async () => {
    assert.throws(() => env.serveConfig({ replayMaxLimit: '10' }), /replayMaxLimit|replay-max-limit/);
    assert.throws(() => env.serveConfig({ replayRequesterRate: '0' }), /replayRequesterRate|replay-requester-rate/);
  });
});

// Node subjects (issue 8, "max subjects"): a node's scope is named by any pod's spec.nodeName,
// which whoever may create pods sets freely (the API server accepts pods bound to nodes that do
// not exist). Past --max-node-subjects, pods stay on the cluster subject: no new subjects.
describe('node subjects are bounded by --max-node-subjects', () => {
  let env: ServeEnv;
  let service: MetadataService;
  let cluster: ClusterClient;
  let nc: NatsConnection;
  const nodeSubjects = new Set<string>();

  before(async () => {
    env = await startServeEnv({ seed: 5, nodes: 3, podsPerNode: 4, namespaces: 1 });
    service = await MetadataService.start(env.serveConfig({ maxNodeSubjects: '3' }));
    await service.whenReady(AbortSignal.timeout(30_000));
    cluster = await ClusterClient.connect({ servers: env.nats.url, cluster: 'test' });
    nc = await connect({ servers: env.nats.url });
    nc.subscribe('kubemeta.test.node.>', {
      callback: (_err, msg) => {
        nodeSubjects.add(msg.subject);
      },
    });
  });

  after(async () => {
    await nc?.close();
    await cluster?.close();
    await service?.drain();
    await env?.stop();
  });

  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${service.httpUrl}/metrics`)).text();
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    assert.ok(m, `${name} in /metrics`);
    return Number(m[1]);
  };

  test('pods bound to 50 made-up nodes reach the cluster subject, and no node subject is added', async () => {
    const ns = env.engine.model.list('Pod').items[0]?.object.metadata.namespace as string;
    assert.equal(await metric('kubemeta_node_subjects'), 3, 'the three real nodes hold the three subjects');
    for (let i = 0; i < 50; i++) {
      env.engine.model.create({
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: `squatter-${i}`, namespace: ns },
        spec: { nodeName: `ghost-${i}`, containers: [{ name: 'app', image: 'x' }] },
        status: { phase: 'Pending' },
      } as never);
    }
    await waitFor(() => cluster.state.pods().filter((p) => p.name.startsWith('squatter-')).length === 50, { what: 'the 50 pods on the cluster subject', timeoutMs: 30_000 });
    const { head } = (await (await fetch(`${service.httpUrl}/status`)).json()) as { head: number };
    await nc.flush();
    assert.equal(await metric('kubemeta_node_subjects'), 3);
    assert.ok((await metric('kubemeta_node_subjects_refused_total')) >= 50, 'each refused pod is counted');
    assert.deepEqual([...nodeSubjects].filter((s) => s.includes('ghost')), [], 'nothing was published on a made-up node');
    assert.ok(head > 0 && service.state === 'ready', 'the service keeps going');
  });

  test('--max-node-subjects out of range is a configuration error that names the option', () => {
    assert.throws(() => env.serveConfig({ maxNodeSubjects: '0' }), /maxNodeSubjects|max-node-subjects/);
  });
});
