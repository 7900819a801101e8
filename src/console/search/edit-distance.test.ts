import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignedRanges, maxTypos, prefixDistance } from './edit-distance.ts';

test('typo budget grows with the query: none below 4 characters, 1 up to 7, then 2', () => {
  assert.deepEqual([1, 3, 4, 7, 8, 30].map(maxTypos), [0, 0, 1, 1, 2, 2]);
});

test('prefixDistance: the closest prefix of the name, transpositions counting one', () => {
  assert.equal(prefixDistance('checkout', 'checkout-api-7c5d', 2), 0);
  assert.equal(prefixDistance('chekcout', 'checkout-api', 2), 1, 'swap');
  assert.equal(prefixDistance('chckout', 'checkout-api', 2), 1, 'a missing character');
  assert.equal(prefixDistance('cheeckout', 'checkout-api', 2), 1, 'an extra character');
  assert.equal(prefixDistance('chxckoxt', 'checkout-api', 2), 2);
  assert.equal(prefixDistance('chxckxxt', 'checkout-api', 2), -1, 'beyond the bound');
  assert.equal(prefixDistance('frontend', 'front', 2), -1, 'three characters short');
  assert.equal(prefixDistance('frontend', 'fronten', 2), 1);
});

test('alignedRanges marks the characters the query matched', () => {
  assert.deepEqual(alignedRanges('frontnd', 'frontend', 1), [[0, 5], [6, 8]]);
  assert.deepEqual(alignedRanges('chekcout', 'checkout-api', 2), [[0, 8]]);
  assert.deepEqual(alignedRanges('prmetheos', 'prometheus-0', 2), [[0, 2], [3, 8], [9, 10]]);
  assert.deepEqual(alignedRanges('chekout', 'CheckOut', 1), [[0, 3], [4, 8]], 'names are compared lowercased (queries come lowercased)');
});
