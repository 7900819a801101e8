import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, waitFor } from '../core/index.ts';
import { RequestErrorCode } from '../schema/index.ts';
import { Admission, type AdmissionConfig } from './admission.ts';
import { RequestRefusedError } from './errors.ts';

const config: AdmissionConfig = {
  maxConcurrent: 2,
  maxQueued: 1,
  maxQueueWaitMs: 1_000,
  busyRetryAfterMs: 500,
  requesterRatePerSec: 1,
  requesterBurst: 3,
  maxAnswersPerRequester: 3,
  maxTrackedRequesters: 100,
};

async function refusal(p: Promise<unknown>): Promise<{ code: number; retryAfterMs: number }> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RequestRefusedError);
    return { code: err.requestError.code, retryAfterMs: err.requestError.retryAfterMs };
  }
  throw new Error('expected a refusal');
}

test('grants up to maxConcurrent, queues up to maxQueued in order, then answers BUSY', async () => {
  const a = new Admission(config, new ManualClock());
  const s1 = await a.admit('a');
  await a.admit('b');
  let queuedGranted = false;
  const queued = a.admit('c').then((s) => ((queuedGranted = true), s));
  assert.deepEqual(await refusal(a.admit('d')), { code: RequestErrorCode.BUSY, retryAfterMs: 500 });
  assert.deepEqual([a.running, a.queued], [2, 1]);
  s1.release();
  s1.release(); // idempotent
  (await queued).release();
  assert.equal(queuedGranted, true);
  assert.deepEqual([a.running, a.queued, a.peakRunning], [1, 0, 2]);
});

test('refuses a requester over its token bucket with the time until its next token', async () => {
  const clock = new ManualClock();
  const a = new Admission({ ...config, maxConcurrent: 100 }, clock);
  for (let i = 0; i < 3; i++) (await a.admit('burst')).release();
  assert.deepEqual(await refusal(a.admit('burst')), { code: RequestErrorCode.BUSY, retryAfterMs: 1_000 });
  (await a.admit('someone-else')).release();
  clock.advance(1_000);
  (await a.admit('burst')).release();
});

test('caps the answers one requester has open', async () => {
  const a = new Admission({ ...config, maxConcurrent: 100, requesterBurst: 100 }, new ManualClock());
  const open = [await a.admit('x'), await a.admit('x'), await a.admit('x')];
  assert.equal((await refusal(a.admit('x'))).code, RequestErrorCode.BUSY);
  open[0]?.release();
  (await a.admit('x')).release();
});

test('a request waiting longer than maxQueueWaitMs gets BUSY; close() refuses the rest', async () => {
  const clock = new ManualClock();
  const a = new Admission(config, clock);
  await a.admit('a');
  await a.admit('b');
  const waiting = refusal(a.admit('c'));
  await waitFor(() => clock.pendingSleeps === 1, { what: 'the queue timer' });
  clock.advance(1_000);
  assert.equal((await waiting).code, RequestErrorCode.BUSY);
  const queued = a.admit('d');
  const reason = new RequestRefusedError({ code: RequestErrorCode.UNAVAILABLE, message: 'closing', retryAfterMs: 1 });
  a.close(reason);
  await assert.rejects(queued, (err) => err === reason);
  await assert.rejects(a.admit('e'), (err) => err === reason);
});

test('forgets idle requesters beyond maxTrackedRequesters', async () => {
  const a = new Admission({ ...config, maxConcurrent: 1_000, requesterBurst: 1, maxTrackedRequesters: 10 }, new ManualClock());
  for (let i = 0; i < 50; i++) (await a.admit(`r${i}`)).release();
  // r0 was forgotten: its bucket starts full again instead of refusing.
  (await a.admit('r0')).release();
});
