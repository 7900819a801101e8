import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../core/index.ts';
import { RequestErrorCode, nodeScope, parseScope, type StreamId } from '../schema/index.ts';
import { LocalState } from './local-state.ts';
import { ReplayClient } from './replay-client.ts';
import { ScopeSubscription } from './scope-subscription.ts';
import { StatusHub, type Status } from './status.ts';
import { FakeBus, FakeKubemeta, pod } from '../testing/index.ts';

const SCOPE = 'node/n1';
const SCOPES = ['cluster', SCOPE];

function harness(options: { maxBufferedUpdates?: number; limit?: number } = {}) {
  const bus = new FakeBus();
  const server = new FakeKubemeta(bus, 'test');
  const clock = new ManualClock(1_000_000);
  const state = new LocalState({ clock, retentionMs: 3_600_000 });
  const hub = new StatusHub({ scope: SCOPE, clock, capacity: 10_000 });
  const statuses: Status[] = [];
  void (async () => {
    for await (const s of hub.status()) statuses.push(s);
  })();
  const connection = bus.connect();
  const replay = new ReplayClient({ connection, cluster: 'test', clock, random: () => 0.5, responseTimeoutMs: 1000, limit: options.limit ?? 0 });
  const makeSub = (resume?: { streamId: StreamId; position: number }): ScopeSubscription => {
    if (resume) state.setPosition(resume.streamId, resume.position);
    return new ScopeSubscription({
      connection, cluster: 'test', scope: nodeScope('n1'), sink: state, replay, status: hub, clock,
      maxBufferedUpdates: options.maxBufferedUpdates ?? 100, errorBackoff: { random: () => 0.5 }, resume,
    });
  };
  const sub = makeSub();
  let n = 0;
  const commit = (count = 1, publish = true): number[] => {
    const updates = [];
    for (let i = 0; i < count; i++) updates.push({ update: pod({ uid: `p${++n}`, name: `pod-${n}`, node: 'n1' }), scopes: SCOPES });
    return server.commit(updates, publish);
  };
  /** Moves time in steps until `done()` holds, letting the bus deliver in between. */
  const advanceUntil = async (done: () => boolean, stepMs = 250, maxSteps = 400): Promise<void> => {
    for (let i = 0; i < maxSteps && !done(); i++) {
      clock.advance(stepMs);
      await bus.settle(3);
    }
    assert.ok(done(), 'condition not reached');
  };
  const types = (): string[] => statuses.map((s) => s.type);
  return { bus, server, clock, state, hub, statuses, types, sub, makeSub, commit, advanceUntil };
}

test('a new subscriber bootstraps by snapshot, then applies live updates in version order', async () => {
  const h = harness();
  h.commit(3);
  h.sub.start();
  await h.bus.settle();
  assert.equal(h.sub.inSync, true);
  assert.equal(h.state.pods().length, 3);
  assert.equal(h.server.requests.length, 1);
  assert.equal(h.server.requests[0]?.after, 0);
  assert.deepEqual(h.types().filter((t) => t !== 'replayStarted' && t !== 'replayDone'), ['bootstrapStarted', 'snapshotApplied', 'inSync']);
  h.commit(2);
  await h.bus.settle();
  assert.equal(h.state.pods().length, 5);
  assert.equal(h.sub.position, 5);
  assert.equal(h.sub.lag, 0);
  assert.equal(h.server.requests.length, 1, 'no replay while the chain holds');
  await h.sub.close();
});

test('updates published before the bootstrap answer are buffered and applied after it, duplicates skipped', async () => {
  const h = harness();
  h.commit(2);
  h.sub.start(); // the request is on its way; these arrive before the answer
  h.commit(2);
  await h.bus.settle();
  assert.equal(h.sub.inSync, true);
  assert.equal(h.state.pods().length, 4);
  // At-least-once delivery: the same frames again change nothing.
  const frames = h.server.scopes.get(SCOPE)?.history.slice(-2) ?? [];
  h.server.publishFrames(SCOPE, frames);
  await h.bus.settle();
  assert.ok(h.sub.stats().duplicates >= 2);
  assert.equal(h.sub.position, 4);
  assert.equal(h.server.requests.length, 1);
  await h.sub.close();
});

test('detects a gap from prevVersion, replays the missing range and then applies what was held', async () => {
  const h = harness();
  h.commit(1);
  h.sub.start();
  await h.bus.settle();
  h.bus.dropFilter = () => true;
  h.commit(2); // lost in transit
  h.bus.dropFilter = undefined;
  h.commit(1); // prevVersion 3, position 1: a gap
  await h.bus.settle();
  const gap = h.statuses.find((s) => s.type === 'gap');
  assert.deepEqual(gap && gap.type === 'gap' ? [gap.reason, gap.position, gap.seen] : undefined, ['chain', 1, 4]);
  assert.equal(h.server.requests.at(-1)?.after, 1, 'asks for what is missing, not everything');
  assert.equal(h.server.requests.at(-1)?.knownStreamId, h.server.streamId);
  assert.equal(h.sub.position, 4);
  assert.equal(h.state.pods().length, 4);
  assert.equal(h.sub.inSync, true);
  await h.sub.close();
});

test('applies updates that arrive out of order once the hole is filled', async () => {
  const h = harness();
  h.sub.start();
  await h.bus.settle();
  h.commit(3, false);
  const [f1, f2, f3] = h.server.scopes.get(SCOPE)?.history ?? [];
  h.server.answering = false; // the replay cannot help: only reordering can
  h.server.publishFrames(SCOPE, [f3!]);
  h.server.publishFrames(SCOPE, [f2!]);
  await h.bus.settle();
  assert.equal(h.sub.stats().buffered, 2);
  h.server.answering = true;
  h.server.publishFrames(SCOPE, [f1!]);
  await h.advanceUntil(() => h.sub.inSync);
  assert.equal(h.sub.position, 3);
  assert.equal(h.state.pods().length, 3);
  await h.sub.close();
});

test('the out-of-order buffer is bounded: overflow drops it, counts it, and replay converges', async () => {
  const h = harness({ maxBufferedUpdates: 3 });
  h.sub.start();
  await h.bus.settle();
  h.server.answering = false;
  h.bus.dropFilter = () => true;
  h.commit(1);
  h.bus.dropFilter = undefined;
  for (let i = 0; i < 10; i++) h.commit(1);
  await h.bus.settle();
  const stats = h.sub.stats();
  assert.ok(stats.bufferOverflows >= 1, 'overflowed');
  assert.ok(stats.buffered <= 3, `holds at most 3, holds ${stats.buffered}`);
  assert.ok(h.statuses.some((s) => s.type === 'gap' && s.reason === 'overflow'));
  h.server.answering = true;
  await h.advanceUntil(() => h.sub.inSync);
  assert.equal(h.sub.position, 11);
  assert.equal(h.state.pods().length, 11);
  await h.sub.close();
});

test('a heartbeat announcing a head beyond the position triggers a replay', async () => {
  const h = harness();
  h.commit(1);
  h.sub.start();
  await h.bus.settle();
  h.bus.dropFilter = () => true;
  h.commit(1); // the last update of a quiet period, lost: only the heartbeat reveals it
  h.bus.dropFilter = undefined;
  await h.bus.settle();
  assert.equal(h.sub.inSync, true, 'nothing seen yet');
  h.server.heartbeat(SCOPE);
  await h.bus.settle();
  assert.equal(h.sub.inSync, false, 'behind the announced head');
  assert.equal(h.server.requests.length, 1, 'the batch may still be on its way: a grace period first');
  h.clock.advance(250);
  await h.bus.settle();
  assert.ok(h.statuses.some((s) => s.type === 'gap' && s.reason === 'heartbeat'));
  assert.equal(h.sub.position, 2);
  assert.equal(h.sub.inSync, true);
  // A heartbeat at the position changes nothing.
  const requests = h.server.requests.length;
  h.server.heartbeat(SCOPE);
  await h.bus.settle();
  assert.equal(h.server.requests.length, requests);
  await h.sub.close();
});

test('a heartbeat that overtakes the batch it announces causes no replay', async () => {
  const h = harness();
  h.commit(1);
  h.sub.start();
  await h.bus.settle();
  h.commit(1, false);
  h.server.heartbeat(SCOPE); // announces version 2 before its batch arrives
  await h.bus.settle();
  assert.equal(h.sub.inSync, false);
  h.server.publishFrames(SCOPE, h.server.scopes.get(SCOPE)?.history.slice(-1) ?? []);
  await h.bus.settle();
  h.clock.advance(250);
  await h.bus.settle();
  assert.equal(h.sub.inSync, true);
  assert.equal(h.sub.stats().gaps, 0);
  assert.equal(h.server.requests.length, 1);
  await h.sub.close();
});

test('a new stream id drops the position and bootstraps by snapshot; new updates are not taken for duplicates', async () => {
  const h = harness();
  h.commit(5);
  h.sub.start();
  await h.bus.settle();
  const before = h.server.streamId;
  h.server.wipe();
  h.commit(2); // versions 1 and 2 of the new stream: below the old position 5
  await h.bus.settle();
  const reset = h.statuses.find((s) => s.type === 'streamReset');
  assert.deepEqual(reset && reset.type === 'streamReset' ? [reset.from, reset.to] : undefined, [before, h.server.streamId]);
  assert.ok(h.statuses.some((s) => s.type === 'bootstrapStarted' && s.reason === 'streamReset'));
  assert.equal(h.sub.streamId, h.server.streamId);
  assert.equal(h.sub.position, 2);
  assert.deepEqual(h.state.pods().map((p) => p.uid).sort(), ['p6', 'p7'], 'only the new stream\'s objects are live');
  assert.equal(h.server.requests.at(-1)?.after, 0);
  h.commit(1);
  await h.bus.settle();
  assert.equal(h.sub.position, 3);
  assert.equal(h.state.pods().length, 3);
  await h.sub.close();
});

test('a heartbeat from another stream also resets', async () => {
  const h = harness();
  h.commit(3);
  h.sub.start();
  await h.bus.settle();
  h.server.wipe();
  h.commit(1, false);
  h.server.heartbeat(SCOPE);
  await h.bus.settle();
  assert.equal(h.sub.streamId, h.server.streamId);
  assert.deepEqual(h.state.pods().map((p) => p.uid), ['p4']);
  await h.sub.close();
});

test('BUSY is retried after retry_after_ms plus jitter, with a new request id', async () => {
  const h = harness();
  h.commit(1);
  h.server.replay.failNext = { code: RequestErrorCode.BUSY, count: 1, retryAfterMs: 2000 };
  h.sub.start();
  await h.bus.settle();
  assert.equal(h.server.requests.length, 1);
  const error = h.statuses.find((s) => s.type === 'error');
  assert.equal(error?.type === 'error' ? error.retryInMs : undefined, 2500, '2000 ms + 50% × random 0.5');
  h.clock.advance(2499);
  await h.bus.settle();
  assert.equal(h.server.requests.length, 1, 'waits the advised time');
  h.clock.advance(1);
  await h.bus.settle();
  assert.equal(h.server.requests.length, 2);
  assert.notEqual(h.server.requests[0]?.requestId, h.server.requests[1]?.requestId);
  assert.equal(h.sub.inSync, true);
  await h.sub.close();
});

test('acknowledges every response that carries a reply subject (flow control)', async () => {
  const h = harness();
  h.commit(5);
  h.server.replay.flowControl = true;
  h.sub.start();
  await h.bus.settle();
  assert.equal(h.sub.inSync, true);
  const id = h.server.requests[0]?.requestId;
  assert.deepEqual(h.server.acks.map((a) => [a.requestId, a.sequence]), [[id, 0], [id, 1], [id, 2], [id, 3]], 'start, chunk, end of snapshot, end');
  await h.sub.close();
});

test('a lost response (sequence jump) voids the answer and the client asks again', async () => {
  const h = harness();
  h.commit(3);
  h.server.replay.loseSequence = 1; // the snapshot's only chunk
  h.sub.start();
  await h.bus.settle();
  assert.ok(h.statuses.some((s) => s.type === 'error' && s.error.message.includes('response 1 is missing')));
  await h.advanceUntil(() => h.sub.inSync);
  assert.equal(h.state.pods().length, 3, 'the partial snapshot was never applied; the retry was');
  assert.equal(h.server.requests.length, 2);
  await h.sub.close();
});

test('silence beyond the response timeout is retried with backoff', async () => {
  const h = harness();
  h.commit(1);
  h.server.answering = false;
  h.sub.start();
  await h.bus.settle();
  h.clock.advance(1000);
  await h.bus.settle();
  assert.ok(h.statuses.some((s) => s.type === 'error' && s.error.message.includes('no replay response')));
  h.server.answering = true;
  await h.advanceUntil(() => h.sub.inSync);
  assert.ok(h.server.requests.length >= 2);
  await h.sub.close();
});

test('a limited answer is followed by requests from last_version until the head', async () => {
  const h = harness({ limit: 2 });
  h.commit(1);
  h.sub.start();
  await h.bus.settle();
  h.server.replay.limit = 2;
  h.bus.dropFilter = () => true;
  h.commit(5);
  h.bus.dropFilter = undefined;
  h.commit(1);
  await h.bus.settle();
  assert.equal(h.sub.position, 7);
  assert.deepEqual(h.server.requests.slice(1).map((r) => r.after), [1, 3, 5]);
  await h.sub.close();
});

test('resumes from a persisted position with a tail replay, not a snapshot', async () => {
  const h = harness();
  h.commit(4);
  h.sub.start();
  await h.bus.settle();
  await h.sub.close();
  h.commit(2);
  const resumed = h.makeSub({ streamId: h.server.streamId, position: 4 });
  resumed.start();
  await h.bus.settle();
  const request = h.server.requests.at(-1);
  assert.deepEqual([request?.after, request?.knownStreamId], [4, h.server.streamId]);
  assert.equal(resumed.position, 6);
  assert.equal(resumed.stats().snapshots, 0, 'no snapshot: only the two missed updates came');
  assert.equal(h.state.pods().length, 6);
  await resumed.close();
});

test('a persisted position beyond the service\'s head (VERSION_IN_FUTURE) bootstraps from 0', async () => {
  const h = harness();
  h.commit(2);
  const sub = h.makeSub({ streamId: h.server.streamId, position: 99 });
  sub.start();
  await h.bus.settle();
  assert.ok(h.statuses.some((s) => s.type === 'bootstrapStarted' && s.reason === 'versionInFuture'));
  assert.equal(sub.position, 2);
  assert.equal(sub.inSync, true);
  await sub.close();
});

test('a service whose store went back (restored from an older copy) is noticed at its heartbeat: bootstrap again', async () => {
  const h = harness();
  h.commit(5);
  h.sub.start();
  await h.bus.settle();
  assert.equal(h.sub.position, 5);
  h.server.rewind(2);
  h.commit(2); // versions 3 and 4 again, for other pods: skipped as duplicates so far
  await h.bus.settle();
  assert.equal(h.sub.position, 5, 'the reissued versions looked like duplicates');
  h.server.heartbeat(SCOPE);
  await h.bus.settle();
  assert.equal(h.sub.position, 5, 'one heartbeat behind proves nothing (it may predate a replay answer)');
  h.clock.advance(3_000);
  h.server.heartbeat(SCOPE);
  await h.bus.settle();
  assert.ok(h.statuses.some((s) => s.type === 'bootstrapStarted' && s.reason === 'versionInFuture'));
  assert.equal(h.sub.position, 4);
  assert.equal(h.state.pods().length, 4, "the state is the restored store's: 2 kept + 2 new");
  await h.sub.close();
});

test('a stale heartbeat that arrives after a replay answer moved the position does not trigger a bootstrap', async () => {
  const h = harness();
  h.commit(5);
  h.sub.start();
  await h.bus.settle();
  assert.equal(h.sub.position, 5);
  // A heartbeat published when the head was 3, delivered only now (it travelled on the scope
  // subject, the answer that brought position 5 on the inbox: NATS orders neither against the other).
  h.server.connection.publishWithHeaders(h.server.subjects.scope(parseScope(SCOPE)), new Uint8Array(), {
    'kubemeta-stream': h.server.streamId,
    'kubemeta-head': '3',
  });
  await h.bus.settle();
  h.clock.advance(5_000);
  h.server.heartbeat(SCOPE); // the current head: 5
  await h.bus.settle();
  assert.ok(!h.statuses.some((s) => s.type === 'bootstrapStarted' && s.reason === 'versionInFuture'));
  assert.equal(h.sub.stats().snapshots, 1);
  assert.equal(h.sub.position, 5);
  await h.sub.close();
});

test('a persisted state from another stream is replaced by a snapshot and reported as a stream reset', async () => {
  const h = harness();
  h.commit(2);
  const old = h.server.streamId;
  h.server.wipe();
  h.commit(1);
  const sub = h.makeSub({ streamId: old, position: 2 });
  sub.start();
  await h.bus.settle();
  assert.equal(h.server.requests.at(-1)?.knownStreamId, old, 'the service sees the stale stream id and answers with a snapshot');
  assert.ok(h.statuses.some((s) => s.type === 'streamReset' && s.from === old));
  assert.equal(sub.streamId, h.server.streamId);
  assert.equal(sub.position, 1);
  await sub.close();
});

test('whenInSync resolves once caught up and rejects on close', async () => {
  const h = harness();
  h.commit(1);
  const waiting = h.sub.whenInSync();
  h.sub.start();
  await waiting;
  h.bus.dropFilter = () => true;
  h.commit(1);
  h.bus.dropFilter = undefined;
  h.server.answering = false;
  h.server.heartbeat(SCOPE);
  await h.bus.settle();
  assert.equal(h.sub.inSync, false);
  assert.equal(h.sub.lag, 1);
  const pending = h.sub.whenInSync();
  await h.sub.close();
  await assert.rejects(pending, { code: 'SDK_CLOSED' });
});

test('await using closes the subscription: a replay in flight is abandoned, waiters are rejected', async () => {
  const h = harness();
  h.server.answering = false; // the bootstrap replay stays in flight
  let pending: Promise<void> | undefined;
  {
    await using sub = h.sub;
    sub.start();
    pending = sub.whenInSync();
  }
  assert.equal(h.sub.state, 'closed');
  await assert.rejects(pending, { code: 'SDK_CLOSED' });
});
