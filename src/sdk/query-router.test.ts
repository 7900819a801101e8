import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../core/index.ts';
import { timeNsFromMs, updateIdentity, type ResourceUpdate } from '../schema/index.ts';
import { parseLabelSelector } from './label-selector.ts';
import { LocalState } from './local-state.ts';
import { routeQuery } from './query-router.ts';
import { node, pod, service, workload } from '../testing/index.ts';

/** A small cluster: shop/checkout (Deployment) on n1+n2, shop/cart on n2, blog/web on n3. */
function cluster() {
  const clock = new ManualClock(1_800_000_000_000);
  const state = new LocalState({ clock, retentionMs: 3_600_000 });
  let v = 0;
  const apply = (u: ResourceUpdate): void => state.apply({ version: ++v, update: u, identity: updateIdentity(u) });
  for (const n of ['n1', 'n2', 'n3', 'n4']) apply(node({ uid: n, name: n }));
  apply(workload({ kind: 'Deployment', uid: 'd-co', name: 'checkout', namespace: 'shop' }));
  apply(workload({ kind: 'ReplicaSet', uid: 'rs-co', name: 'checkout-1', namespace: 'shop', owner: { kind: 'Deployment', name: 'checkout', uid: 'd-co' } }));
  const rs = { kind: 'ReplicaSet', name: 'checkout-1', uid: 'rs-co' };
  apply(pod({ uid: 'co1', name: 'checkout-1-a', namespace: 'shop', node: 'n1', owner: rs, labels: { app: 'checkout', tier: 'api' } }));
  apply(pod({ uid: 'co2', name: 'checkout-1-b', namespace: 'shop', node: 'n2', owner: rs, labels: { app: 'checkout', tier: 'api', canary: 'true' } }));
  apply(pod({ uid: 'cart', name: 'cart-0', namespace: 'shop', node: 'n2', labels: { app: 'cart', tier: 'db' } }));
  apply(pod({ uid: 'web', name: 'web-0', namespace: 'blog', node: 'n3', labels: { app: 'web' } }));
  apply(pod({ uid: 'pending', name: 'web-1', namespace: 'blog', labels: { app: 'web' } }));
  apply(service({ uid: 's-co', name: 'checkout', namespace: 'shop', podUids: ['co1', 'co2'], nodes: ['n1', 'n2'] }));
  return { clock, state, apply };
}

const route = (state: LocalState, filter: Parameters<typeof routeQuery>[1]): string[] => [...routeQuery(state.indexes, filter)].sort();

test('routes a query to the nodes that run the matching pods', () => {
  const { state } = cluster();
  assert.deepEqual(route(state, { namespace: 'shop' }), ['n1', 'n2']);
  assert.deepEqual(route(state, { service: 'checkout', namespace: 'shop' }), ['n1', 'n2']);
  assert.deepEqual(route(state, { deployment: 'checkout' }), ['n1', 'n2']);
  assert.deepEqual(route(state, { pod: 'cart-0', namespace: 'shop' }), ['n2']);
  assert.deepEqual(route(state, { pod: 'web' }), ['n3'], 'a pod uid works too');
  assert.deepEqual(route(state, { labelSelector: 'app=checkout,!canary' }), ['n1']);
  assert.deepEqual(route(state, { labelSelector: 'tier in (api,db)', node: 'n2' }), ['n2']);
  assert.deepEqual(route(state, { namespace: 'blog' }), ['n3'], 'an unscheduled pod routes nowhere');
  assert.deepEqual(route(state, { namespace: 'shop', labelSelector: 'app=web' }), [], 'criteria intersect');
  assert.deepEqual(route(state, { node: 'n4' }), ['n4'], 'only a node: that node');
  assert.deepEqual(route(state, {}), ['n1', 'n2', 'n3', 'n4'], 'no filter: every node');
});

test('includes the nodes of pods that stopped within retention unless told otherwise', () => {
  const { state, apply, clock } = cluster();
  apply(pod({ uid: 'web', name: 'web-0', namespace: 'blog', node: 'n3', labels: { app: 'web' }, stopNs: timeNsFromMs(clock.now()) }));
  assert.deepEqual(route(state, { namespace: 'blog' }), ['n3']);
  assert.deepEqual(route(state, { namespace: 'blog', includeStopped: false }), []);
});

test('refuses unknown fields, empty values and bad selectors', () => {
  const { state } = cluster();
  assert.throws(() => routeQuery(state.indexes, { namspace: 'x' } as never), { code: 'SDK_INVALID_ARGUMENT', message: /filter\.namspace/ });
  assert.throws(() => routeQuery(state.indexes, { pod: '' }), { code: 'SDK_INVALID_ARGUMENT' });
  assert.throws(() => routeQuery(state.indexes, { labelSelector: 'app in web' }), { code: 'SDK_INVALID_ARGUMENT' });
});

test('refuses numeric comparisons and malformed requirements with SDK_INVALID_ARGUMENT', () => {
  assert.deepEqual(parseLabelSelector('app=web,!canary').requirements.map((r) => [r.key, r.operator, r.values]), [['app', 'in', ['web']], ['canary', 'doesNotExist', []]]);
  for (const bad of ['version>2', 'app in ()', 'a,,b']) {
    assert.throws(() => parseLabelSelector(bad), { code: 'SDK_INVALID_ARGUMENT', name: 'SdkInvalidArgumentError', message: /^invalid labelSelector: "/ });
  }
});
