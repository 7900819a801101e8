import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pause, ShutdownError, stopInOrder } from './shutdown.ts';

test('stopInOrder runs every step in order, also after a failure, and reports each failure', async () => {
  const ran: string[] = [];
  const failure = await stopInOrder([
    ['a', async () => void ran.push('a')],
    ['b', async () => { ran.push('b'); throw new Error('b broke'); }],
    ['never started', undefined],
    ['c', async () => void ran.push('c')],
    ['d', () => Promise.reject(new Error('d broke'))],
  ]);
  assert.deepEqual(ran, ['a', 'b', 'c'], 'a failed step does not leave the later ones open');
  assert.ok(failure instanceof ShutdownError);
  assert.equal(failure.code, 'CLI_SHUTDOWN_FAILED');
  assert.deepEqual(failure.failures.map((f) => f.what), ['b', 'd']);
  assert.match(failure.message, /b \(b broke\); d \(d broke\)/);
  assert.equal(await stopInOrder([['a', async () => undefined]]), undefined);
});

test('pause ends at once when the signal aborts, and leaves no listener behind', async () => {
  const stop = new AbortController();
  const started = Date.now();
  const waiting = pause(60_000, stop.signal);
  setTimeout(() => stop.abort(), 20);
  await waiting;
  assert.ok(Date.now() - started < 5_000);
  await pause(60_000, stop.signal); // already aborted: at once
  const quiet = new AbortController();
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  for (let i = 0; i < 20; i++) await pause(1, quiet.signal);
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  assert.deepEqual(warnings.map((w) => w.name), [], 'no MaxListenersExceededWarning: each pause removed its listener');
});
