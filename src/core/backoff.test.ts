import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from './backoff.ts';

test('delays grow exponentially up to the cap, and reset starts over', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0 });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1_000, 1_000]);
  b.reset();
  assert.equal(b.next(), 100);
});

test('jitter spreads each delay within [base*(1-jitter), base]', () => {
  const low = new Backoff({ initialMs: 1_000, jitter: 0.5, random: () => 0 });
  const high = new Backoff({ initialMs: 1_000, jitter: 0.5, random: () => 0.999_999 });
  assert.equal(low.next(), 500);
  assert.equal(high.next(), 1_000);
});
