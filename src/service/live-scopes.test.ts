import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../core/index.ts';
import { LiveScopes } from './live-scopes.ts';

test('heartbeats cover the cluster and the node scopes in use, and gone ones only for the grace period', () => {
  const clock = new ManualClock(0);
  let live = ['node/a', 'node/b'];
  const heads = new Map([['cluster', 9], ['node/a', 5], ['node/b', 7], ['node/old', 3]]);
  const scopes = new LiveScopes({ heads: { scopeHead: (s) => heads.get(s) ?? 0 }, liveNodeScopes: () => live, clock, graceMs: 1_000 });
  assert.deepEqual(scopes.scopes().sort(), ['cluster', 'node/a', 'node/b'], 'a scope the log knows but nothing uses gets no heartbeat');
  assert.equal(scopes.scopeHead('node/b'), 7);
  live = ['node/a', 'node/c'];
  clock.advance(600);
  assert.deepEqual(scopes.scopes().sort(), ['cluster', 'node/a', 'node/b', 'node/c'], 'node/b is gone, last seen in use 600 ms ago: within the grace period');
  clock.advance(400);
  assert.deepEqual(scopes.scopes().sort(), ['cluster', 'node/a', 'node/b', 'node/c']);
  clock.advance(1);
  assert.deepEqual(scopes.scopes().sort(), ['cluster', 'node/a', 'node/c'], 'past the grace period');
  live = ['node/a', 'node/b', 'node/c'];
  assert.deepEqual(scopes.scopes().sort(), ['cluster', 'node/a', 'node/b', 'node/c'], 'a node name that returns is live again');
});
