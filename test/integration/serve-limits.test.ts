// Replay limits from the service's configuration (issue 8, "Limits"): the largest tail a request
// may ask for and the per-requester rate are what `kubemeta serve` was given, and a requester
// beyond them gets a clear error while others are still served.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { RequestErrorCode, clusterSubjects, parseScope } from '../../src/schema/index.ts';
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
