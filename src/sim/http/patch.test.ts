import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimApiError } from '../model/errors.ts';
import { applyPatch, patchTypeOf } from './patch.ts';

describe('patchTypeOf', () => {
  it('maps the three patch media types', () => {
    assert.equal(patchTypeOf('application/merge-patch+json'), 'merge');
    assert.equal(patchTypeOf('application/strategic-merge-patch+json; charset=utf-8'), 'strategic');
    assert.equal(patchTypeOf('application/json-patch+json'), 'json');
  });

  it('refuses server-side apply and unknown types with 415', () => {
    for (const type of ['application/apply-patch+yaml', 'application/json', undefined]) {
      assert.throws(() => patchTypeOf(type), (err: unknown) => err instanceof SimApiError && err.httpStatus === 415);
    }
  });
});

describe('merge patch (RFC 7386)', () => {
  const target = { metadata: { name: 'a', labels: { x: '1', y: '2' } }, spec: { replicas: 1, list: [1, 2, 3] } };

  it('merges objects, deletes with null, replaces lists', () => {
    const result = applyPatch('merge', target, { metadata: { labels: { x: null, z: '3' } }, spec: { replicas: 4, list: [9] } });
    assert.deepEqual(result, { metadata: { name: 'a', labels: { y: '2', z: '3' } }, spec: { replicas: 4, list: [9] } });
  });

  it('does not modify its inputs', () => {
    const before = structuredClone(target);
    applyPatch('merge', target, { metadata: { labels: { x: 'changed' } } });
    assert.deepEqual(target, before);
  });

  it('refuses a non-object patch', () => {
    assert.throws(() => applyPatch('merge', target, [1]), (err: unknown) => err instanceof SimApiError && err.httpStatus === 422);
  });
});

describe('strategic merge patch (approximation)', () => {
  const deployment = {
    spec: {
      replicas: 2,
      template: {
        spec: {
          containers: [
            { name: 'web', image: 'nginx:1.26', ports: [{ containerPort: 80 }], env: [{ name: 'A', value: '1' }] },
            { name: 'side', image: 'busybox' },
          ],
        },
      },
    },
    metadata: { finalizers: ['a'] },
  };

  it('merges containers by name, keeping fields the patch does not mention (kubectl apply)', () => {
    const patch = {
      spec: { replicas: 3, template: { spec: { '$setElementOrder/containers': [{ name: 'web' }, { name: 'side' }], containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
    };
    const result = applyPatch('strategic', deployment, patch) as typeof deployment;
    assert.equal(result.spec.replicas, 3);
    assert.deepEqual(result.spec.template.spec.containers, [
      { name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }], env: [{ name: 'A', value: '1' }] },
      { name: 'side', image: 'busybox' },
    ]);
    assert.equal('$setElementOrder/containers' in result.spec.template.spec, false);
  });

  it('deletes list items with $patch: delete and appends new ones', () => {
    const patch = { spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }, { name: 'new', image: 'alpine' }] } } } };
    const result = applyPatch('strategic', deployment, patch) as typeof deployment;
    assert.deepEqual(result.spec.template.spec.containers.map((c) => c.name), ['web', 'new']);
  });

  it('merges finalizers as a set and removes values with $deleteFromPrimitiveList', () => {
    assert.deepEqual((applyPatch('strategic', deployment, { metadata: { finalizers: ['a', 'b'] } }) as typeof deployment).metadata.finalizers, ['a', 'b']);
    const removed = applyPatch('strategic', deployment, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }) as typeof deployment;
    assert.deepEqual(removed.metadata.finalizers, []);
  });

  it('replaces a map with $patch: replace', () => {
    const result = applyPatch('strategic', { spec: { selector: { a: '1', b: '2' } } }, { spec: { selector: { $patch: 'replace', c: '3' } } });
    assert.deepEqual(result, { spec: { selector: { c: '3' } } });
  });

  it('works as a merge patch for labels and replicas (kubectl label / scale)', () => {
    const result = applyPatch('strategic', { metadata: { labels: { a: '1' } }, spec: { replicas: 1 } }, { metadata: { labels: { b: '2', a: null } }, spec: { replicas: 0 } });
    assert.deepEqual(result, { metadata: { labels: { b: '2' } }, spec: { replicas: 0 } });
  });
});

describe('JSON patch (RFC 6902)', () => {
  const target = { metadata: { labels: { a: '1' } }, spec: { list: ['x', 'y'] } };

  it('adds, replaces, removes, moves, copies and tests', () => {
    const result = applyPatch('json', target, [
      { op: 'test', path: '/metadata/labels/a', value: '1' },
      { op: 'add', path: '/metadata/labels/b', value: '2' },
      { op: 'replace', path: '/metadata/labels/a', value: 'one' },
      { op: 'add', path: '/spec/list/-', value: 'z' },
      { op: 'add', path: '/spec/list/0', value: 'w' },
      { op: 'remove', path: '/spec/list/1' },
      { op: 'copy', from: '/metadata/labels/b', path: '/metadata/labels/c' },
      { op: 'move', from: '/metadata/labels/c', path: '/metadata/labels/d' },
      { op: 'add', path: '/metadata/annotations', value: { 'a~b/c': 'v' } },
      { op: 'replace', path: '/metadata/annotations/a~0b~1c', value: 'w' },
    ]);
    assert.deepEqual(result, { metadata: { labels: { a: 'one', b: '2', d: '2' }, annotations: { 'a~b/c': 'w' } }, spec: { list: ['w', 'y', 'z'] } });
    assert.deepEqual(target, { metadata: { labels: { a: '1' } }, spec: { list: ['x', 'y'] } });
  });

  it('fails with 422 when a test fails or a path does not exist', () => {
    const invalid = (err: unknown): boolean => err instanceof SimApiError && err.httpStatus === 422;
    assert.throws(() => applyPatch('json', target, [{ op: 'test', path: '/metadata/labels/a', value: '2' }]), invalid);
    assert.throws(() => applyPatch('json', target, [{ op: 'remove', path: '/nope' }]), invalid);
    assert.throws(() => applyPatch('json', target, [{ op: 'replace', path: '/spec/list/5', value: 1 }]), invalid);
    assert.throws(() => applyPatch('json', target, [{ op: 'frobnicate', path: '/a' }]), invalid);
    assert.throws(() => applyPatch('json', target, { op: 'add' }), invalid);
  });
});
