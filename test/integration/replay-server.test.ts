// The replay server against a real nats-server and an LMDB-backed UpdateLog (docs/design.md §4, §7, §9;
// wire protocol §7): tails, snapshots, compaction, stream ids, limits, empty scopes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ManualClock, waitFor } from '../../src/core/index.ts';
import { CLUSTER_SCOPE, clusterSubjects, newStreamId, nodeScope, parseStreamId } from '../../src/schema/index.ts';
import { UpdateLog, openLmdbStore, type UpdateStore } from '../../src/log/index.ts';
import { ReplayServer, type ReplayServerOptions } from '../../src/bus/index.ts';
import { startNatsServer, type NatsServer } from '../../src/testing/nats-server.ts';
import { makeTempDir } from '../../src/testing/processes.ts';
import { replay, catchUp } from '../helpers/replay-client.ts';
import { ScopeModel, applyFrames, commit, fillNode, pending, plainFrames, plainState, pod, podExit } from '../fixtures/replay-updates.ts';

let nats: NatsServer;
let nc: NatsConnection;
let dir: { path: string; remove: () => Promise<void> };
let store: UpdateStore;
let log: UpdateLog;
const clock = new ManualClock(1_000_000);
const model = new ScopeModel();
const servers: ReplayServer[] = [];
let clusters = 0;

/** A replay server on a cluster name of its own, so each test has its own subject. */
async function startServer(options: Partial<ReplayServerOptions> = {}): Promise<{ server: ReplayServer; subject: string }> {
  const cluster = `replay-${++clusters}`;
  const server = new ReplayServer({ connection: nc, cluster, log, ...options });
  servers.push(server);
  await server.start();
  return { server, subject: clusterSubjects(cluster).replay };
}

before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  dir = await makeTempDir('replay');
  store = await openLmdbStore({ path: join(dir.path, 'store') });
  log = await UpdateLog.open(store, { clock });
});

after(async () => {
  for (const s of servers) await s.close();
  await nc?.close();
  await log?.close();
  await store?.close();
  await nats?.stop();
  await dir?.remove();
});

describe('replay server', () => {
  it('answers a tail request with exactly the committed chain after `after`', async () => {
    const { subject } = await startServer();
    await fillNode(log, model, 'tail-a', 20, 5, 200);
    const chain = model.chain('node/tail-a');
    const from = (chain[30] as { version: number }).version;
    const r = await replay(nc, subject, { scope: nodeScope('tail-a'), after: from, requestId: 'tail-1', maxChunkBytes: 4096 });
    assert.equal(r.snapshot, undefined);
    assert.deepEqual(plainFrames(r.tail), plainFrames(model.chain('node/tail-a', from)));
    assert.deepEqual(r.end, { head: log.scopeHead('node/tail-a'), lastVersion: log.scopeHead('node/tail-a') });
    assert.ok(r.messages.length > 3, 'several chunks');
    assert.ok(r.messages.every((m) => m.streamId === log.streamId && m.requestId === 'tail-1'));
  });

  it('answers after = 0 with a snapshot of the current state (tombstones flagged, exits absent), then the tail', async () => {
    // One unacknowledged response at a time: the tail is read only after the gated acks.
    const { subject } = await startServer({ maxUnackedResponses: 1 });
    await fillNode(log, model, 'snap-a', 12, 2);
    await commit(log, model, [pending(pod('snap-a-p1', 'snap-a', 9, true), ['cluster', 'node/snap-a'])]);
    await commit(log, model, [pending(podExit('snap-a-p2'), ['node/snap-a']), pending(pod('snap-a-p2', 'snap-b', 3), ['cluster', 'node/snap-b'])]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const answer = replay(nc, subject, { scope: nodeScope('snap-a'), after: 0, requestId: 'snap-1', maxChunkBytes: 4096 }, {
      ackGate: gate,
      onMessage: (m) => (started ||= m.type === 'snapshotStart'),
    });
    await waitFor(() => started, { what: 'snapshot_start' });
    const snapshotState = plainState(model.state('node/snap-a'));
    await commit(log, model, [pending(pod('snap-a-p3', 'snap-a', 7), ['cluster', 'node/snap-a'])]);
    release();
    const r = await answer;
    assert.ok(r.snapshot);
    const state = applyFrames(new Map(), r.snapshot.frames);
    assert.deepEqual(plainState(state), snapshotState);
    assert.equal(state.get('Pod/snap-a-p1')?.deleted, true, 'a deleted pod is in the snapshot, flagged by stop_time_ns');
    assert.equal(state.has('Pod/snap-a-p2'), false, 'a pod that left the scope is absent');
    assert.ok(r.snapshot.frames.every((f) => f.prevVersion === 0));
    assert.equal(r.tail.length, 1, 'the update committed after the snapshot version arrives as tail');
    applyFrames(state, r.tail);
    assert.deepEqual(plainState(state), plainState(model.state('node/snap-a')));
    assert.deepEqual(r.end, { head: log.scopeHead('node/snap-a'), lastVersion: log.scopeHead('node/snap-a') });
  });

  it('answers with a snapshot when the requested history was compacted, and the consumer converges', async () => {
    const { subject } = await startServer();
    await fillNode(log, model, 'compact-a', 10, 3);
    const old = (model.chain('node/compact-a')[5] as { version: number }).version;
    await commit(log, model, [pending(pod('compact-a-p4', 'compact-a', 9, true), ['cluster', 'node/compact-a'])]);
    await fillNode(log, model, 'compact-b', 5, 40);
    await log.compact({ keepUpdates: 50 });
    const r = await catchUp(nc, subject, { scope: nodeScope('compact-a'), after: old, requestId: 'compact-1' });
    assert.ok(r.snapshot, 'a snapshot replaces the compacted history');
    const state = applyFrames(applyFrames(new Map(), r.snapshot.frames), r.tail);
    assert.deepEqual(plainState(state), plainState(model.state('node/compact-a')));
    assert.equal(state.get('Pod/compact-a-p4')?.deleted, true);

    clock.advance(60_000);
    await log.compact({ keepUpdates: 50, tombstoneRetentionMs: 1_000 });
    const again = await catchUp(nc, subject, { scope: nodeScope('compact-a'), after: 0, requestId: 'compact-2' });
    const fresh = applyFrames(applyFrames(new Map(), again.snapshot?.frames ?? []), again.tail);
    assert.equal(fresh.has('Pod/compact-a-p4'), false, 'a tombstone past retention is absent: deleted objects are gone');
    assert.equal(fresh.size, 9);
    model.forgetTombstones();
  });

  it('answers with a snapshot when known_stream_id is from another stream, whatever `after` says', async () => {
    const { subject } = await startServer();
    await fillNode(log, model, 'stream-a', 4, 2);
    const r = await replay(nc, subject, { scope: nodeScope('stream-a'), after: log.head + 1000, knownStreamId: newStreamId(), requestId: 'stream-1' });
    assert.ok(r.snapshot);
    assert.deepEqual(plainState(applyFrames(new Map(), r.snapshot.frames)), plainState(model.state('node/stream-a')));
    const same = await replay(nc, subject, { scope: nodeScope('stream-a'), after: log.scopeHead('node/stream-a'), knownStreamId: parseStreamId(log.streamId), requestId: 'stream-2' });
    assert.equal(same.snapshot, undefined);
    assert.deepEqual([same.tail.length, same.end?.lastVersion], [0, log.scopeHead('node/stream-a')]);
  });

  it('cuts the tail at `limit` (last_version < head) and a follow-up request completes it', async () => {
    const { subject } = await startServer();
    await fillNode(log, model, 'limit-a', 10, 3);
    const first = (model.chain('node/limit-a')[0] as { version: number }).version;
    const r = await replay(nc, subject, { scope: nodeScope('limit-a'), after: first, limit: 7, requestId: 'limit-1' });
    assert.equal(r.tail.length, 7);
    assert.ok(r.end && r.end.lastVersion < r.end.head);
    assert.equal(r.end.lastVersion, (r.tail.at(-1) as { version: number }).version);
    const rest = await replay(nc, subject, { scope: nodeScope('limit-a'), after: r.end.lastVersion, requestId: 'limit-2' });
    assert.deepEqual(plainFrames([...r.tail, ...rest.tail]), plainFrames(model.chain('node/limit-a', first)));
    assert.equal(rest.end?.lastVersion, rest.end?.head);
  });

  it('ends the answer for a scope that never had an update with head 0', async () => {
    const { subject } = await startServer();
    const r = await replay(nc, subject, { scope: nodeScope('never-seen'), after: 0, requestId: 'empty-1' });
    assert.deepEqual(r.end, { head: 0, lastVersion: 0 });
    assert.deepEqual(r.snapshot, { version: 0, frames: [] });
    assert.equal(r.tail.length, 0);
  });

  it('serves the cluster scope like any other', async () => {
    const { subject } = await startServer();
    const r = await catchUp(nc, subject, { scope: CLUSTER_SCOPE, after: 0, requestId: 'cluster-1' });
    const state = applyFrames(applyFrames(new Map(), r.snapshot?.frames ?? []), r.tail);
    assert.deepEqual(plainState(state), plainState(model.state('cluster')));
  });
});
