// Issued agent credentials (issue 15, docs/security.md "Issued agent credentials"): NATS in
// operator mode as `kubemeta nats-auth init` sets it up, on a real nats-server; kubemeta serve
// with the credential issuer on the simulator, whose TokenRequest/TokenReview stand in for the
// API server's. An agent proves its pod with its projected service-account token and gets a
// short-lived NATS user of its node only; refusals carry their codes and are counted; a
// credential that expires during churn is renewed without losing the agent's place; a node that
// joins gets an agent with credentials and no configuration change.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, credsAuthenticator, headers, jwtAuthenticator, nkeys, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { waitFor } from '../../src/core/index.ts';
import { CredentialRefusal, clusterSubjects, encodeCredentialRequest, decodeCredentialResponse, nodeScope, type CredentialRefusalCode } from '../../src/schema/index.ts';
import { CredentialsRefusedError, NodeAgentClient, requestAgentCredentials, type Status } from '../../src/sdk/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import { ScenarioEngine, createAgentWorkload, type ScenarioOptions, type StoredObject } from '../../src/sim/index.ts';
import { makeTempDir, startConfiguredNatsServer, type ConfiguredNatsServer } from '../../src/testing/index.ts';
import { initNatsAuth, type NatsAuthFiles } from '../../src/cli/nats-auth-command.ts';
import { actualScope, diffScopes, expectedScopes } from '../helpers/cluster-truth.ts';
import { heldUpdates } from '../helpers/sdk-truth.ts';
import { startServeEnv, type ServeEnvBase } from '../helpers/serve-env.ts';

const run = promisify(execFile);
const repo = new URL('../..', import.meta.url).pathname;
const CLUSTER = 'test';
const subjects = clusterSubjects(CLUSTER);
const SCENARIO: ScenarioOptions = { seed: 41, nodes: 3, podsPerNode: 8, namespaces: 2 };
const NS = 'kubemeta';
const SA = 'kubemeta-agent';
/** Short enough to see several renewals in a test. */
const TTL_MS = 5_000;
/**
 * Churn that keeps the agents' nodes and pods (nodeRemove and podDelete would take an agent's pod
 * away, and with it its right to credentials; that case has its own test).
 */
const KEEP_NODES = { heartbeat: 40, podRestart: 15, podLabel: 15, scale: 10, serviceSelector: 4 };

describe('issued agent credentials (operator-mode NATS, credential issuer, simulator tokens)', () => {
  let files: NatsAuthFiles;
  let nats: ConfiguredNatsServer;
  let env: ServeEnvBase;
  let service: MetadataService;
  let dir: string;
  let nodeA: string;
  let nodeB: string;
  const clients: Array<{ close(): Promise<void> }> = [];
  const connections: NatsConnection[] = [];

  const agentPod = (node: string): StoredObject | undefined =>
    env.engine.model.list('Pod', { namespace: NS }).items.find((p) => (p.object['spec'] as { nodeName?: string }).nodeName === node && p.object.metadata.ownerReferences?.some((o) => o.kind === 'DaemonSet'));
  /** The projected token the kubelet would write for `pod`, through the sim's TokenRequest endpoint. */
  const tokenRequest = async (serviceAccount: string, body: Record<string, unknown>): Promise<{ status: number; token?: string; body: unknown }> => {
    const res = await fetch(`${env.api.url}/api/v1/namespaces/${NS}/serviceaccounts/${serviceAccount}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: body }),
    });
    const json = (await res.json()) as { status?: { token?: string } };
    return { status: res.status, ...(json.status?.token ? { token: json.status.token } : {}), body: json };
  };
  const podToken = async (pod: StoredObject, options: { audience?: string; expirationSeconds?: number; serviceAccount?: string } = {}): Promise<string> => {
    const r = await tokenRequest(options.serviceAccount ?? SA, {
      audiences: [options.audience ?? 'kubemeta'],
      expirationSeconds: options.expirationSeconds ?? 3600,
      boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.object.metadata.name, uid: pod.object.metadata.uid },
    });
    assert.equal(r.status, 201, `TokenRequest answered ${JSON.stringify(r.body)}`);
    return r.token as string;
  };
  let tokenFiles = 0;
  const tokenFile = async (token: string): Promise<string> => {
    const path = join(dir, `token-${tokenFiles++}`);
    await writeFile(path, token);
    return path;
  };
  const issuerOptions = (file: string) => ({ cluster: CLUSTER, servers: [nats.url], tokenFile: file, bootstrapCredsFile: files.agentBootstrapCreds, natsOptions: undefined, requestTimeoutMs: 10_000 });
  /** One credential request; resolves to the issued node, or the refusal code. */
  const ask = async (token: string): Promise<string> => {
    try {
      const creds = await requestAgentCredentials(issuerOptions(await tokenFile(token)), nkeys.createUser().getPublicKey());
      return `issued:${creds.node}`;
    } catch (err) {
      if (err instanceof CredentialsRefusedError) return err.refusal ?? `no answer: ${err.message}`;
      throw err;
    }
  };
  const connectAgent = async (node: string, token: string, statuses?: Status[]): Promise<NodeAgentClient> => {
    const agent = await NodeAgentClient.connect({
      servers: nats.url, cluster: CLUSTER, node, agentInstanceId: `agent-${node}`, serviceAccountTokenFile: await tokenFile(token),
      bootstrapCredsFile: files.agentBootstrapCreds, replayChunkBytes: 4096, signal: AbortSignal.timeout(30_000),
    });
    clients.push(agent);
    if (statuses) void (async () => { for await (const s of agent.status()) statuses.push(s); })();
    return agent;
  };
  const converged = async (what: string, agent: NodeAgentClient): Promise<void> => {
    let last: string[] = [];
    const scope = `node/${agent.node}`;
    await waitFor(
      () => {
        const expected = expectedScopes(env.engine.model);
        last = diffScopes(new Map([[scope, expected.get(scope) ?? new Map()]]), () => actualScope(heldUpdates(agent.state)));
        return last.length === 0;
      },
      { what, timeoutMs: 60_000, intervalMs: 250 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${last.join('\n')}`);
    });
  };
  const metric = async (outcome: string): Promise<number> => {
    const text = await (await fetch(`${service.httpUrl}/metrics`)).text();
    const m = new RegExp(`^kubemeta_credential_requests_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };

  before(async () => {
    const probe = new ScenarioEngine(SCENARIO);
    probe.populate();
    [nodeA, nodeB] = probe.model.list('Node').items.map((n) => n.object.metadata.name) as [string, string];
    env = await startServeEnv(SCENARIO, { natsUrls: ['nats://127.0.0.1:1'], tokens: { minExpirationSeconds: 1 } });
    dir = env.dir;
    ({ files } = await initNatsAuth({ dir: join(env.dir, 'nats-auth'), cluster: CLUSTER }));
    nats = await startConfiguredNatsServer(await readFile(files.natsConf, 'utf8'));
    createAgentWorkload(env.engine.model, { namespace: NS, serviceAccount: SA, daemonSet: 'kubemeta-agent' });
    await waitFor(() => agentPod(nodeA) !== undefined && agentPod(nodeB) !== undefined, { what: 'the agent DaemonSet pods', timeoutMs: 10_000 });
    service = await MetadataService.start(
      env.serveConfig({
        natsUrls: nats.url,
        natsCredsFile: files.serviceCreds,
        requireScopedInboxes: 'true',
        issuerSigningKeyFile: files.issuerSigningKey,
        issuerAccount: (await readFile(files.accountPublicKey, 'utf8')).trim(),
        issuerAgentDaemonset: 'kubemeta-agent',
        issuerCredentialTtlMs: String(TTL_MS),
      }),
    );
    await service.whenReady(AbortSignal.timeout(30_000));
    await waitFor(() => service.readiness()['nats'] === 'live', { what: 'the service to publish on NATS', timeoutMs: 10_000 });
  });

  after(async () => {
    await env?.engine.stopChurn();
    for (const c of clients) await c.close().catch(() => undefined);
    for (const nc of connections) await nc.close().catch(() => undefined);
    await service?.drain();
    await env?.stop();
    await nats?.stop();
  });

  let agentA: NodeAgentClient;
  const statusA: Status[] = [];

  it("an agent with its pod's token gets credentials of its node, bootstraps and converges", async () => {
    agentA = await connectAgent(nodeA, await podToken(agentPod(nodeA) as StoredObject), statusA);
    await agentA.whenInSync(AbortSignal.timeout(30_000));
    await converged('agent A to hold node A', agentA);
    assert.deepEqual(statusA.filter((s) => s.type === 'error'), [], 'no error on the way');
    assert.ok((await metric('issued')) >= 1, 'issued credentials are counted');
  });

  it("its credentials read node A only: not node B, the cluster, wildcards or others' inboxes; no publishing updates or heartbeats", async () => {
    // The same credentials the SDK got, obtained by hand to use them on a raw connection.
    const kp = nkeys.createUser();
    const creds = await requestAgentCredentials(issuerOptions(await tokenFile(await podToken(agentPod(nodeA) as StoredObject))), kp.getPublicKey());
    assert.equal(creds.node, nodeA);
    assert.ok(creds.expiresAtMs - Date.now() <= TTL_MS + 1_000, 'short-lived');
    const a = await connect({ servers: nats.url, authenticator: jwtAuthenticator(creds.jwt, kp.getSeed()) });
    connections.push(a);
    const asyncErrors: string[] = [];
    void (async () => {
      for await (const s of a.status()) if (s.type === 'error') asyncErrors.push(String((s as { error?: Error }).error?.message));
    })();
    const own = a.subscribe(subjects.scope(nodeScope(nodeA)));
    const forbidden = [
      subjects.scope(nodeScope(nodeB)), subjects.allNodeScopes, subjects.clusterScope, `kubemeta.${CLUSTER}.>`, '>', '_INBOX.>',
      `_INBOX.${subjects.scope(nodeScope(nodeB))}.>`, `_INBOX.${subjects.credentials}.>`, subjects.credentials, subjects.replay,
    ];
    const received: string[] = [];
    const subs: Subscription[] = forbidden.map((subject) => a.subscribe(subject, { callback: (err, msg) => void (err === null && received.push(msg.subject)) }));
    const closed = await Promise.all(subs.map((s) => s.closed));
    for (const [i, reason] of closed.entries()) assert.match(String((reason as Error | undefined)?.message), /Permissions Violation for Subscription/, `${forbidden[i]} refused`);

    // Forged updates and heartbeats: NATS refuses them, and nobody allowed to read those subjects sees them.
    const service = await connect({ servers: nats.url, authenticator: credsAuthenticator(await readFile(files.serviceCreds)) });
    connections.push(service);
    const seen: string[] = [];
    const targets = [subjects.scope(nodeScope(nodeA)), subjects.scope(nodeScope(nodeB)), subjects.clusterScope];
    for (const t of targets) service.subscribe(t, { callback: (err, msg) => void (err === null && (new TextDecoder().decode(msg.data).includes('FORGED') || msg.headers?.get('kubemeta-stream') === 'f'.repeat(32)) && seen.push(t)) });
    await service.flush();
    const hb = headers();
    hb.set('kubemeta-stream', 'f'.repeat(32));
    hb.set('kubemeta-head', '999999');
    for (const t of targets) {
      a.publish(t, new TextEncoder().encode('FORGED update batch'));
      a.publish(t, new Uint8Array(), { headers: hb });
    }
    await a.flush();
    await waitFor(() => asyncErrors.filter((e) => /Permissions Violation for Publish/.test(e)).length >= 2 * targets.length, { what: 'the publish violations', timeoutMs: 5_000 });
    await service.flush();
    assert.deepEqual(seen, [], 'no forged message reached a reader');
    // Meanwhile node A's own subject is readable: traffic arrives on it.
    env.engine.step(60, { mix: KEEP_NODES });
    await waitFor(() => own.getReceived() > 0, { what: 'a message on node A', timeoutMs: 15_000 });
    assert.deepEqual(received, []);
    assert.equal(agentA.stats().streamResets, 0, 'no forged heartbeat reached agent A');
  });

  it('forged, expired, wrong-audience, unbound, deleted-pod, other-service-account and non-agent tokens get no credentials, each with its code, counted', async () => {
    const podA = agentPod(nodeA) as StoredObject;
    const expect = async (what: string, token: string, code: CredentialRefusalCode): Promise<void> => {
      const before = await metric(code);
      assert.equal(await ask(token), code, what);
      assert.equal(await metric(code), before + 1, `${code} counted in /metrics`);
    };
    const good = await podToken(podA);
    assert.equal(await ask(good), `issued:${nodeA}`, 'the genuine token works');
    // Forged: the claims changed to node B's pod, the signature kept.
    const [h, p, sig] = good.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { 'kubernetes.io': { pod: { name: string; uid: string } } };
    const podB = agentPod(nodeB) as StoredObject;
    claims['kubernetes.io'].pod = { name: podB.object.metadata.name, uid: podB.object.metadata.uid };
    await expect('a forged token', `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`, CredentialRefusal.TOKEN_INVALID);
    await expect('not a JWT', 'not-a-token', CredentialRefusal.TOKEN_INVALID);
    const shortLived = await podToken(podA, { expirationSeconds: 1 });
    await new Promise((r) => setTimeout(r, 2_100));
    await expect('an expired token', shortLived, CredentialRefusal.TOKEN_EXPIRED);
    await expect('a token for another audience', await podToken(podA, { audience: 'vault' }), CredentialRefusal.TOKEN_AUDIENCE);
    const unbound = await tokenRequest(SA, { audiences: ['kubemeta'], expirationSeconds: 3600 });
    await expect('a token bound to no pod', unbound.token as string, CredentialRefusal.NOT_A_POD_TOKEN);

    // A pod of another ServiceAccount on node A, and a pod of the agent ServiceAccount that is not the DaemonSet's.
    env.engine.model.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'other', namespace: NS } });
    const podOf = (name: string, serviceAccountName: string) => env.engine.model.create({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS },
      spec: { nodeName: nodeA, serviceAccountName, containers: [{ name: 'x', image: 'x' }] },
    });
    const otherSa = podOf('other-sa', 'other');
    const stray = podOf('stray', SA);
    await expect('a pod of another ServiceAccount', await podToken(otherSa, { serviceAccount: 'other' }), CredentialRefusal.WRONG_SERVICE_ACCOUNT);
    await expect('a pod of the agent ServiceAccount outside the DaemonSet', await podToken(stray), CredentialRefusal.NOT_AGENT_POD);
    const wrongSa = await tokenRequest('other', { audiences: ['kubemeta'], boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'stray' } });
    assert.equal(wrongSa.status, 400, 'the API server binds a token only to a pod running with that ServiceAccount');

    // A deleted pod's token: the DaemonSet replaces the pod, the old pod's token is dead.
    const doomed = await podToken(podA);
    env.engine.model.delete('Pod', NS, podA.object.metadata.name, { uid: podA.object.metadata.uid });
    await waitFor(() => agentPod(nodeA) !== undefined && agentPod(nodeA)?.object.metadata.uid !== podA.object.metadata.uid, { what: 'the replacement agent pod', timeoutMs: 10_000 });
    // The API server refuses the token at once; the service names the cause (POD_UNKNOWN) once
    // its watch has delivered the deletion (a moment later under load). Never credentials.
    const unknownBefore = await metric(CredentialRefusal.POD_UNKNOWN);
    const outcomes: string[] = [];
    await waitFor(async () => {
      outcomes.push(await ask(doomed));
      return outcomes.at(-1) === CredentialRefusal.POD_UNKNOWN;
    }, { what: "the deleted pod's token to be refused as POD_UNKNOWN", timeoutMs: 15_000, intervalMs: 200 });
    assert.deepEqual(outcomes.filter((o) => o.startsWith('issued')), [], "a deleted pod's token never gets credentials");
    assert.ok((await metric(CredentialRefusal.POD_UNKNOWN)) > unknownBefore, 'POD_UNKNOWN counted in /metrics');

    // Not a request at all, straight onto the issuer subject as the bootstrap user.
    const boot = await connect({ servers: nats.url, authenticator: credsAuthenticator(await readFile(files.agentBootstrapCreds)), inboxPrefix: `_INBOX.${subjects.credentials}` });
    connections.push(boot);
    const garbage = decodeCredentialResponse((await boot.request(subjects.credentials, new TextEncoder().encode('{"token": 5}'), { timeout: 5_000 })).data);
    assert.equal(garbage && 'error' in garbage ? garbage.error.code : 'issued', CredentialRefusal.BAD_REQUEST);
    const badKey = decodeCredentialResponse((await boot.request(subjects.credentials, encodeCredentialRequest({ token: good, publicKey: 'Unot-a-key' }), { timeout: 5_000 })).data);
    assert.equal(badKey && 'error' in badKey ? badKey.error.code : 'issued', CredentialRefusal.BAD_REQUEST);
    // The bootstrap user can do nothing else: not read a node, not replay.
    const sub = boot.subscribe(subjects.scope(nodeScope(nodeA)));
    assert.match(String(((await sub.closed) as Error | undefined)?.message), /Permissions Violation for Subscription/);
  });

  it('a service with an unusable signing key fails at start (SERVICE_ISSUER_CONFIG), naming the file', async () => {
    const notAKey = join(dir, 'not-a-key.nk');
    await writeFile(notAKey, (await readFile(files.serviceCreds, 'utf8')).replace(/SU[A-Z2-7]+/, 'SUxxx'));
    for (const file of [join(dir, 'missing.nk'), notAKey, files.operatorSeed]) {
      await assert.rejects(
        MetadataService.start(env.serveConfig({ natsUrls: nats.url, natsCredsFile: files.serviceCreds, issuerSigningKeyFile: file, issuerAccount: (await readFile(files.accountPublicKey, 'utf8')).trim(), http: '127.0.0.1:0', store: `lmdb:${join(dir, 'store-bad-key')}` })),
        (err: unknown) => (err as { code?: string }).code === 'SERVICE_ISSUER_CONFIG' && (err as Error).message.includes(file) && !(err as Error).message.includes('SU'),
        file,
      );
    }
  });

  it('an agent refused for good reports the refusal code from connect()', async () => {
    const podA = agentPod(nodeA) as StoredObject;
    await assert.rejects(
      NodeAgentClient.connect({
        servers: nats.url, cluster: CLUSTER, node: nodeA, agentInstanceId: 'refused', serviceAccountTokenFile: await tokenFile(await podToken(podA, { audience: 'vault' })),
        bootstrapCredsFile: files.agentBootstrapCreds, signal: AbortSignal.timeout(2_500),
      }),
      (err: unknown) => err instanceof CredentialsRefusedError && err.refusal === CredentialRefusal.TOKEN_AUDIENCE,
    );
  });

  it('credentials expiring during churn are renewed; the agent stays in step without a new bootstrap', async () => {
    const agent = await connectAgent(nodeB, await podToken(agentPod(nodeB) as StoredObject));
    await agent.whenInSync(AbortSignal.timeout(30_000));
    const snapshotsBefore = agent.stats().snapshots;
    const statuses: Status[] = [];
    void (async () => { for await (const s of agent.status()) statuses.push(s); })();
    env.engine.startChurn({ ratePerSecond: 40, mix: KEEP_NODES });
    // Three lifetimes: each credential is renewed at 60–70 % of it, the connection moved onto the new one.
    await waitFor(() => statuses.filter((s) => s.type === 'credentials').length >= 3, { what: 'three renewals', timeoutMs: 4 * TTL_MS });
    await new Promise((r) => setTimeout(r, TTL_MS));
    await env.engine.stopChurn();
    await converged('agent B to hold node B after renewals', agent);
    assert.equal(agent.stats().snapshots, snapshotsBefore, 'no re-bootstrap');
    assert.equal(agent.stats().streamResets, 0);
    assert.deepEqual(statuses.filter((s) => s.type === 'error').map((s) => (s as { error: Error }).error.message), [], 'no refused or expired credentials on the way');
    assert.ok(statuses.some((s) => s.type === 'reconnect'), 'the connection moved onto the renewed credentials');
  });

  it('a node that joins gets an agent with credentials and no configuration change', async () => {
    const before = new Set(env.engine.model.list('Node').items.map((n) => n.object.metadata.name));
    env.engine.startChurn({ ratePerSecond: 20, mix: { nodeAdd: 1 } });
    await waitFor(() => env.engine.model.list('Node').items.some((n) => !before.has(n.object.metadata.name)), { what: 'a new node', timeoutMs: 10_000 });
    await env.engine.stopChurn();
    env.engine.startChurn({ ratePerSecond: 20, mix: KEEP_NODES });
    const fresh = env.engine.model.list('Node').items.map((n) => n.object.metadata.name).find((n) => !before.has(n)) as string;
    await waitFor(() => agentPod(fresh) !== undefined, { what: 'the agent pod on the new node', timeoutMs: 10_000 });
    const agent = await connectAgent(fresh, await podToken(agentPod(fresh) as StoredObject));
    await agent.whenInSync(AbortSignal.timeout(30_000));
    await env.engine.stopChurn();
    await converged('the new node agent to hold its node', agent);
  });
});

describe('kubemeta nats-auth init', () => {
  it('writes a config nats-server accepts and credentials of every role, keeps secrets private, and never overwrites keys', async () => {
    const tmp = await makeTempDir('nats-auth-init');
    try {
      const out = join(tmp.path, 'auth');
      const { stdout } = await run(process.execPath, [join(repo, 'bin/kubemeta.js'), 'nats-auth', 'init', '--cluster', 'prod', '--out', out], { timeout: 60_000 });
      assert.match(stdout, /--issuer-account A[A-Z2-7]{55}/, 'it prints the account for --issuer-account');
      const check = await run('nats-server', ['-c', join(out, 'nats.conf'), '-t']);
      assert.match(check.stdout + check.stderr, /is valid/);
      const conf = await readFile(join(out, 'nats.conf'), 'utf8');
      assert.doesNotMatch(conf, /\bS[UAO][A-Z2-7]{56}\b/, 'nats.conf holds no seed');
      for (const f of ['service.creds', 'cluster-client.creds', 'agent-bootstrap.creds', 'issuer-signing-key.nk', 'operator.nk', 'account.nk']) {
        assert.equal((await stat(join(out, f))).mode & 0o077, 0, `${f} is readable by its owner only`);
      }
      await assert.rejects(run(process.execPath, [join(repo, 'bin/kubemeta.js'), 'nats-auth', 'init', '--cluster', 'prod', '--out', out], { timeout: 60_000 }), /does not overwrite keys/);
      await assert.rejects(initNatsAuth({ dir: out, cluster: 'prod' }), (err: unknown) => (err as { code?: string }).code === 'CLI_NATS_AUTH_INIT');
    } finally {
      await tmp.remove();
    }
  });
});
