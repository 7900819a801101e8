// Process lifecycle from agents (wire-protocol §12) at the service's process registry, with a
// real nats-server, an LMDB-backed log and the real agent registry: what an agent may report
// (its own ASID, its node's containers), the per-node rate limit and caps with their codes,
// retention, durability across a reopen, and that reports never move the versioned log.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ManualClock, waitFor } from '../../src/core/index.ts';
import {
  ProcessErrorCode,
  clusterSubjects,
  decodeProcessQueryResponse,
  decodeProcessReportResponse,
  decodeRegisterAgentResponse,
  encodeProcessQuery,
  encodeProcessReport,
  encodeRegisterAgentRequest,
  type ProcessInfo,
  type ProcessQuery,
  type ProcessReportResult,
  type Upid,
} from '../../src/schema/index.ts';
import { UpdateLog, openLmdbStore, type UpdateStore } from '../../src/log/index.ts';
import { AgentRegistry, ProcessRegistry, type ProcessPodView, type ProcessRegistryOptions } from '../../src/bus/index.ts';
import { startNatsServer, type NatsServer } from '../../src/testing/nats-server.ts';
import { makeTempDir } from '../../src/testing/processes.ts';

const CLUSTER = 'procs';
const subjects = clusterSubjects(CLUSTER);
const NODE_A = 'node-a.example';
const NODE_B = 'node-b.example';
const HOUR = 3_600_000;

let nats: NatsServer;
let nc: NatsConnection;
let dir: { path: string; remove: () => Promise<void> };
let store: UpdateStore;
let log: UpdateLog;
let agents: AgentRegistry;
let registry: ProcessRegistry;
let asidA: number;
let asidB: number;
const clock = new ManualClock(1_700_000_000_000);
/** The service's view of pods: pod-a1 (2 containers) and pod-a2 on node A, pod-b1 on node B. */
const pods = new Map<string, ProcessPodView>([
  ['pod-a1', { nodeName: NODE_A, containers: [{ containerId: 'ca1' }, { containerId: 'ca1b' }] }],
  ['pod-a2', { nodeName: NODE_A, containers: [{ containerId: 'ca2' }] }],
  ['pod-b1', { nodeName: NODE_B, containers: [{ containerId: 'cb1' }] }],
]);

async function open(options: Partial<ProcessRegistryOptions> = {}): Promise<void> {
  store = await openLmdbStore({ path: join(dir.path, 'store') });
  log = await UpdateLog.open(store);
  agents = new AgentRegistry({ connection: nc, cluster: CLUSTER, log });
  await agents.start();
  registry = new ProcessRegistry({
    connection: nc, cluster: CLUSTER, log, clock, nodeOfAsid: (a) => agents.nodeOfAsid(a), pod: (uid) => pods.get(uid),
    flushIntervalMs: 10, sweepIntervalMs: HOUR, ...options,
  });
  await registry.start();
}

async function shut(): Promise<void> {
  await registry?.close();
  await agents?.close();
  await log?.close();
  await store?.close();
}

async function register(node: string, instance: string): Promise<number> {
  const r = decodeRegisterAgentResponse((await nc.request(subjects.agentsRegister, encodeRegisterAgentRequest({ nodeName: node, agentInstanceId: instance, hostname: node }), { timeout: 5_000 })).data);
  if (!r.ok) throw new Error(r.error.message);
  return r.asid;
}

let nextPid = 100;
function start(asid: number, podUid: string, containerId: string, commandLine = `/bin/app --n=${nextPid}`): ProcessInfo {
  const pid = nextPid++;
  return { upid: { asid, pid, startTimeTicks: 5_000 + pid }, containerId, podUid, commandLine, startTimeNs: BigInt(clock.now()) * 1_000_000n, stopTimeNs: 0n, nodeName: '' };
}
const stop = (p: ProcessInfo): ProcessInfo => ({ ...p, stopTimeNs: BigInt(clock.now()) * 1_000_000n });

async function report(node: string, processes: ProcessInfo[], reportNode = node): Promise<ProcessReportResult> {
  const reply = await nc.request(subjects.processReports(node), encodeProcessReport({ nodeName: reportNode, processes }), { timeout: 5_000 });
  return decodeProcessReportResponse(reply.data);
}

async function query(q: ProcessQuery): Promise<ProcessInfo[]> {
  const subject = 'upid' in q ? subjects.processByUpid : subjects.processesOfPod;
  const r = decodeProcessQueryResponse((await nc.request(subject, encodeProcessQuery(q), { timeout: 5_000 })).data);
  if (!r.ok) throw new Error(r.error.message);
  return [...r.processes];
}

function accepted(r: ProcessReportResult, n: number): void {
  assert.ok(r.ok, `refused: ${r.ok ? '' : r.error.message}`);
  assert.deepEqual(r.rejected, [], 'nothing rejected');
  assert.equal(r.accepted, n);
}

function rejectedWith(r: ProcessReportResult, code: ProcessErrorCode, upid: Upid): void {
  assert.ok(r.ok, 'a per-process refusal, not a whole-report one');
  assert.equal(r.accepted, 0);
  assert.equal(r.rejected.length, 1);
  assert.equal(r.rejected[0]?.code, code, r.rejected[0]?.message);
  assert.deepEqual(r.rejected[0]?.upid, upid);
}

before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  dir = await makeTempDir('processes');
  await open({ maxLivePerNode: 6, maxStoppedPerNode: 3, reportRate: 10, reportBurst: 128, retentionMs: HOUR });
  asidA = await register(NODE_A, 'agent-a');
  asidB = await register(NODE_B, 'agent-b');
});

after(async () => {
  await shut();
  await nc?.close();
  await nats?.stop();
  await dir?.remove();
});

describe('process reports', () => {
  it('stores a start of the node’s own container and answers it by pod and by UPID, without a new version', async () => {
    const head = log.head;
    const p = start(asidA, 'pod-a1', 'ca1', '/usr/bin/nginx -g daemon off;');
    accepted(await report(NODE_A, [p]), 1);
    const byPod = await query({ podUid: 'pod-a1' });
    assert.equal(byPod.length, 1);
    assert.equal(byPod[0]?.commandLine, '/usr/bin/nginx -g daemon off;');
    assert.equal(byPod[0]?.nodeName, NODE_A, 'the node comes from the subject');
    assert.deepEqual((await query({ upid: p.upid }))[0]?.upid, p.upid);
    assert.deepEqual(await query({ upid: { ...p.upid, pid: 99_999 } }), [], 'an unknown UPID answers empty');
    accepted(await report(NODE_A, [p]), 1); // idempotent
    assert.equal((await query({ podUid: 'pod-a1' })).length, 1);
    assert.equal(log.head, head, 'process reports never take a version (not in the update stream)');
  });

  it('refuses another agent’s ASID and unregistered ASIDs with WRONG_ASID', async () => {
    const ofB = start(asidB, 'pod-a1', 'ca1');
    rejectedWith(await report(NODE_A, [ofB]), ProcessErrorCode.WRONG_ASID, ofB.upid);
    const unknown = start(asidB + 1000, 'pod-a1', 'ca1');
    rejectedWith(await report(NODE_A, [unknown]), ProcessErrorCode.WRONG_ASID, unknown.upid);
    assert.deepEqual(await query({ upid: ofB.upid }), []);
  });

  it('refuses containers of another node’s pod, of no pod, or not of the named pod with FOREIGN_CONTAINER', async () => {
    for (const p of [start(asidA, 'pod-b1', 'cb1'), start(asidA, 'pod-gone', 'cx'), start(asidA, 'pod-a1', 'ca2')]) {
      rejectedWith(await report(NODE_A, [p]), ProcessErrorCode.FOREIGN_CONTAINER, p.upid);
    }
    // Node B's agent cannot pass node A's container off as its own either.
    const p = start(asidB, 'pod-a1', 'ca1');
    rejectedWith(await report(NODE_B, [p]), ProcessErrorCode.FOREIGN_CONTAINER, p.upid);
    assert.equal(registry.stats().refused['FOREIGN_CONTAINER'], 4);
  });

  it('refuses a report naming another node than its subject with BAD_REQUEST', async () => {
    const r = await report(NODE_A, [start(asidB, 'pod-b1', 'cb1')], NODE_B);
    assert.ok(!r.ok);
    assert.equal(r.error.code, ProcessErrorCode.BAD_REQUEST);
  });

  it('caps live processes per node with NODE_CAP, and a stop frees a slot', async () => {
    const live = (await query({ podUid: 'pod-a1' })).length + (await query({ podUid: 'pod-a2' })).length;
    const fill = Array.from({ length: 6 - live }, () => start(asidA, 'pod-a2', 'ca2'));
    accepted(await report(NODE_A, fill), fill.length);
    const over = start(asidA, 'pod-a2', 'ca2');
    rejectedWith(await report(NODE_A, [over]), ProcessErrorCode.NODE_CAP, over.upid);
    accepted(await report(NODE_A, [stop(fill[0] as ProcessInfo)]), 1);
    accepted(await report(NODE_A, [over]), 1);
    assert.equal(registry.stats().live, 6);
  });

  it('keeps at most maxStoppedPerNode stopped processes per node, dropping the earliest-stopped', async () => {
    const all = await query({ podUid: 'pod-a2', includeStopped: true });
    const running = all.filter((p) => p.stopTimeNs === 0n);
    for (const p of running.slice(0, 4)) {
      clock.advance(1_000);
      accepted(await report(NODE_A, [stop(p)]), 1);
    }
    const stopped = (await query({ podUid: 'pod-a2', includeStopped: true })).filter((p) => p.stopTimeNs !== 0n);
    assert.equal(stopped.length, 3);
    assert.ok(registry.stats().evicted >= 2);
    assert.deepEqual(await query({ upid: (all.find((p) => p.stopTimeNs !== 0n) as ProcessInfo).upid }), [], 'the earliest-stopped went first');
  });

  it('rate-limits process events per node with RATE_LIMITED and a retry time, taking nothing of the report', async () => {
    clock.advance(60_000); // a full bucket: 128 events
    const stops = Array.from({ length: 128 }, () => ({ ...start(asidB, 'pod-b1', 'cb1'), stopTimeNs: 1n }));
    accepted(await report(NODE_B, stops), 128);
    const next = start(asidB, 'pod-b1', 'cb1');
    const r = await report(NODE_B, [next]);
    assert.ok(!r.ok, 'refused as a whole');
    assert.equal(r.error.code, ProcessErrorCode.RATE_LIMITED);
    assert.ok(r.error.retryAfterMs > 0 && r.error.retryAfterMs <= 100, `retry after ${r.error.retryAfterMs} ms (10 events/s)`);
    assert.deepEqual(await query({ upid: next.upid }), []);
    const a = start(asidA, 'pod-a1', 'ca1b');
    accepted(await report(NODE_A, [a]), 1); // another node's agent is not held back
    clock.advance(r.error.retryAfterMs);
    accepted(await report(NODE_B, [next]), 1);
    assert.equal(registry.stats().refused['RATE_LIMITED'], 1);
  });

  it('survives a reopen of the store, then drops what stopped longer ago than the retention', async () => {
    const before = await query({ podUid: 'pod-a1', includeStopped: true });
    const b = await query({ podUid: 'pod-b1', includeStopped: true });
    assert.ok(before.length > 0 && b.length > 0);
    await waitFor(() => registry.stats().commits > 0 && registry.stats().failedCommits === 0, { what: 'stored', timeoutMs: 5_000 });
    await shut();
    await open({ maxLivePerNode: 6, maxStoppedPerNode: 1_000, reportRate: 10, reportBurst: 128, retentionMs: HOUR });
    assert.deepEqual(await query({ podUid: 'pod-a1', includeStopped: true }), before, 'the same processes after a restart');
    // Node B's stops (stop time 1 ns: long before the retention) are not loaded back; its live one is.
    assert.ok(b.some((p) => p.stopTimeNs !== 0n));
    assert.deepEqual(await query({ podUid: 'pod-b1', includeStopped: true }), b.filter((p) => p.stopTimeNs === 0n));

    // A pod the service no longer knows: its live processes are stopped by the sweep, then expire.
    pods.delete('pod-a1');
    registry.sweep();
    assert.deepEqual(await query({ podUid: 'pod-a1' }), [], 'no live process of a deleted pod');
    assert.ok((await query({ podUid: 'pod-a1', includeStopped: true })).every((p) => p.stopTimeNs !== 0n));
    clock.advance(HOUR + 1);
    registry.sweep();
    assert.deepEqual(await query({ podUid: 'pod-a1', includeStopped: true }), []);
    await registry.close();
    const stored = await log.listMeta('proc/', { limit: 10_000 });
    const kept = registry.stats().live + registry.stats().stopped;
    assert.equal(stored.entries.length, kept, 'the store holds exactly what the registry keeps: expired ones are deleted there too');
  });
});
