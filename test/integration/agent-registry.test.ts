// The agent registry (wire protocol §8) with a real nats-server and an LMDB-backed log: ASIDs
// are ≥ 1 and unique, the same (node, instance) gets its ASID back — also after the log is
// closed and reopened on the same store — and bad registrations get an error answer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { RequestErrorCode, clusterSubjects, decodeRegisterAgentResponse, encodeRegisterAgentRequest, type RegisterAgentResult } from '../../src/schema/index.ts';
import { RegisterAgentRequestSchema } from '../../src/schema/gen/kubemeta/v1/agents_pb.js';
import { UpdateLog, openLmdbStore, type UpdateStore } from '../../src/log/index.ts';
import { AgentRegistry } from '../../src/bus/index.ts';
import { startNatsServer, type NatsServer } from '../../src/testing/nats-server.ts';
import { makeTempDir } from '../../src/testing/processes.ts';

let nats: NatsServer;
let nc: NatsConnection;
let dir: { path: string; remove: () => Promise<void> };
let store: UpdateStore;
let log: UpdateLog;
let registry: AgentRegistry;
const subject = clusterSubjects('agents').agentsRegister;

async function open(): Promise<void> {
  store = await openLmdbStore({ path: join(dir.path, 'store') });
  log = await UpdateLog.open(store);
  registry = new AgentRegistry({ connection: nc, cluster: 'agents', log });
  await registry.start();
}

async function shut(): Promise<void> {
  await registry?.close();
  await log?.close();
  await store?.close();
}

async function register(node: string, instance: string, hostname = node): Promise<RegisterAgentResult> {
  const reply = await nc.request(subject, encodeRegisterAgentRequest({ nodeName: node, agentInstanceId: instance, hostname }), { timeout: 10_000 });
  return decodeRegisterAgentResponse(reply.data);
}

/** Sends a registration the client-side encoder would refuse. */
async function registerRaw(init: { nodeName?: string; agentInstanceId?: string }): Promise<RegisterAgentResult> {
  const bytes = toBinary(RegisterAgentRequestSchema, create(RegisterAgentRequestSchema, init));
  return decodeRegisterAgentResponse((await nc.request(subject, bytes, { timeout: 10_000 })).data);
}

async function asidOf(node: string, instance: string): Promise<number> {
  const r = await register(node, instance);
  if (!r.ok) throw new Error(`registration refused: ${r.error.message}`);
  assert.equal(r.streamId, log.streamId, 'the answer carries the stream id');
  return r.asid;
}

before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  dir = await makeTempDir('agents');
  await open();
});

after(async () => {
  await shut();
  await nc?.close();
  await nats?.stop();
  await dir?.remove();
});

describe('agent registry', () => {
  it('gives new agents distinct ASIDs ≥ 1 and the same agent its ASID again', async () => {
    const a = await asidOf('node-1.example.internal', 'agent-a');
    const b = await asidOf('node-1.example.internal', 'agent-b');
    const c = await asidOf('node-2.example.internal', 'agent-a');
    assert.ok(a >= 1 && b >= 1 && c >= 1);
    assert.equal(new Set([a, b, c]).size, 3);
    assert.equal(await asidOf('node-1.example.internal', 'agent-a'), a);
  });

  it('serializes concurrent registrations: 300 agents at once get 300 distinct ASIDs, repeats get theirs', async () => {
    const agents = Array.from({ length: 300 }, (_, i) => [`node-${i % 60}`, `instance-${i}`] as const);
    const asids = await Promise.all([...agents, ...agents.slice(0, 50)].map(([n, id]) => asidOf(n, id)));
    assert.equal(new Set(asids.slice(0, 300)).size, 300);
    assert.deepEqual(asids.slice(300), asids.slice(0, 50), 'an agent registering twice at once gets one ASID');
    assert.ok(registry.stats().commits < 300, 'registrations are stored in batches');
  });

  it('returns the same ASID after the log is closed and reopened on the same store, and never reuses one', async () => {
    const before = await asidOf('node-keep', 'stable-instance');
    const all = new Set<number>();
    for (let i = 0; i < 5; i++) all.add(await asidOf('node-keep', `other-${i}`));
    await shut();
    await open();
    assert.equal(await asidOf('node-keep', 'stable-instance'), before);
    const fresh = await asidOf('node-keep', 'brand-new');
    assert.ok(!all.has(fresh) && fresh !== before, 'a new agent after the restart gets an ASID nobody had');
    assert.ok(fresh > Math.max(before, ...all));
  });

  it('answers bad registrations with an error and keeps serving', async () => {
    const badNode = await registerRaw({ nodeName: 'Not_A_Node', agentInstanceId: 'x' });
    assert.equal(badNode.ok ? 0 : badNode.error.code, RequestErrorCode.INVALID_SCOPE);
    const noInstance = await registerRaw({ nodeName: 'node-1', agentInstanceId: '' });
    assert.equal(noInstance.ok ? 0 : noInstance.error.code, RequestErrorCode.BAD_REQUEST);
    const garbage = decodeRegisterAgentResponse((await nc.request(subject, new Uint8Array([0xff, 0x01]), { timeout: 10_000 })).data);
    assert.equal(garbage.ok ? 0 : garbage.error.code, RequestErrorCode.BAD_REQUEST);
    assert.ok((await asidOf('node-1', 'after-errors')) >= 1);
    assert.equal(registry.stats().refused, 3);
  });

  it('drain(signal) stops taking registrations (an aborted signal closes at once); asyncDispose closes', async () => {
    await registry.drain(AbortSignal.abort());
    assert.equal(registry.stats().state, 'closed');
    await assert.rejects(register('node-1', 'too-late'), 'nobody answers once drained');
    const second = new AgentRegistry({ connection: nc, cluster: 'agents', log });
    {
      await using scoped = second;
      await scoped.start();
      assert.ok((await asidOf('node-1', 'after-drain')) >= 1);
    }
    assert.equal(second.stats().state, 'closed');
    await assert.rejects(register('node-1', 'too-late'), 'nobody answers once disposed');
  });
});
