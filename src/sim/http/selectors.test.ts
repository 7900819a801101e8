import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimApiError } from '../model/errors.ts';
import type { KubeObject } from '../model/objects.ts';
import { compileFilter, parseFieldSelector, parseLabelQuery } from './selectors.ts';

function pod(name: string, namespace: string, extra: { nodeName?: string; phase?: string; labels?: Record<string, string> } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, uid: name, resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z', labels: extra.labels ?? {} },
    spec: extra.nodeName ? { nodeName: extra.nodeName } : {},
    status: extra.phase ? { phase: extra.phase } : {},
  };
}

describe('parseLabelQuery', () => {
  it('takes the API server\'s numeric comparisons', () => {
    assert.equal(parseLabelQuery('version>2').matches({ version: '3' }), true);
    assert.equal(parseLabelQuery('version<3').matches({ version: '3' }), false);
  });

  for (const bad of ['app=we b', 'a b c', 'app in ()', '-bad=x', 'app=(x)']) {
    it(`rejects ${JSON.stringify(bad)} with a BadRequest`, () => {
      assert.throws(() => parseLabelQuery(bad), (err: unknown) => err instanceof SimApiError && err.reason === 'BadRequest' && err.httpStatus === 400);
    });
  }
});

describe('parseFieldSelector', () => {
  const p = pod('a', 'ns1', { nodeName: 'node-1', phase: 'Running' });

  it('matches metadata.name, metadata.namespace, spec.nodeName and status.phase', () => {
    assert.equal(parseFieldSelector('metadata.name=a', 'Pod').matches(p), true);
    assert.equal(parseFieldSelector('metadata.name!=a', 'Pod').matches(p), false);
    assert.equal(parseFieldSelector('metadata.namespace==ns1,spec.nodeName=node-1', 'Pod').matches(p), true);
    assert.equal(parseFieldSelector('status.phase=Pending', 'Pod').matches(p), false);
  });

  it('compares a missing field as the empty string (unscheduled pods have spec.nodeName=)', () => {
    assert.equal(parseFieldSelector('spec.nodeName=', 'Pod').matches(pod('b', 'ns1')), true);
    assert.equal(parseFieldSelector('spec.nodeName!=', 'Pod').matches(p), true);
  });

  it('exposes spec.nodeName and metadata.namespace for indexed lists', () => {
    const f = parseFieldSelector('spec.nodeName=node-1,metadata.namespace=ns1', 'Pod');
    assert.equal(f.nodeName, 'node-1');
    assert.equal(f.namespace, 'ns1');
    assert.equal(parseFieldSelector('spec.nodeName!=node-1', 'Pod').nodeName, undefined);
  });

  it('refuses fields the kind does not support, as the real server does', () => {
    assert.throws(() => parseFieldSelector('spec.nodeName=x', 'Service'), /field label not supported: spec.nodeName/);
    assert.throws(() => parseFieldSelector('nonsense', 'Pod'), (err: unknown) => err instanceof SimApiError && err.httpStatus === 400);
  });
});

describe('compileFilter', () => {
  it('combines the path namespace with label and field selectors', () => {
    const f = compileFilter('Pod', 'ns1', 'app=web', 'spec.nodeName=node-1');
    assert.equal(f.selective, true);
    assert.equal(f.matches(pod('a', 'ns1', { nodeName: 'node-1', labels: { app: 'web' } })), true);
    assert.equal(f.matches(pod('a', 'ns2', { nodeName: 'node-1', labels: { app: 'web' } })), false);
    assert.equal(f.matches(pod('a', 'ns1', { nodeName: 'node-2', labels: { app: 'web' } })), false);
  });

  it('is not selective without selectors, and describes requests canonically', () => {
    const f = compileFilter('Pod', undefined, '', null);
    assert.equal(f.selective, false);
    assert.equal(f.description, compileFilter('Pod', undefined, null, null).description);
    assert.notEqual(f.description, compileFilter('Pod', 'ns1', null, null).description);
  });
});
