import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intersectKinds, parseQuery } from './query-parser.ts';

test('splits kinds, namespace and text, lowercased', () => {
  assert.deepEqual(parseQuery('  Svc:Shop/Front '), { text: 'front', kinds: ['service'], namespace: 'shop' });
  assert.deepEqual(parseQuery('deploy,sts:api'), { text: 'api', kinds: ['deployment', 'statefulset'], namespace: undefined });
  assert.deepEqual(parseQuery('workload:x').kinds, ['deployment', 'statefulset', 'daemonset', 'cronjob', 'job', 'replicaset']);
  assert.deepEqual(parseQuery('checkout'), { text: 'checkout', kinds: undefined, namespace: undefined });
  assert.deepEqual(parseQuery('ns:'), { text: '', kinds: ['namespace'], namespace: undefined });
  assert.deepEqual(parseQuery('shop/'), { text: '', kinds: undefined, namespace: 'shop' });
});

test('labels keep their slashes: no namespace from a text with "=", a dotted prefix, or label:', () => {
  assert.deepEqual(parseQuery('app.kubernetes.io/name=web'), { text: 'app.kubernetes.io/name=web', kinds: undefined, namespace: undefined });
  assert.deepEqual(parseQuery('app.kubernetes.io/name'), { text: 'app.kubernetes.io/name', kinds: undefined, namespace: undefined });
  assert.deepEqual(parseQuery('label:team/x'), { text: 'team/x', kinds: ['label'], namespace: undefined });
  assert.deepEqual(parseQuery('shop/app=x'), { text: 'shop/app=x', kinds: undefined, namespace: undefined });
});

test('an unknown kind prefix is an error that lists the kinds', () => {
  assert.throws(() => parseQuery('pdo:x'), (err: Error & { code?: string }) => err.code === 'CONSOLE_UNKNOWN_KIND' && /use one of ns, namespace/.test(err.message));
});

test('kind filters intersect, keeping rank order', () => {
  assert.deepEqual(intersectKinds(['pod', 'service'], ['service', 'pod', 'node']), ['service', 'pod']);
  assert.deepEqual(intersectKinds(undefined, ['pod']), ['pod']);
  assert.equal(intersectKinds(undefined, undefined), undefined);
});
