import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, waitFor } from '../core/index.ts';
import { RateLimiter } from './rate-limiter.ts';

test('allows a burst, then one request per 1/qps seconds', async () => {
  const clock = new ManualClock(0);
  const limiter = new RateLimiter(2, 3, clock);
  for (let i = 0; i < 3; i++) await limiter.take();
  let fourth = false;
  const pending = limiter.take().then(() => (fourth = true));
  await waitFor(() => clock.pendingSleeps === 1, { what: 'the limiter to wait for a token' });
  assert.equal(fourth, false, 'the fourth request waits once the burst is spent');
  clock.advance(499);
  await Promise.resolve();
  assert.equal(fourth, false);
  clock.advance(1);
  await pending;
  assert.equal(fourth, true, 'a token arrives after 1/qps = 500 ms');
});

test('a waiting request is released by its abort signal', async () => {
  const clock = new ManualClock(0);
  const limiter = new RateLimiter(1, 1, clock);
  await limiter.take();
  const ac = new AbortController();
  const waiting = limiter.take(ac.signal);
  await waitFor(() => clock.pendingSleeps === 1, { what: 'a pending sleep' });
  ac.abort(new Error('stop'));
  await assert.rejects(waiting, /stop/);
});
