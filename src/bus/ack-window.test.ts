import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, waitFor } from '../core/index.ts';
import { AckWindow } from './ack-window.ts';

test('waits while the window is full and resumes on a cumulative ack', async () => {
  const w = new AckWindow(2);
  const clock = new ManualClock();
  const signal = new AbortController().signal;
  w.sent(0);
  w.sent(1);
  let room = false;
  const waiting = w.waitForRoom(clock, 1_000, signal).then((r) => (room = r));
  await Promise.resolve();
  assert.equal(room, false);
  assert.equal(w.ack(5), false, 'an ack for a response never sent is ignored');
  assert.equal(w.ack(1), true, 'acking 1 acknowledges 0 too');
  await waiting;
  assert.deepEqual([room, w.inFlight], [true, 0]);
});

test('reports a timeout when no ack comes, and rejects when aborted', async () => {
  const w = new AckWindow(1);
  const clock = new ManualClock();
  w.sent(0);
  const timedOut = w.waitForRoom(clock, 1_000, new AbortController().signal);
  await waitFor(() => clock.pendingSleeps === 1, { what: 'the ack timer' });
  clock.advance(1_000);
  assert.equal(await timedOut, false);
  const abort = new AbortController();
  const aborted = w.waitForRoom(clock, 1_000, abort.signal);
  abort.abort(new Error('closing'));
  await assert.rejects(aborted, /closing/);
  assert.equal(clock.pendingSleeps, 0, 'no timer left behind');
});
