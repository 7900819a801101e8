// ClusterFeed against a real SDK LocalState: snapshots, updates, deletions, scope exits and an
// overflow marker (the change reader fell behind) that reloads the state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../core/index.ts';
import { create, createResourceUpdate, kinds, newStreamId, PodUpdateSchema, updateIdentity, type ResourceUpdate } from '../../schema/index.ts';
import { LocalState, type AppliedUpdate } from '../../sdk/index.ts';
import { AutocompleteIndex } from '../search/autocomplete-index.ts';
import { ClusterFeed } from './cluster-feed.ts';

const pod = (uid: string, name: string, stopped = false): ResourceUpdate =>
  createResourceUpdate({ object: { case: 'pod', value: create(PodUpdateSchema, { uid, name, namespace: 'shop', labels: { app: name.split('-')[0] as string }, stopTimeNs: stopped ? 1n : 0n }) } });
const container = (id: string, name: string, podName: string): ResourceUpdate =>
  createResourceUpdate({ object: { case: 'container', value: { containerId: id, name, podName, podUid: 'x', namespace: 'shop' } } });
const rs = (uid: string, name: string): ResourceUpdate =>
  createResourceUpdate({ object: { case: 'workload', value: { kind: kinds.ReplicaSet.wire, uid, name, namespace: 'shop' } } });
const exit = (uid: string): ResourceUpdate => createResourceUpdate({ object: { case: 'scopeExit', value: { kind: kinds.Pod.wire, uid } } });
const applied = (update: ResourceUpdate, version: number): AppliedUpdate => ({ version, update, identity: updateIdentity(update) });

test('a feed wired into LocalState follows snapshots, updates, deletions and exits synchronously', () => {
  const index = new AutocompleteIndex({ clock: new ManualClock(1_000) });
  const feed = new ClusterFeed(index, 'prod');
  const state = new LocalState({ clock: new ManualClock(1_000), retentionMs: 60_000, changes: feed });
  feed.load(state);
  state.applySnapshot([applied(pod('p1', 'web-1'), 1), applied(pod('p2', 'web-2'), 2), applied(rs('r1', 'web-7d9f'), 3), applied(container('c1', 'nginx', 'web-1'), 4)], 4, newStreamId());
  const names = (q: string): string[] => index.search({ q, limit: 50 }).suggestions.map((s) => `${s.kind}:${s.name}${s.live ? '' : `(${s.gone})`}`);
  assert.deepEqual(names('web'), ['replicaset:web-7d9f', 'pod:web-1', 'pod:web-2', 'label:app=web']);
  assert.deepEqual(names('nginx'), ['container:nginx']);
  state.apply(applied(pod('p1', 'web-1', true), 5));
  state.apply(applied(exit('p2'), 6));
  assert.deepEqual(names('pod:web'), ['pod:web-1(deleted)', 'pod:web-2(removed)'], 'seen at once: the sink is called inside apply');
  assert.equal(index.search({ q: 'label:app=web' }).suggestions[0]?.live, false, 'no live pod carries app=web any more');
});

test('an overflow marker reloads the state: what vanished meanwhile is flagged removed', () => {
  const index = new AutocompleteIndex({ clock: new ManualClock(1_000) });
  const state = new LocalState({ clock: new ManualClock(1_000), retentionMs: 60_000 });
  state.applySnapshot([applied(pod('p1', 'api-1'), 1), applied(pod('p2', 'api-2'), 2)], 2, newStreamId());
  const feed = new ClusterFeed(index, 'prod', state);
  feed.load();
  // changes the feed never saw
  state.apply(applied(pod('p3', 'api-3'), 3));
  state.apply(applied(exit('p1'), 4));
  state.apply(applied(pod('p2', 'api-2', true), 5));
  feed.push({ type: 'overflow', dropped: 3 });
  assert.equal(feed.reloads, 2);
  const byName = new Map(index.search({ q: 'pod:api', limit: 10 }).suggestions.map((s) => [s.name, s.live ? 'live' : s.gone]));
  assert.deepEqual(Object.fromEntries(byName), { 'api-3': 'live', 'api-1': 'removed', 'api-2': 'deleted' });
});
