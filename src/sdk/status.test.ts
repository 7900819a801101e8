import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { ManualClock, MemoryLogger } from '../core/index.ts';
import { ChangeFeed, type Change } from './changes.ts';
import { StatusHub, statusChannelName, type Status } from './status.ts';

test('a slow status reader loses the oldest events and never blocks the emitter', async () => {
  const hub = new StatusHub({ scope: 'node/n1', clock: new ManualClock(5), capacity: 3 });
  const reader = hub.status();
  for (let i = 1; i <= 10; i++) hub.emit({ type: 'gap', reason: 'chain', position: i, seen: i + 1 });
  assert.equal(hub.dropped, 7);
  const got: number[] = [];
  for (let i = 0; i < 3; i++) {
    const s = (await reader.next()).value as Status;
    if (s.type === 'gap') got.push(s.position);
  }
  assert.deepEqual(got, [8, 9, 10], 'the newest events are kept');
  hub.close();
  assert.equal((await reader.next()).done, true);
});

test('every status is published on its diagnostics channel kubemeta:sdk:<type>', () => {
  const hub = new StatusHub({ scope: 'cluster', clock: new ManualClock(42), capacity: 8 });
  const seen: unknown[] = [];
  const onGap = (message: unknown): void => void seen.push(message);
  subscribe(statusChannelName('gap'), onGap);
  try {
    hub.emit({ type: 'gap', reason: 'heartbeat', position: 3, seen: 9 });
    hub.emit({ type: 'reconnect' });
  } finally {
    unsubscribe(statusChannelName('gap'), onGap);
  }
  assert.equal(statusChannelName('gap'), 'kubemeta:sdk:gap');
  assert.deepEqual(seen, [{ type: 'gap', reason: 'heartbeat', position: 3, seen: 9, scope: 'cluster', atMs: 42 }]);
});

test('status events reach the optional logger; the default logger is silent', () => {
  const logger = new MemoryLogger();
  const hub = new StatusHub({ scope: 'node/n1', clock: new ManualClock(0), capacity: 8, logger });
  hub.emit({ type: 'streamReset', from: undefined, to: '0'.repeat(32) as never });
  hub.emit({ type: 'error', error: new Error('boom'), retryInMs: 10 });
  assert.deepEqual(logger.records.map((r) => [r.level, r.fields['type']]), [['warn', 'streamReset'], ['warn', 'error']]);
  assert.equal((logger.records[1]?.fields['err'] as Error).message, 'boom');
});

test('a change reader that falls behind gets one overflow marker instead of the lost changes', async () => {
  const feed = new ChangeFeed(2);
  const reader = feed.changes();
  const change = (uid: string): Change => ({ type: 'removed', kind: 'Pod', uid, version: 1, reason: 'scopeExit' });
  for (const uid of ['a', 'b', 'c', 'd', 'e']) feed.push(change(uid));
  assert.deepEqual((await reader.next()).value, { type: 'overflow', dropped: 3 });
  assert.deepEqual(((await reader.next()).value as { uid: string }).uid, 'd');
  assert.deepEqual(((await reader.next()).value as { uid: string }).uid, 'e');
  // A reader that stops iterating is detached: no more work for it.
  await reader.return?.();
  assert.equal(feed.active, false);
});

test('a waiting change reader is woken by the next change and by close', async () => {
  const feed = new ChangeFeed(4);
  const reader = feed.changes();
  const pending = reader.next();
  feed.push({ type: 'snapshot', version: 3, streamId: '0'.repeat(32) as never, objects: 0 });
  assert.equal(((await pending).value as Change).type, 'snapshot');
  const end = reader.next();
  feed.close();
  assert.equal((await end).done, true);
});

test('await using closes the status hub: its readers end', async () => {
  const hub = new StatusHub({ scope: 'node/n1', clock: new ManualClock(5), capacity: 3 });
  const reader = hub.status();
  {
    await using scoped = hub;
    scoped.emit({ type: 'disconnect' });
  }
  assert.equal((await reader.next()).value?.type, 'disconnect');
  assert.equal((await reader.next()).done, true);
});
