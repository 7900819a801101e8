import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SerialQueue } from './serial-queue.ts';

test('runs tasks one at a time in arrival order', async () => {
  const queue = new SerialQueue(10);
  const log: string[] = [];
  let running = 0;
  const task = (name: string, ms: number) => async () => {
    running++;
    assert.equal(running, 1);
    log.push(`start ${name}`);
    await new Promise((r) => setTimeout(r, ms));
    log.push(`end ${name}`);
    running--;
    return name;
  };
  const results = await Promise.all([queue.run(task('a', 20)), queue.run(task('b', 1)), queue.run(task('c', 5))]);
  assert.deepEqual(results, ['a', 'b', 'c']);
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
});

test('refuses when too many wait, and lets a waiter abort without breaking the order', async () => {
  const queue = new SerialQueue(2);
  let release!: () => void;
  const first = queue.run(() => new Promise<void>((r) => (release = r)));
  const controller = new AbortController();
  const second = queue.run(async () => 'second', controller.signal);
  const third = queue.run(async () => 'third');
  await assert.rejects(queue.run(async () => 'fourth'), { code: 'LOG_COMMIT_QUEUE_FULL' });
  controller.abort();
  await assert.rejects(second, { code: 'CORE_ABORTED' });
  await new Promise((r) => setTimeout(r, 5));
  release();
  await first;
  assert.equal(await third, 'third');
  await queue.idle();
});

test('a failing task does not block the next', async () => {
  const queue = new SerialQueue(5);
  await assert.rejects(queue.run(async () => {
    throw new Error('boom');
  }));
  assert.equal(await queue.run(async () => 1), 1);
});
