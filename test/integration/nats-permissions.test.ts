// NATS security (issue 8, docs/security.md): the shipped per-node permission config
// (deploy/nats/kubemeta-nats.conf, rendered by src/testing/nats-auth.ts) on a real
// nats-server, with kubemeta serve, node agents and a cluster client logged in as their own
// users. An agent reads and converges on its own node, and can neither read another node (its
// subject, its inboxes, or a replay/registration under its name) nor publish forged updates.
// Then the service's own connection: user/password, token, nkey seed file, TLS with a CA.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, headers, nkeyAuthenticator, type ConnectionOptions, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { MemoryLogger, waitFor } from '../../src/core/index.ts';
import { loadConfig, serveConfigSchema } from '../../src/config/index.ts';
import {
  RequestErrorCode,
  clusterSubjects,
  decodeRegisterAgentResponse,
  decodeReplayResponse,
  encodeRegisterAgentRequest,
  encodeReplayRequest,
  nodeScope,
  CLUSTER_SCOPE,
  type Scope,
} from '../../src/schema/index.ts';
import { ClusterClient, NodeAgentClient, type Status } from '../../src/sdk/index.ts';
import { MetadataService, NatsConfigError, connectNats, redactNatsUrl } from '../../src/service/index.ts';
import { ScenarioEngine, type ScenarioOptions } from '../../src/sim/index.ts';
import {
  KUBEMETA_NATS_EXAMPLE,
  createNkeyUser,
  generateNatsTls,
  renderKubemetaNatsConfig,
  startConfiguredNatsServer,
  type ConfiguredNatsServer,
} from '../../src/testing/nats-auth.ts';
import { makeTempDir } from '../../src/testing/index.ts';
import { actualScope, diffScopes, expectedScopes } from '../helpers/cluster-truth.ts';
import { heldUpdates } from '../helpers/sdk-truth.ts';
import { startServeEnv, type ServeEnvBase } from '../helpers/serve-env.ts';
import { runAgents } from '../../src/demo-agents/index.ts';
import { QueryBroker } from '../../src/telemetry/index.ts';

const run = promisify(execFile);
const repo = new URL('../..', import.meta.url).pathname;
const CLUSTER = 'test';
const subjects = clusterSubjects(CLUSTER);
const SCENARIO: ScenarioOptions = { seed: 23, nodes: 3, podsPerNode: 12, namespaces: 2 };

describe('the shipped NATS config (deploy/nats/kubemeta-nats.conf)', () => {
  it('is what renderKubemetaNatsConfig renders for its example, and nats-server accepts it', async () => {
    const file = join(repo, 'deploy/nats/kubemeta-nats.conf');
    assert.equal(await readFile(file, 'utf8'), renderKubemetaNatsConfig(KUBEMETA_NATS_EXAMPLE), 'regenerate the file from KUBEMETA_NATS_EXAMPLE');
    const { stdout, stderr } = await run('nats-server', ['-c', file, '-t']);
    assert.match(stdout + stderr, /is valid/);
  });
});

describe('per-node NATS permissions with kubemeta serve, agents and a cluster client', () => {
  let nats: ConfiguredNatsServer;
  let env: ServeEnvBase;
  let service: MetadataService;
  let nodeA: string;
  let nodeB: string;
  const seedA = createNkeyUser();
  const passwords = { service: `svc-${crypto.randomUUID()}`, b: `b-${crypto.randomUUID()}`, cluster: `cc-${crypto.randomUUID()}` };
  const credA: Partial<ConnectionOptions> = { authenticator: nkeyAuthenticator(seedA.seed) };
  const credB: Partial<ConnectionOptions> = { user: 'agent-b', pass: passwords.b };
  const credCluster: Partial<ConnectionOptions> = { user: 'cluster-client', pass: passwords.cluster };
  const clients: Array<{ close(): Promise<void> }> = [];
  const connections: NatsConnection[] = [];
  let agentA: NodeAgentClient;
  let agentB: NodeAgentClient;
  let cluster: ClusterClient;
  const statusA: Status[] = [];
  const serviceLog = new MemoryLogger();

  const raw = async (cred: Partial<ConnectionOptions>, inboxPrefix?: string): Promise<NatsConnection> => {
    const nc = await connect({ servers: nats.url, ...cred, ...(inboxPrefix ? { inboxPrefix } : {}) });
    connections.push(nc);
    return nc;
  };
  const converged = async (what: string, held: Array<[string, NodeAgentClient | ClusterClient]>): Promise<void> => {
    let last: string[] = [];
    await waitFor(
      () => {
        const expected = expectedScopes(env.engine.model);
        last = diffScopes(
          new Map(held.map(([scope]) => [scope, expected.get(scope) ?? new Map()])),
          (scope) => actualScope(heldUpdates((held.find(([s]) => s === scope) as [string, NodeAgentClient | ClusterClient])[1].state)),
        );
        return last.length === 0;
      },
      { what, timeoutMs: 60_000, intervalMs: 250 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${last.join('\n')}`);
    });
  };
  const serviceStatus = async (): Promise<{ replay: { droppedBadReply: number; acks: number; strayAcks: number; outcomes: Record<string, number> }; agents: { droppedBadReply: number; refused: number } }> =>
    (await (await fetch(`${service.httpUrl}/status`)).json()) as never;

  before(async () => {
    // The node names come from the scenario's seed: a throwaway engine tells them.
    const probe = new ScenarioEngine(SCENARIO);
    probe.populate();
    [nodeA, nodeB] = probe.model.list('Node').items.map((n) => n.object.metadata.name) as [string, string];
    nats = await startConfiguredNatsServer(
      renderKubemetaNatsConfig({
        cluster: CLUSTER,
        service: { user: 'kubemeta', password: passwords.service },
        clusterClients: [{ user: 'cluster-client', password: passwords.cluster }],
        agents: [
          { node: nodeA, nkey: seedA.publicKey },
          { node: nodeB, user: 'agent-b', password: passwords.b },
        ],
      }),
    );
    env = await startServeEnv(SCENARIO, { natsUrls: [nats.url] });
    service = await MetadataService.start(env.serveConfig({ natsUser: 'kubemeta', natsPassword: passwords.service, requireScopedInboxes: 'true' }), { logger: serviceLog });
    await service.whenReady(AbortSignal.timeout(30_000));
    await waitFor(() => service.readiness()['nats'] === 'live', { what: 'the service to publish on NATS', timeoutMs: 10_000 });
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    for (const nc of connections) await nc.close().catch(() => undefined);
    await service?.drain();
    await env?.stop();
    await nats?.stop();
  });

  it('agents and the cluster client log in as their own users, bootstrap, follow churn and converge', async () => {
    agentA = await NodeAgentClient.connect({ servers: nats.url, cluster: CLUSTER, node: nodeA, agentInstanceId: 'agent-a', natsOptions: credA, replayChunkBytes: 4096, signal: AbortSignal.timeout(30_000) });
    clients.push(agentA);
    void (async () => {
      for await (const s of agentA.status()) statusA.push(s);
    })();
    agentB = await NodeAgentClient.connect({ servers: nats.url, cluster: CLUSTER, node: nodeB, agentInstanceId: 'agent-b', natsOptions: credB, replayChunkBytes: 4096, signal: AbortSignal.timeout(30_000) });
    clients.push(agentB);
    cluster = await ClusterClient.connect({ servers: nats.url, cluster: CLUSTER, natsOptions: credCluster, replayChunkBytes: 4096, signal: AbortSignal.timeout(30_000) });
    clients.push(cluster);
    assert.ok(agentA.asid >= 1 && agentB.asid >= 1 && agentA.asid !== agentB.asid, 'both agents registered');
    const held: Array<[string, NodeAgentClient | ClusterClient]> = [[`node/${nodeA}`, agentA], [`node/${nodeB}`, agentB], ['cluster', cluster]];
    await converged('agents and cluster client to bootstrap', held);
    env.engine.step(150);
    await converged('agents and cluster client to follow churn', held);
    // Replay answers were acked through allow_responses, and nothing was refused on the way.
    const violations = statusA.filter((s) => s.type === 'error' && /permission/i.test(s.error.message));
    assert.deepEqual(violations, [], 'agent A hit no permission violation');
    assert.ok(agentA.stats().snapshots >= 1 && agentA.stats().badMessages === 0);
    // The clients asked for 4 KiB responses: the snapshots took more responses than the
    // service's window of 4 unacknowledged ones, so answers went on only as acks came back
    // through allow_responses (a refused ack would have stalled an answer until ABORTED).
    const st = await serviceStatus();
    assert.ok(st.replay.acks > 0, `acks arrived while answers waited for them (${JSON.stringify(st.replay)})`);
    assert.equal(st.replay.outcomes['aborted'], 0, 'no answer waited for acks that NATS refused');
  });

  it("agent A cannot read node B: not its subject, not a wildcard, not B's or anyone's inboxes", async () => {
    const a = await raw(credA);
    const forbidden = [subjects.scope(nodeScope(nodeB)), subjects.allNodeScopes, subjects.clusterScope, `kubemeta.${CLUSTER}.>`, '>', '_INBOX.>', `_INBOX.${subjects.scope(nodeScope(nodeB))}.>`];
    const received: string[] = [];
    const errors: string[] = [];
    const subs: Subscription[] = forbidden.map((subject) =>
      a.subscribe(subject, {
        callback: (err, msg) => {
          if (err) errors.push(`${subject}: ${err.message}`);
          else received.push(msg.subject);
        },
      }),
    );
    const closed = await Promise.all(subs.map((s) => s.closed));
    for (const [i, reason] of closed.entries()) {
      assert.match(String((reason as Error | undefined)?.message), /Permissions Violation for Subscription/, `${forbidden[i]} refused`);
    }
    // Node B keeps getting updates meanwhile: its own agent sees them, agent A none of them.
    const before = agentB.stats().applied + agentB.stats().heartbeats;
    env.engine.step(80);
    await waitFor(() => agentB.stats().applied + agentB.stats().heartbeats > before, { what: 'traffic on node B', timeoutMs: 15_000 });
    await a.flush();
    assert.deepEqual(received, [], 'agent A received nothing of node B');
    assert.equal(errors.length, forbidden.length);

    // The SDK with A's credentials for node B gets nowhere: it can neither read B's subject nor
    // receive a replay or registration answer (its inboxes would be B's).
    await assert.rejects(
      NodeAgentClient.connect({ servers: nats.url, cluster: CLUSTER, node: nodeB, agentInstanceId: 'spy', natsOptions: credA, registerTimeoutMs: 500, signal: AbortSignal.timeout(3_000) }),
    );
  });

  it('agent A can replay and register only its own node (--require-scoped-inboxes)', async () => {
    const inboxA = `_INBOX.${subjects.scope(nodeScope(nodeA))}`;
    const a = await raw(credA, inboxA);
    const ask = async (scope: Scope, id: string): Promise<ReturnType<typeof decodeReplayResponse>> => {
      const reply = `${inboxA}.probe.${id}`;
      const sub = a.subscribe(reply, { max: 1 });
      a.publish(subjects.replay, encodeReplayRequest({ scope, after: 0, requestId: id }), { reply });
      for await (const m of sub) return decodeReplayResponse(m.data);
      throw new Error('no answer');
    };
    const own = await ask(nodeScope(nodeA), 'own');
    assert.equal(own.type, 'snapshotStart', 'its own node is served');
    for (const [scope, id] of [[nodeScope(nodeB), 'other-node'], [CLUSTER_SCOPE, 'cluster']] as const) {
      const r = await ask(scope, id);
      assert.equal(r.type === 'error' ? r.error.code : r.type, RequestErrorCode.BAD_REQUEST, `replay of ${id} into A's inbox is refused`);
      assert.match(r.type === 'error' ? r.error.message : '', /only into a reply inbox under/);
    }
    const asB = decodeRegisterAgentResponse((await a.request(subjects.agentsRegister, encodeRegisterAgentRequest({ nodeName: nodeB, agentInstanceId: 'forged', hostname: 'x' }), { timeout: 5_000 })).data);
    assert.equal(asB.ok ? 'registered' : asB.error.code, RequestErrorCode.BAD_REQUEST, 'registering as node B is refused');
    const asA = decodeRegisterAgentResponse((await a.request(subjects.agentsRegister, encodeRegisterAgentRequest({ nodeName: nodeA, agentInstanceId: 'agent-a', hostname: 'x' }), { timeout: 5_000 })).data);
    assert.equal(asA.ok ? asA.asid : 0, agentA.asid, 'registering as itself works');
  });

  it('agent A cannot publish forged updates or heartbeats on any scope subject, nor make the service do it', async () => {
    // Listeners with the credentials allowed to read each subject.
    const seen: string[] = [];
    const marker = (subject: string, data: Uint8Array, hdrs: { get(k: string): string } | undefined): void => {
      if (new TextDecoder().decode(data).includes('FORGED') || hdrs?.get('kubemeta-stream') === 'f'.repeat(32)) seen.push(subject);
    };
    const listeners = [
      [await raw(credA), subjects.scope(nodeScope(nodeA))],
      [await raw(credB), subjects.scope(nodeScope(nodeB))],
      [await raw(credCluster), subjects.clusterScope],
    ] as const;
    for (const [nc, subject] of listeners) nc.subscribe(subject, { callback: (err, msg) => void (err === null && marker(subject, msg.data, msg.headers)) });
    await Promise.all(listeners.map(([nc]) => nc.flush()));

    const a = await raw(credA);
    const asyncErrors: string[] = [];
    void (async () => {
      for await (const s of a.status()) if (s.type === 'error') asyncErrors.push(String((s as { error?: Error }).error?.message));
    })();
    const hb = headers();
    hb.set('kubemeta-stream', 'f'.repeat(32));
    hb.set('kubemeta-head', '999999');
    const targets = [subjects.scope(nodeScope(nodeA)), subjects.scope(nodeScope(nodeB)), subjects.clusterScope];
    for (const subject of targets) {
      a.publish(subject, new TextEncoder().encode('FORGED update batch'));
      a.publish(subject, new Uint8Array(), { headers: hb }); // a forged heartbeat would reset every consumer
    }
    // The service as a confused deputy: a request whose reply subject is a scope subject.
    const before = await serviceStatus();
    for (const subject of targets) {
      a.publish(subjects.replay, encodeReplayRequest({ scope: nodeScope(nodeA), after: 0, requestId: 'FORGED' }), { reply: subject });
      a.publish(subjects.agentsRegister, encodeRegisterAgentRequest({ nodeName: nodeA, agentInstanceId: 'FORGED', hostname: 'FORGED' }), { reply: subject });
    }
    await a.flush();
    await waitFor(async () => (await serviceStatus()).replay.droppedBadReply >= before.replay.droppedBadReply + targets.length, { what: 'the service to drop the replay requests', timeoutMs: 10_000 });
    await waitFor(async () => (await serviceStatus()).agents.droppedBadReply >= before.agents.droppedBadReply + targets.length, { what: 'the registry to drop them', timeoutMs: 10_000 });
    await Promise.all(listeners.map(([nc]) => nc.flush()));
    assert.deepEqual(seen, [], 'no listener saw a forged message');
    await waitFor(() => asyncErrors.filter((e) => /Permissions Violation for Publish/.test(e)).length >= 2 * targets.length, { what: 'the publish violations to be reported', timeoutMs: 5_000 });
    assert.equal(agentA.stats().streamResets, 0, 'no forged heartbeat reached agent A');
    assert.equal(agentB.stats().streamResets, 0);
    assert.equal(cluster.stats().streamResets, 0);
  });

  it("telemetry queries: agent A answers its own query subject through allow_responses, and can neither read node B's nor send queries", async () => {
    // A simulated agent for node A logged in as A, and a broker logged in as the cluster client.
    const fleet = await runAgents({ servers: nats.url, cluster: CLUSTER, nodes: [nodeA], natsOptionsFor: () => credA, ratePerSecond: 500, tickMs: 50, signal: AbortSignal.timeout(30_000) });
    clients.push(fleet);
    await fleet.whenInSync(AbortSignal.timeout(30_000));
    // Routed to node A whatever churn did to it (it may be gone by now): the answer, not its
    // rows or the routing, is what NATS could refuse.
    const broker = new QueryBroker({ nc: await raw(credCluster, `_INBOX.${subjects.clusterScope}`), cluster: CLUSTER, router: { routeQuery: () => new Set([nodeA]) } });
    const r = await broker.query(`count requests node ${nodeA}`);
    assert.deepEqual([r.agentsAsked, r.agentsAnswered, r.failures], [1, 1, []], 'the query went out and the answer came back');
    assert.equal(fleet.stats().queriesAnswered, 1);

    const a = await raw(credA);
    const asyncErrors: string[] = [];
    void (async () => {
      for await (const st of a.status()) if (st.type === 'error') asyncErrors.push(String((st as { error?: Error }).error?.message));
    })();
    const forbidden = [subjects.agentQuery(nodeB), subjects.allAgentQueries, `kubemeta.${CLUSTER}.query.>`];
    const closed = await Promise.all(forbidden.map((subject) => a.subscribe(subject, { callback: () => undefined }).closed));
    for (const [i, reason] of closed.entries()) {
      assert.match(String((reason as Error | undefined)?.message), /Permissions Violation for Subscription/, `${forbidden[i]} refused`);
    }
    // Nor can A query B's agent (or any): publishing on a query subject is refused.
    a.publish(subjects.agentQuery(nodeB), new TextEncoder().encode('{}'));
    a.publish(subjects.agentQuery(nodeA), new TextEncoder().encode('{}'));
    await a.flush();
    await waitFor(() => asyncErrors.filter((e) => /Permissions Violation for Publish/.test(e)).length >= 2, { what: 'the query publishes to be refused', timeoutMs: 5_000 });
  });

  it('a wrong password is refused with a clear error from the SDK, at once', async () => {
    const started = Date.now();
    await assert.rejects(
      NodeAgentClient.connect({ servers: nats.url, cluster: CLUSTER, node: nodeB, agentInstanceId: 'agent-b', natsOptions: { user: 'agent-b', pass: 'wrong' }, signal: AbortSignal.timeout(20_000) }),
      (err: Error) => /Authorization Violation/.test(err.message),
    );
    assert.ok(Date.now() - started < 10_000, 'refused without waiting for the signal');
    await assert.rejects(
      ClusterClient.connect({ servers: nats.url, cluster: CLUSTER, natsOptions: { authenticator: nkeyAuthenticator(createNkeyUser().seed) }, signal: AbortSignal.timeout(20_000) }),
      (err: Error) => /Authorization Violation/.test(err.message),
      'an unknown nkey is refused too',
    );
  });

  it('the service logged no credential', () => {
    const text = JSON.stringify(serviceLog.records, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack } : v));
    assert.ok(serviceLog.records.some((r) => r.msg?.startsWith('connected to NATS')), 'the connection was logged');
    assert.ok(serviceLog.records.length > 5);
    assert.equal(text.includes(passwords.service), false, 'the password appears in no log record');
  });

  it('the service itself with a wrong password fails with SERVICE_NATS_CONFIG instead of looking healthy', async () => {
    const log = new MemoryLogger();
    const bad = await MetadataService.start(env.serveConfig({ natsUser: 'kubemeta', natsPassword: 'wrong-secret', store: `lmdb:${join(env.dir, 'store-bad-password')}` }), { logger: log });
    try {
      await waitFor(() => bad.failed.aborted, { what: 'the service to fail', timeoutMs: 15_000 });
      const reason = bad.failed.reason as Error & { code?: string };
      assert.equal(reason.code, 'SERVICE_NATS_CONFIG');
      assert.match(reason.message, /NATS refused the credentials/);
      assert.equal(bad.state, 'failed');
      assert.equal(JSON.stringify(log.records, (_k, v: unknown) => (v instanceof Error ? v.message : v)).includes('wrong-secret'), false, 'the password is in no log record');
      assert.ok(log.records.some((r) => r.level === 'error' && /NATS refused the credentials/.test(JSON.stringify(r.fields, (_k, v: unknown) => (v instanceof Error ? v.message : v)))), 'the reason is logged');
    } finally {
      await bad.drain();
    }
  });
});

describe("the service's own NATS connection: user/password, token, nkey seed file, TLS", () => {
  let dir: { path: string; remove: () => Promise<void> };
  const servers: ConfiguredNatsServer[] = [];
  const config = (url: string, flags: Record<string, string>) => loadConfig(serveConfigSchema, { flags: { natsUrls: url, ...flags } });
  const connectOk = async (url: string, flags: Record<string, string>): Promise<void> => {
    const nc = await connectNats(config(url, flags), 'test', AbortSignal.timeout(10_000));
    try {
      const sub = nc.subscribe('probe', { max: 1 });
      nc.publish('probe', new Uint8Array([1]));
      for await (const m of sub) assert.deepEqual([...m.data], [1]);
    } finally {
      await nc.close();
    }
  };
  const refused = async (url: string, flags: Record<string, string>, pattern: RegExp): Promise<void> => {
    await assert.rejects(connectNats(config(url, flags), 'test', AbortSignal.timeout(10_000)), (err: Error) => {
      assert.ok(err instanceof NatsConfigError, `a NatsConfigError, got ${err.name}: ${err.message}`);
      assert.equal((err as NatsConfigError).code, 'SERVICE_NATS_CONFIG');
      assert.match(err.message, pattern);
      return true;
    });
  };

  before(async () => {
    dir = await makeTempDir('nats-auth');
  });
  after(async () => {
    for (const s of servers) await s.stop();
    await dir?.remove();
  });

  it('user and password', async () => {
    const s = await startConfiguredNatsServer('authorization { users: [ { user: "kubemeta", password: "s3cret-pw" } ] }\n');
    servers.push(s);
    await connectOk(s.url, { natsUser: 'kubemeta', natsPassword: 's3cret-pw' });
    await refused(s.url, { natsUser: 'kubemeta', natsPassword: 'nope' }, /NATS refused the credentials .*--nats-user/);
    await refused(s.url, {}, /NATS refused the credentials/);
  });

  it('credentials in a NATS URL are refused without being echoed (the client would not use them)', () => {
    assert.throws(
      () => config('nats://kubemeta:url-secret@127.0.0.1:4222', {}),
      (err: Error) => /credentials do not belong in a NATS URL/.test(err.message) && !err.message.includes('url-secret'),
    );
    assert.equal(redactNatsUrl('tls://u:p@nats:4222'), 'tls://***@nats:4222');
  });

  it('token', async () => {
    const s = await startConfiguredNatsServer('authorization { token: "t0ken-abc" }\n');
    servers.push(s);
    await connectOk(s.url, { natsToken: 't0ken-abc' });
    await refused(s.url, { natsToken: 'other' }, /NATS refused the credentials/);
  });

  it('nkey seed file', async () => {
    const user = createNkeyUser();
    const seedFile = join(dir.path, 'user.nk');
    await writeFile(seedFile, `${new TextDecoder().decode(user.seed)}\n`, { mode: 0o600 });
    const otherFile = join(dir.path, 'other.nk');
    await writeFile(otherFile, createNkeyUser().seed, { mode: 0o600 });
    const notSeed = join(dir.path, 'not-a-seed');
    await writeFile(notSeed, 'hello');
    const s = await startConfiguredNatsServer(`authorization { users: [ { nkey: "${user.publicKey}" } ] }\n`);
    servers.push(s);
    await connectOk(s.url, { natsNkeySeedFile: seedFile });
    await refused(s.url, { natsNkeySeedFile: otherFile }, /NATS refused the credentials/);
    await refused(s.url, { natsNkeySeedFile: notSeed }, /does not hold an NKey seed/);
    await refused(s.url, { natsNkeySeedFile: join(dir.path, 'missing') }, /--nats-nkey-seed-file: cannot read/);
  });

  it('TLS with a CA (and a client certificate when the server verifies one)', async () => {
    const tls = await generateNatsTls(dir.path);
    const s = await startConfiguredNatsServer(`tls { cert_file: "${tls.certFile}", key_file: "${tls.keyFile}" }\nauthorization { token: "tls-token" }\n`);
    servers.push(s);
    await connectOk(s.url, { natsTlsCa: tls.caFile, natsToken: 'tls-token' });
    await refused(s.url, { natsToken: 'tls-token' }, /TLS to NATS failed .*--nats-tls-ca/);
    await refused(s.url, { natsTlsCa: tls.otherCaFile, natsToken: 'tls-token' }, /TLS to NATS failed/);
    await refused(s.url, { natsTlsCa: join(dir.path, 'missing-ca.pem'), natsToken: 'tls-token' }, /NATS TLS options cannot be used/);

    const mtls = await startConfiguredNatsServer(`tls { cert_file: "${tls.certFile}", key_file: "${tls.keyFile}", ca_file: "${tls.caFile}", verify: true }\n`);
    servers.push(mtls);
    await connectOk(mtls.url, { natsTlsCa: tls.caFile, natsTlsCert: tls.clientCertFile, natsTlsKey: tls.clientKeyFile });
  });

  it('a server that comes up later is connected to once it is there', async () => {
    const s = await startConfiguredNatsServer('authorization { token: "later" }\n');
    servers.push(s);
    await s.kill();
    const retries: string[] = [];
    const pending = connectNats(config(s.url, { natsToken: 'later' }), 'test', AbortSignal.timeout(20_000), (err) => retries.push(err.message));
    await waitFor(() => retries.length >= 2, { what: 'retries while the server is down', timeoutMs: 10_000 });
    await s.start();
    const nc = await pending;
    assert.equal(nc.isClosed(), false);
    await nc.close();
  });

  it('an unreachable server is retried (with the reason) until the signal aborts', async () => {
    const retries: string[] = [];
    const signal = AbortSignal.timeout(1_500);
    await assert.rejects(connectNats(config('nats://127.0.0.1:1', {}), 'test', signal, (err) => retries.push(err.message)), (err: Error) => err === signal.reason);
    assert.ok(retries.length >= 2 && retries.every((m) => /refused/.test(m)), retries.join('; '));
  });
});
