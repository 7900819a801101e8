import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  escapeObjectKey,
  escapeSegment,
  hex,
  indexKey,
  indexRange,
  nameFromKey,
  objectKeyFromStateKey,
  parseHex,
  scopeHeadKey,
  SCOPE_HEAD_PREFIX,
  stateKey,
  stateRange,
  versionFromIndexKey,
} from './keys.ts';
import { isValidKey, prefixRange } from './store.ts';

test('fixed-width hex keeps numeric order as key order, up to 2^53 - 1', () => {
  const numbers = [0, 1, 9, 10, 15, 16, 255, 256, 4096, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER];
  const keys = numbers.map(hex);
  assert.deepEqual([...keys].sort(), keys);
  assert.ok(keys.every((k) => k.length === 16));
  assert.deepEqual(keys.map(parseHex), numbers);
  assert.throws(() => parseHex('zz'));
});

test('escaped scopes cannot run into the next key segment', () => {
  for (const scope of ['cluster', 'node/a', 'node/a/b', 'node/%2F', 'node/ü', 'node/a b', 'node/']) {
    const escaped = escapeSegment(scope);
    assert.ok(!escaped.includes('/'), escaped);
    assert.ok(isValidKey(indexKey(scope, 1)), indexKey(scope, 1));
    assert.equal(nameFromKey(SCOPE_HEAD_PREFIX, scopeHeadKey(scope)), scope);
  }
  // 'node/a' and 'node/a/b' must not share index ranges.
  const a = indexRange('node/a', 0);
  assert.ok(!(indexKey('node/a/b', 5) >= a.start && indexKey('node/a/b', 5) < a.end));
  assert.ok(indexKey('node/a', 5) >= a.start && indexKey('node/a', 5) < a.end);
  assert.equal(versionFromIndexKey(indexKey('node/a/b', 77)), 77);
});

test('object keys keep their slash and round-trip through state keys', () => {
  assert.equal(escapeObjectKey('Pod/123e4567-e89b'), 'Pod/123e4567-e89b');
  const key = stateKey('node/x', 'Pod/a b%');
  assert.equal(objectKeyFromStateKey('node/x', key), 'Pod/a b%');
  const range = stateRange('node/x');
  assert.ok(key >= range.start && key < range.end);
  assert.ok(!(stateKey('node/xy', 'Pod/a') < range.end && stateKey('node/xy', 'Pod/a') >= range.start));
  const after = stateRange('node/x', key);
  assert.ok(after.start > key && after.start < stateKey('node/x', 'Pod/a b%0'));
});

test('prefix ranges cover exactly the keys with the prefix', () => {
  const r = prefixRange('s/cluster/');
  assert.deepEqual(r, { start: 's/cluster/', end: 's/cluster0' });
  assert.ok('s/cluster/ffff' < r.end && 's/clusterX' >= r.end);
});
