import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedQueue } from './bounded-queue.ts';
import { ClosedError, InvalidArgumentError } from './errors.ts';

test('offer refuses items beyond capacity instead of growing', () => {
  const q = new BoundedQueue<number>(2);
  assert.equal(q.offer(1), true);
  assert.equal(q.offer(2), true);
  assert.equal(q.offer(3), false);
  assert.equal(q.size, 2);
});

test('push waits for room (backpressure) and resumes when the consumer takes', async () => {
  const q = new BoundedQueue<number>(1);
  await q.push(1);
  let pushed = false;
  const second = q.push(2).then(() => (pushed = true));
  await Promise.resolve();
  assert.equal(pushed, false, 'the producer waits while the queue is full');
  assert.deepEqual(await q.take(), { value: 1, done: false });
  await second;
  assert.equal(pushed, true);
  assert.deepEqual(await q.take(), { value: 2, done: false });
});

test('items come out in order and iteration ends after close and drain', async () => {
  const q = new BoundedQueue<number>(10);
  for (let i = 0; i < 5; i++) q.offer(i);
  q.close();
  const out: number[] = [];
  for await (const v of q) out.push(v);
  assert.deepEqual(out, [0, 1, 2, 3, 4]);
  assert.throws(() => q.offer(9), ClosedError);
});

test('a consumer waiting on an empty queue gets the next item, or the close error', async () => {
  const q = new BoundedQueue<string>(1);
  const waiting = q.take();
  q.offer('a');
  assert.deepEqual(await waiting, { value: 'a', done: false });
  const failing = q.take();
  q.close(new Error('source failed'));
  await assert.rejects(failing, /source failed/);
});

test('a producer blocked on a full queue is released by close with ClosedError', async () => {
  const q = new BoundedQueue<number>(1);
  q.offer(1);
  const blocked = q.push(2);
  q.close();
  await assert.rejects(blocked, ClosedError);
});

test('a producer blocked on a full queue is released by its abort signal', async () => {
  const q = new BoundedQueue<number>(1);
  q.offer(1);
  const ac = new AbortController();
  const blocked = q.push(2, ac.signal);
  ac.abort(new Error('shutdown'));
  await assert.rejects(blocked, /shutdown/);
  assert.equal(q.size, 1);
});

test('capacity must be a positive integer', () => {
  assert.throws(() => new BoundedQueue(0), InvalidArgumentError);
  assert.throws(() => new BoundedQueue(1.5), /capacity/);
});

test('long runs of push and take keep the internal buffer bounded', async () => {
  const q = new BoundedQueue<number>(4);
  let sum = 0;
  for (let i = 0; i < 10_000; i++) {
    q.offer(i);
    const r = await q.take();
    sum += r.value as number;
  }
  assert.equal(sum, (9_999 * 10_000) / 2);
  assert.equal(q.size, 0);
});
