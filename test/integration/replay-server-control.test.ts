// The replay server's defences (docs/design.md §11, wire protocol §7): bad requests get the right error
// and change nothing; flow control aborts a stalled requester without holding others back;
// identical concurrent snapshots share one store read; shutdown ends answers cleanly.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ManualClock, waitFor } from '../../src/core/index.ts';
import { RequestErrorCode, clusterSubjects, encodeReplayRequest, nodeScope } from '../../src/schema/index.ts';
import { ReplayRequestSchema } from '../../src/schema/gen/kubemeta/v1/replay_pb.js';
import { UpdateLog, openLmdbStore, type UpdateStore } from '../../src/log/index.ts';
import { ReplayServer, type ReplayServerOptions } from '../../src/bus/index.ts';
import { startNatsServer, type NatsServer } from '../../src/testing/nats-server.ts';
import { makeTempDir } from '../../src/testing/processes.ts';
import { replay, type ReplayResult } from '../helpers/replay-client.ts';
import { ScopeModel, applyFrames, fillNode, plainFrames, plainState } from '../fixtures/replay-updates.ts';

let nats: NatsServer;
let nc: NatsConnection;
let dir: { path: string; remove: () => Promise<void> };
let store: UpdateStore;
let log: UpdateLog;
const model = new ScopeModel();
const servers: ReplayServer[] = [];
let clusters = 0;

async function startServer(options: Partial<ReplayServerOptions> = {}, onLog: UpdateLog = log): Promise<{ server: ReplayServer; subject: string }> {
  const cluster = `control-${++clusters}`;
  const server = new ReplayServer({ connection: nc, cluster, log: onLog, ...options });
  servers.push(server);
  await server.start();
  return { server, subject: clusterSubjects(cluster).replay };
}

type RawRequest = { scope?: string; after?: bigint; limit?: number; knownStreamId?: string; requestId?: string; maxChunkBytes?: number };
const raw = (r: RawRequest): Uint8Array => toBinary(ReplayRequestSchema, create(ReplayRequestSchema, r));

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  dir = await makeTempDir('replay-control');
  store = await openLmdbStore({ path: join(dir.path, 'store') });
  log = await UpdateLog.open(store);
  await fillNode(log, model, 'big', 200, 1, 200);
  await fillNode(log, model, 'small', 3, 1);
});

after(async () => {
  for (const s of servers) await s.close();
  await nc?.close();
  await log?.close();
  await store?.close();
  await nats?.stop();
  await dir?.remove();
});

describe('replay server defences', () => {
  it('refuses every kind of bad request with its error code and keeps serving', async () => {
    const { server, subject } = await startServer({ maxLimit: 1_000 });
    const smallHead = log.scopeHead('node/small');
    const cases: Array<[string, Uint8Array, number, string]> = [
      ['garbage bytes', new Uint8Array([0xff, 0xff, 0xff, 0x07]), RequestErrorCode.BAD_REQUEST, ''],
      ['no request id', raw({ scope: 'cluster', after: 1n }), RequestErrorCode.BAD_REQUEST, ''],
      ['unknown scope', raw({ scope: 'pods/x', requestId: 'r-scope' }), RequestErrorCode.INVALID_SCOPE, 'r-scope'],
      ['invalid node name', raw({ scope: 'node/Not_A_Node', requestId: 'r-node' }), RequestErrorCode.INVALID_SCOPE, 'r-node'],
      ['after beyond the stream head', raw({ scope: 'node/small', after: BigInt(log.head + 5), requestId: 'r-future' }), RequestErrorCode.VERSION_IN_FUTURE, 'r-future'],
      ['after beyond the scope head', raw({ scope: 'node/small', after: BigInt(smallHead + 1), requestId: 'r-ahead' }), RequestErrorCode.VERSION_IN_FUTURE, 'r-ahead'],
      ['after above 2^53 - 1', raw({ scope: 'cluster', after: 2n ** 60n, requestId: 'r-overflow' }), RequestErrorCode.BAD_REQUEST, 'r-overflow'],
      ['absurd limit', raw({ scope: 'cluster', limit: 4_000_000_000, requestId: 'r-limit' }), RequestErrorCode.INVALID_LIMIT, 'r-limit'],
      ['absurd chunk size', raw({ scope: 'cluster', maxChunkBytes: 10, requestId: 'r-chunk' }), RequestErrorCode.INVALID_LIMIT, 'r-chunk'],
      ['malformed stream id', raw({ scope: 'cluster', knownStreamId: 'not-hex', requestId: 'r-stream' }), RequestErrorCode.BAD_REQUEST, 'r-stream'],
    ];
    for (const [what, bytes, code, requestId] of cases) {
      const r = await replay(nc, subject, bytes);
      assert.equal(r.error?.code, code, what);
      assert.equal(r.messages.length, 1, `${what}: the error is the whole answer`);
      assert.equal(r.messages[0]?.requestId, requestId, `${what}: request id echoed`);
      assert.ok((r.error?.message.length ?? 0) > 10, `${what}: the message says what is wrong`);
    }
    nc.publish(subject, encodeReplayRequest({ scope: nodeScope('small'), after: 0, requestId: 'no-reply' }));
    await waitFor(() => server.stats().droppedNoReply === 1, { what: 'a request without reply subject to be counted and dropped' });
    const ok = await replay(nc, subject, { scope: nodeScope('small'), after: 0, requestId: 'after-errors' });
    assert.deepEqual(plainState(applyFrames(new Map(), ok.snapshot?.frames ?? [])), plainState(model.state('node/small')));
    const s = server.stats();
    assert.deepEqual([s.outcomes.badRequest, s.outcomes.invalidScope, s.outcomes.versionInFuture, s.outcomes.invalidLimit, s.outcomes.completed], [4, 2, 2, 2, 1]);
    assert.equal(log.head, model.chain('cluster').at(-1)?.version, 'nothing was written');
  });

  it('answers BUSY with retry_after_ms to a requester over its rate, and UNAVAILABLE when the service cannot answer', async () => {
    const { subject } = await startServer({ requesterBurst: 1, requesterRatePerSec: 0.01 });
    const first = await replay(nc, subject, { scope: nodeScope('small'), after: 0, requestId: 'rate-1' }, { requester: 'agent-x' });
    assert.ok(first.end);
    const second = await replay(nc, subject, { scope: nodeScope('small'), after: 0, requestId: 'rate-2' }, { requester: 'agent-x' });
    assert.equal(second.error?.code, RequestErrorCode.BUSY);
    assert.ok((second.error?.retryAfterMs ?? 0) > 0);
    const other = await replay(nc, subject, { scope: nodeScope('small'), after: 0, requestId: 'rate-3' }, { requester: 'agent-y' });
    assert.ok(other.end, 'another requester is not limited');

    const down = await startServer({ available: () => false });
    const r = await replay(nc, down.subject, { scope: nodeScope('small'), after: 0, requestId: 'down-1' });
    assert.equal(r.error?.code, RequestErrorCode.UNAVAILABLE);
    assert.ok((r.error?.retryAfterMs ?? 0) > 0);

    const closedStore = await openLmdbStore({ path: join(dir.path, 'closed') });
    const closedLog = await UpdateLog.open(closedStore);
    await closedLog.close();
    const closed = await startServer({}, closedLog);
    const c = await replay(nc, closed.subject, { scope: nodeScope('small'), after: 0, requestId: 'closed-1' });
    assert.equal(c.error?.code, RequestErrorCode.UNAVAILABLE);
    await closed.server.close();
    await closedStore.close();
  });

  it('aborts a requester that stops acking with ABORTED, while other requesters are served meanwhile', async () => {
    const clock = new ManualClock();
    const { server, subject } = await startServer({ clock, ackTimeoutMs: 10_000 });
    let stalledDone = false;
    let received = 0;
    const stalled = replay(nc, subject, { scope: nodeScope('big'), after: 0, requestId: 'stalled', maxChunkBytes: 4096 }, {
      ack: 'never',
      onMessage: () => received++,
    }).finally(() => (stalledDone = true));
    await waitFor(() => received === 4, { what: 'the stalled requester to fill its window of 4' });
    const served = await replay(nc, subject, { scope: nodeScope('big'), after: 0, requestId: 'served', maxChunkBytes: 4096 });
    assert.ok(served.end, 'the other requester got its whole answer');
    assert.equal(stalledDone, false, 'while the stalled one still waits');
    assert.equal(applyFrames(new Map(), served.snapshot?.frames ?? []).size, 200);
    assert.equal(received, 4, 'nothing beyond the window went to the stalled requester');
    await waitFor(() => (clock.advance(10_000), stalledDone), { what: 'the stalled answer to be aborted' });
    const r = await stalled;
    assert.equal(r.error?.code, RequestErrorCode.ABORTED);
    assert.equal(server.stats().aborted, 1);
    assert.equal(server.stats().inFlight, 0);
  });

  it('reads identical concurrent snapshot requests from the store once and fans the chunks out', async () => {
    const { server, subject } = await startServer();
    const acks = gate();
    let started = 0;
    const answers = Array.from({ length: 5 }, (_, i) =>
      replay(nc, subject, { scope: nodeScope('big'), after: 0, requestId: `shared-${i}`, maxChunkBytes: 4096 }, {
        ackGate: acks.promise,
        onMessage: (m) => (started += m.type === 'snapshotStart' ? 1 : 0),
      }),
    );
    await waitFor(() => started === 5, { what: 'all five answers to start their snapshot' });
    acks.open();
    const results: ReplayResult[] = await Promise.all(answers);
    const s = server.stats();
    assert.deepEqual([s.snapshotReads, s.sharedSnapshotHits, s.snapshotsSent], [1, 4, 5]);
    const first = results[0] as ReplayResult;
    for (const r of results) {
      assert.equal(r.snapshot?.version, first.snapshot?.version);
      assert.deepEqual(plainFrames(r.snapshot?.frames ?? []), plainFrames(first.snapshot?.frames ?? []));
    }
    assert.deepEqual(plainState(applyFrames(new Map(), first.snapshot?.frames ?? [])), plainState(model.state('node/big')));
  });

  it('detaches a requester that lags behind a shared snapshot read instead of holding the others back', async () => {
    const clock = new ManualClock();
    // Reads of 4 entries, a buffer of 8 of them, one unacked response: the slow requester stalls
    // with the read still joinable (its first chunk buffered), the fast one joins and overtakes.
    const { server, subject } = await startServer({ clock, sharedSnapshotChunks: 8, snapshotReadEntries: 4, maxUnackedResponses: 1 });
    let slowStarted = false;
    const slow = replay(nc, subject, { scope: nodeScope('big'), after: 0, requestId: 'slow', maxChunkBytes: 4096 }, {
      ack: 'never',
      onMessage: (m) => (slowStarted ||= m.type === 'snapshotStart'),
    });
    await waitFor(() => slowStarted, { what: 'the slow requester to start' });
    await waitFor(() => server.stats().snapshotReads === 1 && server.stats().bytes > 0, { what: 'the slow answer to read ahead' });
    const fast = await replay(nc, subject, { scope: nodeScope('big'), after: 0, requestId: 'fast', maxChunkBytes: 4096 });
    assert.equal(applyFrames(new Map(), fast.snapshot?.frames ?? []).size, 200, 'the fast requester got everything');
    const r = await slow;
    assert.equal(r.error?.code, RequestErrorCode.ABORTED, 'the laggard is told to ask again (no ack timeout involved)');
    const s = server.stats();
    assert.deepEqual([s.snapshotReads, s.sharedSnapshotHits, s.sharedSnapshotLagAborts], [1, 1, 1]);
  });

  it('close() ends answers in flight with ABORTED; drain() lets them finish; an aborted signal closes', async () => {
    const held = gate();
    const a = await startServer({ maxUnackedResponses: 1 });
    let aStarted = false;
    const aborted = replay(nc, a.subject, { scope: nodeScope('big'), after: 0, requestId: 'closing', maxChunkBytes: 4096 }, {
      ackGate: held.promise,
      onMessage: () => (aStarted = true),
    });
    await waitFor(() => aStarted, { what: 'the answer to start' });
    await a.server.close();
    assert.equal((await aborted).error?.code, RequestErrorCode.ABORTED);
    assert.equal(a.server.state, 'closed');

    const b = await startServer({ maxUnackedResponses: 1 });
    const drainAcks = gate();
    let bStarted = false;
    const finished = replay(nc, b.subject, { scope: nodeScope('big'), after: 0, requestId: 'draining', maxChunkBytes: 4096 }, {
      ackGate: drainAcks.promise,
      onMessage: () => (bStarted = true),
    });
    await waitFor(() => bStarted, { what: 'the answer to start' });
    const drained = b.server.drain();
    assert.equal(b.server.state, 'draining');
    drainAcks.open();
    await drained;
    assert.ok((await finished).end, 'the answer in flight completed');
    assert.equal(b.server.state, 'closed');
    held.open();

    const stop = new AbortController();
    const c = await startServer({ signal: stop.signal });
    stop.abort();
    await waitFor(() => c.server.state === 'closed', { what: 'the aborted signal to close the server' });
  });
});
