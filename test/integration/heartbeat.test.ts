// Scope heartbeats (wire protocol §6.1) on a real nats-server: an empty payload with the stream
// id and the scope head in headers, for every scope that had updates; none while the publisher
// is not live or before a head is published; a full round after a reconnect.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { ManualClock, waitFor } from '../../src/core/index.ts';
import { clusterSubjects, parseScopeSubject, formatScope } from '../../src/schema/index.ts';
import { UpdateLog, openLmdbStore, type UpdateStore } from '../../src/log/index.ts';
import { HEARTBEAT_HEAD_HEADER, HEARTBEAT_STREAM_HEADER, ScopeHeartbeat, type PublisherStats } from '../../src/bus/index.ts';
import { startNatsServer, type NatsServer } from '../../src/testing/nats-server.ts';
import { makeTempDir } from '../../src/testing/processes.ts';
import { ScopeModel, fillNode } from '../fixtures/replay-updates.ts';

let nats: NatsServer;
let pub: NatsConnection;
let sub: NatsConnection;
let dir: { path: string; remove: () => Promise<void> };
let store: UpdateStore;
let log: UpdateLog;
const beats: Array<{ scope: string; stream: string; head: number; bytes: number }> = [];
const heartbeats: ScopeHeartbeat[] = [];

function record(msg: Msg): void {
  beats.push({
    scope: formatScope(parseScopeSubject(msg.subject).scope),
    stream: msg.headers?.get(HEARTBEAT_STREAM_HEADER) ?? '',
    head: Number(msg.headers?.get(HEARTBEAT_HEAD_HEADER)),
    bytes: msg.data.length,
  });
}

function lastBeat(scope: string): { stream: string; head: number; bytes: number } | undefined {
  const b = beats.findLast((x) => x.scope === scope);
  return b && { stream: b.stream, head: b.head, bytes: b.bytes };
}

/** Advances the manual clock one tick at a time until `predicate` holds. */
async function tickUntil(clock: ManualClock, tickMs: number, predicate: () => boolean, what: string): Promise<void> {
  await waitFor(
    async () => {
      await pub.flush();
      await sub.flush();
      if (predicate()) return true;
      clock.advance(tickMs);
      return false;
    },
    { what },
  );
}

before(async () => {
  nats = await startNatsServer();
  pub = await connect({ servers: nats.url, reconnectTimeWait: 50, maxReconnectAttempts: -1 });
  sub = await connect({ servers: nats.url, reconnectTimeWait: 50, maxReconnectAttempts: -1 });
  sub.subscribe('kubemeta.hb.>', { callback: (err, msg) => void (err ?? record(msg)) });
  await sub.flush();
  dir = await makeTempDir('heartbeat');
  store = await openLmdbStore({ path: join(dir.path, 'store') });
  log = await UpdateLog.open(store);
  const model = new ScopeModel();
  for (const node of ['hb-1', 'hb-2', 'hb-3']) await fillNode(log, model, node, 3);
});

after(async () => {
  for (const h of heartbeats) await h.close();
  await pub?.close();
  await sub?.close();
  await log?.close();
  await store?.close();
  await nats?.stop();
  await dir?.remove();
});

describe('scope heartbeats', () => {
  it('announce each scope head with an empty payload, spread over the interval, and follow new commits', async () => {
    const clock = new ManualClock();
    const hb = new ScopeHeartbeat({ connection: pub, cluster: 'hb', streamId: log.streamId, heads: log, intervalMs: 1_000, ticksPerInterval: 4, clock });
    heartbeats.push(hb);
    hb.start();
    const scopes = ['cluster', 'node/hb-1', 'node/hb-2', 'node/hb-3'];
    await tickUntil(clock, 250, () => scopes.every((s) => lastBeat(s)?.head === log.scopeHead(s)), 'a heartbeat on every scope');
    for (const s of scopes) assert.deepEqual(lastBeat(s), { stream: log.streamId, head: log.scopeHead(s), bytes: 0 }, s);
    await fillNode(log, new ScopeModel(), 'hb-2', 1);
    await tickUntil(clock, 250, () => lastBeat('node/hb-2')?.head === log.scopeHead('node/hb-2'), 'the new head of node/hb-2');
    await tickUntil(clock, 250, () => hb.stats().rounds >= 1, 'a whole spread round');
    assert.equal(hb.stats().fullRounds, 1);
    for (const sc of scopes) assert.ok(beats.filter((b) => b.scope === sc).length >= 2, `${sc}: the start round and the spread round`);
    await hb.close();
  });

  it('stay silent while the publisher is not live, and never announce a head before it is published', async () => {
    const clock = new ManualClock();
    let stats: Pick<PublisherStats, 'state' | 'publishedVersion'> = { state: 'disconnected', publishedVersion: log.head };
    const hb = new ScopeHeartbeat({ connection: pub, cluster: 'hb', streamId: log.streamId, heads: log, publisher: { stats: () => stats }, intervalMs: 100, ticksPerInterval: 1, clock });
    heartbeats.push(hb);
    hb.start();
    await waitFor(() => clock.pendingSleeps === 1, { what: 'the heartbeat loop to sleep' });
    for (let i = 0; i < 3; i++) {
      clock.advance(100);
      await waitFor(() => clock.pendingSleeps === 1, { what: 'a tick to run' });
    }
    assert.equal(hb.stats().messages, 0, 'nothing while disconnected');
    stats = { state: 'live', publishedVersion: log.scopeHead('node/hb-1') };
    await tickUntil(clock, 100, () => hb.stats().fullRounds === 1 && hb.stats().skipped > 0, 'a round with the publisher live');
    assert.ok(hb.stats().messages >= 1, 'scopes published up to their head got one');
    assert.ok(hb.stats().skipped >= 1, 'scopes whose head is not published yet were skipped');
    await hb.close();
  });

  it('send a full round after a NATS reconnect', async () => {
    const clock = new ManualClock();
    const hb = new ScopeHeartbeat({ connection: pub, cluster: 'hb', streamId: log.streamId, heads: log, intervalMs: 60_000, ticksPerInterval: 1, clock });
    heartbeats.push(hb);
    hb.start();
    await waitFor(() => hb.stats().fullRounds === 1, { what: 'the round at start' });
    await nats.kill();
    await nats.start();
    await tickUntil(clock, 1_000, () => hb.stats().fullRounds === 2, 'the round after the reconnect');
    await hb.close();
  });
});
