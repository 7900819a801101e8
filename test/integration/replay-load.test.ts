// 500 agents asking for replay at once (issue 4 "Done means"): every one is served, either at
// once or after BUSY + retry_after_ms; every answer is correct. Wall time is reported, not
// asserted (speed belongs in bench/).
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { CLUSTER_SCOPE, clusterSubjects, nodeScope } from '../../src/schema/index.ts';
import { UpdateLog, openLmdbStore, type UpdateStore } from '../../src/log/index.ts';
import { ReplayServer } from '../../src/bus/index.ts';
import { startNatsServer, type NatsServer } from '../../src/testing/nats-server.ts';
import { makeTempDir } from '../../src/testing/processes.ts';
import { catchUp } from '../helpers/replay-client.ts';
import { ScopeModel, applyFrames, fillNode, plainState } from '../fixtures/replay-updates.ts';

const AGENTS = 500;
const PER_CONNECTION = 50;
const NODES = 50;
const PODS_PER_NODE = 20;

let nats: NatsServer;
let serverNc: NatsConnection;
const clients: NatsConnection[] = [];
let dir: { path: string; remove: () => Promise<void> };
let store: UpdateStore;
let log: UpdateLog;
let server: ReplayServer;
const model = new ScopeModel();

before(async () => {
  nats = await startNatsServer();
  serverNc = await connect({ servers: nats.url });
  for (let i = 0; i < AGENTS / PER_CONNECTION; i++) clients.push(await connect({ servers: nats.url }));
  dir = await makeTempDir('replay-load');
  store = await openLmdbStore({ path: join(dir.path, 'store') });
  log = await UpdateLog.open(store);
  for (let n = 0; n < NODES; n++) await fillNode(log, model, `n${n}`, PODS_PER_NODE, 2, 300);
  server = new ReplayServer({ connection: serverNc, cluster: 'load', log, maxQueuedRequests: 200, busyRetryAfterMs: 200 });
  await server.start();
});

after(async () => {
  await server?.close();
  for (const c of clients) await c.close();
  await serverNc?.close();
  await log?.close();
  await store?.close();
  await nats?.stop();
  await dir?.remove();
});

it('serves 500 agents that ask for replay at once (BUSY ones complete on retry)', async (t) => {
  const subject = clusterSubjects('load').replay;
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: AGENTS }, async (_, i) => {
      const nc = clients[Math.floor(i / PER_CONNECTION)] as NatsConnection;
      // Every tenth agent is a cluster client; the others bootstrap their node.
      const scope = i % 10 === 0 ? CLUSTER_SCOPE : nodeScope(`n${i % NODES}`);
      const r = await catchUp(nc, subject, { scope, after: 0, requestId: `agent-${i}` }, { requester: `agent-${i}`, silenceMs: 30_000 });
      return { scope: i % 10 === 0 ? 'cluster' : `node/n${i % NODES}`, r };
    }),
  );
  const wallMs = performance.now() - started;
  for (const { scope, r } of results) {
    const state = applyFrames(applyFrames(new Map(), r.snapshot?.frames ?? []), r.tail);
    assert.deepEqual(plainState(state), plainState(model.state(scope)), scope);
  }
  const busy = results.reduce((n, x) => n + x.r.busy, 0);
  const s = server.stats();
  assert.equal(s.outcomes.completed, AGENTS);
  assert.equal(s.outcomes.busy, busy);
  assert.ok(s.peakInFlight <= 64);
  t.diagnostic(
    `500 agents: ${wallMs.toFixed(0)} ms wall; ${busy} BUSY answers retried; peak ${s.peakInFlight} answers in flight; ` +
      `${s.snapshotReads} snapshot reads for ${s.snapshotsSent} snapshots (${s.sharedSnapshotHits} shared); ${(s.bytes / 1e6).toFixed(1)} MB sent`,
  );
});
