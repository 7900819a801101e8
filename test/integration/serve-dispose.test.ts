// MetadataService's lifecycle ends: `await using` drains it like drain() (Symbol.asyncDispose),
// and drain(signal) takes the shutdown's deadline from the caller.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MetadataService } from '../../src/service/index.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';

let env: ServeEnv;

before(async () => {
  env = await startServeEnv({ seed: 17, nodes: 2, podsPerNode: 3, namespaces: 1 });
});

after(async () => {
  await env?.stop();
});

test('await using drains the service when its scope ends: stopped, and a new start on the same store resumes its head', async () => {
  let service: MetadataService | undefined;
  let head = 0;
  {
    await using s = await MetadataService.start(env.serveConfig());
    service = s;
    await s.whenReady(AbortSignal.timeout(30_000));
    head = s.head;
    assert.ok(head > 0, 'the sync committed something');
  }
  assert.equal(service.state, 'stopped');
  // The store was closed by the drain: it opens again, at the same head.
  const again = await MetadataService.start(env.serveConfig());
  try {
    await again.whenReady(AbortSignal.timeout(30_000));
    assert.ok(again.head >= head, `head ${again.head} after a restart on a store at ${head}`);
  } finally {
    await again.drain(AbortSignal.timeout(30_000));
  }
  assert.equal(again.state, 'stopped');
});
