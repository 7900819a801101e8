import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimApiError } from '../model/errors.ts';
import type { KubeObject } from '../model/objects.ts';
import { compileFilter, parseFieldSelector, parseLabelSelector } from './selectors.ts';

const labels = { app: 'web', tier: 'frontend', version: '3' };

function pod(name: string, namespace: string, extra: { nodeName?: string; phase?: string; labels?: Record<string, string> } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, uid: name, resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z', labels: extra.labels ?? {} },
    spec: extra.nodeName ? { nodeName: extra.nodeName } : {},
    status: extra.phase ? { phase: extra.phase } : {},
  };
}

describe('parseLabelSelector', () => {
  const cases: Array<[string, boolean]> = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['tier in (frontend, backend)', true],
    ['tier in (backend)', false],
    ['tier notin (backend)', true],
    ['missing notin (x)', true],
    ['missing in (x)', false],
    ['app=web,tier in (frontend,backend),!missing', true],
    ['app=web, tier=backend', false],
    ['version>2', true],
    ['version<3', false],
    ['example.com/owner!=me', true],
  ];
  for (const [selector, expected] of cases) {
    it(`${JSON.stringify(selector)} ${expected ? 'matches' : 'does not match'}`, () => {
      assert.equal(parseLabelSelector(selector).matches(labels), expected);
    });
  }

  it('treats an object without labels as having none', () => {
    assert.equal(parseLabelSelector('app!=web').matches(undefined), true);
    assert.equal(parseLabelSelector('app').matches(undefined), false);
  });

  for (const bad of ['app=we b', 'a b c', 'app in ()', '-bad=x', 'app=(x)']) {
    it(`rejects ${JSON.stringify(bad)} with a BadRequest`, () => {
      assert.throws(() => parseLabelSelector(bad), (err: unknown) => err instanceof SimApiError && err.reason === 'BadRequest' && err.httpStatus === 400);
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
