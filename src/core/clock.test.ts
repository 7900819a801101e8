import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, sleep } from './clock.ts';
import { waitFor } from './wait-for.ts';
import { TimeoutError } from './errors.ts';

test('ManualClock wakes sleepers only when time reaches their deadline, in order', async () => {
  const clock = new ManualClock(1_000);
  const woke: string[] = [];
  const a = clock.sleep(200).then(() => woke.push('a'));
  const b = clock.sleep(100).then(() => woke.push('b'));
  clock.advance(50);
  await Promise.resolve();
  assert.deepEqual(woke, []);
  clock.advance(150);
  await Promise.all([a, b]);
  assert.deepEqual(woke, ['b', 'a']);
  assert.equal(clock.now(), 1_200);
});

test('an aborted sleep rejects with the signal reason', async () => {
  const ac = new AbortController();
  const pending = sleep(10_000, ac.signal);
  ac.abort(new Error('cancelled'));
  await assert.rejects(pending, /cancelled/);
});

test('waitFor names what it waited for when it times out', async () => {
  await assert.rejects(waitFor(() => false, { what: 'the moon to turn blue', timeoutMs: 50, intervalMs: 10 }), (err: unknown) => {
    assert.ok(err instanceof TimeoutError);
    assert.match(err.message, /the moon to turn blue/);
    return true;
  });
  let n = 0;
  assert.equal(await waitFor(() => (++n >= 3 ? n : 0), { what: 'three polls', intervalMs: 1 }), 3);
});
