import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterModel } from './cluster-model.ts';
import { flatten, freezeShared, stringifyObject } from './json.ts';

test('stringifyObject gives exactly what JSON.stringify gives, with and without shared parts', () => {
  const shared = freezeShared({ containers: [{ name: 'app', ports: [{ containerPort: 80 }] }], 'odd "key"': 'x\ny' });
  const samples: object[] = [
    {},
    { a: 1, b: undefined, c: () => 1, d: null, e: [undefined, () => 1, NaN, Infinity], f: 'é"\\' },
    { spec: shared, status: { conditions: [{ type: 'Ready' }] } },
    { spec: { template: { spec: shared } }, list: [shared, { x: shared }, 3] },
    { when: new Date(0), nested: { deeper: { deepest: { deeper_still: { shared } } } } },
    { 'key with "quote"': shared, '0': 'numeric keys come first', z: 1 },
    [shared, 1, 'two'],
  ];
  for (const sample of samples) assert.equal(stringifyObject(sample), JSON.stringify(sample));
  // the second serialization uses the remembered JSON of the shared part
  assert.equal(stringifyObject({ again: shared }), JSON.stringify({ again: shared }));
  assert.equal(flatten(stringifyObject(samples[3] as object)), JSON.stringify(samples[3]));
});

test('freezeShared freezes deeply, so a shared part can never go stale', () => {
  const part = freezeShared({ a: { b: [1, { c: 2 }] } });
  assert.ok(Object.isFrozen(part) && Object.isFrozen(part.a) && Object.isFrozen(part.a.b) && Object.isFrozen(part.a.b[1]));
  assert.throws(() => {
    (part.a.b[1] as { c: number }).c = 3;
  }, TypeError);
  assert.deepEqual(Object.keys(part), ['a']);
  assert.deepEqual({ ...part }, { a: part.a });
});

test('an object created in the model is served as JSON.stringify of its stored form', () => {
  const model = new ClusterModel({ clock: { now: () => 0, sleep: async () => {} }, uid: () => 'u-1' });
  const spec = freezeShared({ finalizers: ['kubernetes'] });
  const stored = model.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' }, spec });
  assert.equal(stored.json, JSON.stringify(stored.object));
  assert.match(stored.json, /"resourceVersion":"2"/);
  const updated = model.update({ ...stored.object, metadata: { ...stored.object.metadata, labels: { x: 'y' } } });
  assert.equal(updated.json, JSON.stringify(updated.object));
});
