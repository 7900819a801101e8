import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PendingUpdate } from '../log/index.ts';
import { reduceToState } from './state-batch.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const show = (us: readonly PendingUpdate[]): string[] => us.map((u) => `${u.objectKey} ${new TextDecoder().decode(u.payload)} ${u.state}${u.viewOnly ? ' view' : ''} -> ${[...u.scopes].join(',')}`);

test('only the last update of each object on each scope survives, in batch order', () => {
  const pod1 = { objectKey: 'Pod/p', payload: bytes('p1'), scopes: ['cluster', 'node/a'], state: 'upsert' } as const;
  const svcA1 = { objectKey: 'Service/s', payload: bytes('s-a1'), scopes: ['node/a'], state: 'upsert', viewOnly: true } as const;
  const pod2 = { objectKey: 'Pod/p', payload: bytes('p2'), scopes: ['cluster', 'node/b'], state: 'upsert' } as const;
  const exitA = { objectKey: 'Pod/p', payload: bytes('exit'), scopes: ['node/a'], state: 'remove' } as const;
  const svcA2 = { objectKey: 'Service/s', payload: bytes('s-a2'), scopes: ['node/a'], state: 'upsert', viewOnly: true } as const;
  const other = { objectKey: 'Pod/q', payload: bytes('q'), scopes: ['cluster'], state: 'upsert' } as const;
  assert.deepEqual(show(reduceToState([pod1, svcA1, pod2, exitA, svcA2, other])), [
    'Pod/p p2 upsert -> cluster,node/b',
    'Pod/p exit remove -> node/a',
    'Service/s s-a2 upsert view -> node/a',
    'Pod/q q upsert -> cluster',
  ]);
});

test('views of one object with the same payload merge into one update on all their scopes', () => {
  const identity = bytes('rs');
  const full = { objectKey: 'ReplicaSet/r', payload: bytes('rs+counts'), scopes: ['cluster'], state: 'upsert' } as const;
  const views = ['node/a', 'node/b', 'node/c'].map((scope) => ({ objectKey: 'ReplicaSet/r', payload: identity, scopes: [scope], state: 'upsert', viewOnly: true }) as const);
  const exitB = { objectKey: 'ReplicaSet/r', payload: bytes('exit'), scopes: ['node/b'], state: 'remove' } as const;
  const reduced = reduceToState([full, ...views, exitB]);
  assert.deepEqual(show(reduced), [
    'ReplicaSet/r rs+counts upsert -> cluster',
    'ReplicaSet/r rs upsert view -> node/a,node/c',
    'ReplicaSet/r exit remove -> node/b',
  ]);
  // A view with other bytes (the identity changed in between) is not merged.
  const changed = { objectKey: 'ReplicaSet/r', payload: bytes('rs2'), scopes: ['node/d'], state: 'upsert', viewOnly: true } as const;
  assert.equal(reduceToState([...views, changed]).length, 2);
});

test('a tombstone replaces what came before it on every scope', () => {
  const up = { objectKey: 'Pod/p', payload: bytes('p1'), scopes: ['cluster', 'node/a'], state: 'upsert' } as const;
  const gone = { objectKey: 'Pod/p', payload: bytes('p-deleted'), scopes: ['cluster', 'node/a'], state: 'tombstone' } as const;
  assert.deepEqual(show(reduceToState([up, gone])), ['Pod/p p-deleted tombstone -> cluster,node/a']);
});
