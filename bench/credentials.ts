// Issued agent credentials (issue 15): how many credentials the service's issuer hands out per
// second, and how long a node agent takes from start to in sync when it first has to obtain
// them. Everything in this process except nats-server: the simulator (its TokenRequest and
// TokenReview stand in for the API server's), `kubemeta serve` with the issuer, NATS in
// operator mode from `kubemeta nats-auth init`.
//
// 1. --requests credential requests, --concurrency at a time, each a fresh nkey and a token of
//    one of the agent pods: issued per second (each is one TokenReview + one pod check + one
//    JWT signature); the issuer's rate limit is raised so that it measures the work, not the limit.
// 2. --agents node agents started one after the other (each on its own node): time from
//    NodeAgentClient.connect() to whenInSync(), with issued credentials and, for comparison, with
//    the same agent logged in directly (a credential made beforehand): the difference is what the
//    issuer costs an agent's start.
//
//   node --import tsx bench/credentials.ts [--nodes 50] [--pods-per-node 10] [--requests 2000]
//        [--concurrency 32] [--agents 20]                → bench/results/credentials.json
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, credsAuthenticator, jwtAuthenticator, nkeys } from '@nats-io/transport-node';
import { clusterSubjects, decodeCredentialResponse, encodeCredentialRequest } from '../src/schema/index.ts';
import { initNatsAuth } from '../src/cli/nats-auth-command.ts';
import { loadConfig, serveConfigSchema } from '../src/config/index.ts';
import { NodeAgentClient, requestAgentCredentials } from '../src/sdk/index.ts';
import { MetadataService } from '../src/service/index.ts';
import { ScenarioEngine, createAgentWorkload, startSimApiServer, writeKubeconfig } from '../src/sim/index.ts';
import { makeTempDir, startConfiguredNatsServer } from '../src/testing/index.ts';
import { readFileSync } from 'node:fs';
import { printTable, writeResult } from './lib/report.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '50' },
    'pods-per-node': { type: 'string', default: '10' },
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '32' },
    agents: { type: 'string', default: '20' },
    'out-dir': { type: 'string' },
  },
});
const CLUSTER = 'bench';
const nodes = Number(values.nodes);
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const agentCount = Math.min(Number(values.agents), nodes);
const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Number((s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN).toFixed(1));
};

const tmp = await makeTempDir('bench-credentials');
const engine = new ScenarioEngine({ seed: 5, nodes, podsPerNode: Number(values['pods-per-node']), namespaces: 4 });
engine.populate();
engine.controllers.start();
createAgentWorkload(engine.model);
const api = await startSimApiServer(engine.model, { bookmarkIntervalMs: 1_000 });
const kubeconfig = join(tmp.path, 'kubeconfig');
await writeKubeconfig(kubeconfig, { server: api.url });
const { files, setup } = await initNatsAuth({ dir: join(tmp.path, 'auth'), cluster: CLUSTER });
const nats = await startConfiguredNatsServer(readFileSync(files.natsConf, 'utf8'));
const service = await MetadataService.start(
  loadConfig(serveConfigSchema, {
    flags: {
      cluster: CLUSTER, kubeconfig, natsUrls: nats.url, store: `lmdb:${join(tmp.path, 'store')}`, http: '127.0.0.1:0', logLevel: 'warn',
      natsCredsFile: files.serviceCreds, requireScopedInboxes: 'true', issuerSigningKeyFile: files.issuerSigningKey, issuerAccount: setup.account.publicKey,
      issuerAgentDaemonset: 'kubemeta-agent', issuerRate: '10000', issuerBurst: '100000', apiQps: '10000', apiBurst: '10000',
    },
  }),
);
const clients: NodeAgentClient[] = [];
try {
  await service.whenReady(AbortSignal.timeout(120_000));
  const agentPods = engine.model.list('Pod', { namespace: 'kubemeta' }).items;
  const tokenOf = (i: number) => {
    const pod = agentPods[i % agentPods.length];
    if (!pod) throw new Error('no agent pods');
    return { node: (pod.object['spec'] as { nodeName: string }).nodeName, token: api.tokens.issue('kubemeta', 'kubemeta-agent', { audiences: ['kubemeta'], expirationSeconds: 3600, pod: { name: pod.object.metadata.name } }).token };
  };
  const tokenFiles = await Promise.all(
    Array.from({ length: Math.min(agentPods.length, 256) }, async (_, i) => {
      const path = join(tmp.path, `token-${i}`);
      const t = tokenOf(i);
      await writeFile(path, t.token);
      return { path, node: t.node };
    }),
  );
  const base = { cluster: CLUSTER, servers: [nats.url], bootstrapCredsFile: files.agentBootstrapCreds, natsOptions: undefined, requestTimeoutMs: 30_000 };

  // 1. Issued per second: the issuer's side. The requests go over bootstrap connections opened
  // beforehand (an agent's bootstrap login signs a nonce with tweetnacl, ~40 ms of this process's
  // CPU, which would be measured instead of the issuer).
  const subject = clusterSubjects(CLUSTER).credentials;
  const conns = await Promise.all(
    Array.from({ length: concurrency }, () =>
      connect({ servers: nats.url, authenticator: credsAuthenticator(readFileSync(files.agentBootstrapCreds)), inboxPrefix: `_INBOX.${subject}` })),
  );
  const bodies = Array.from({ length: tokenFiles.length }, (_, i) => encodeCredentialRequest({ token: readFileSync((tokenFiles[i] as { path: string }).path, 'utf8'), publicKey: nkeys.createUser().getPublicKey() }));
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const t0 = performance.now();
  await Promise.all(
    conns.map(async (nc) => {
      for (let i = next++; i < requests; i = next++) {
        const s = performance.now();
        const res = decodeCredentialResponse((await nc.request(subject, bodies[i % bodies.length] as Uint8Array, { timeout: 30_000 })).data);
        if (res && 'jwt' in res) latencies.push(performance.now() - s);
        else failures++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(conns.map((nc) => nc.close()));
  const issuance = {
    requests, concurrency, failures, seconds: Number(seconds.toFixed(2)),
    issuedPerSecond: Math.round(latencies.length / seconds),
    requestMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
    note: 'each request: a TokenReview on the simulator (HTTP, same process), the pod check, a JWT signed with the account signing key; requests reuse a public key (the issuer does not care)',
  };

  // 2. Agent start to in sync, issued credentials against a credential made beforehand.
  const startToSync = { issuedMs: [] as number[], directMs: [] as number[] };
  for (let i = 0; i < agentCount; i++) {
    const t = tokenFiles[i] as { path: string; node: string };
    let s = performance.now();
    const issued = await NodeAgentClient.connect({
      servers: nats.url, cluster: CLUSTER, node: t.node, agentInstanceId: `issued-${i}`, serviceAccountTokenFile: t.path, bootstrapCredsFile: files.agentBootstrapCreds,
      signal: AbortSignal.timeout(60_000),
    });
    await issued.whenInSync(AbortSignal.timeout(60_000));
    startToSync.issuedMs.push(performance.now() - s);
    clients.push(issued);
    const kp = nkeys.createUser();
    const creds = await requestAgentCredentials({ ...base, tokenFile: t.path }, kp.getPublicKey());
    s = performance.now();
    const direct = await NodeAgentClient.connect({
      servers: nats.url, cluster: CLUSTER, node: t.node, agentInstanceId: `direct-${i}`, natsOptions: { authenticator: jwtAuthenticator(creds.jwt, kp.getSeed()) },
      signal: AbortSignal.timeout(60_000),
    });
    await direct.whenInSync(AbortSignal.timeout(60_000));
    startToSync.directMs.push(performance.now() - s);
    clients.push(direct);
  }
  const agents = {
    agents: agentCount,
    issuedStartToSyncMs: { p50: percentile(startToSync.issuedMs, 50), max: percentile(startToSync.issuedMs, 100) },
    directStartToSyncMs: { p50: percentile(startToSync.directMs, 50), max: percentile(startToSync.directMs, 100) },
  };
  printTable('issued agent credentials', [
    { figure: 'credentials issued / s', value: issuance.issuedPerSecond },
    { figure: 'request p50 / p99 ms', value: `${issuance.requestMs.p50} / ${issuance.requestMs.p99}` },
    { figure: 'agent start → in sync, issued, p50 / max ms', value: `${agents.issuedStartToSyncMs.p50} / ${agents.issuedStartToSyncMs.max}` },
    { figure: 'agent start → in sync, direct, p50 / max ms', value: `${agents.directStartToSyncMs.p50} / ${agents.directStartToSyncMs.max}` },
  ]);
  const path = writeResult('credentials', {
    command: `node --import tsx bench/credentials.ts --nodes ${nodes} --pods-per-node ${values['pods-per-node']} --requests ${requests} --concurrency ${concurrency} --agents ${agentCount}`,
    cluster: { nodes, pods: engine.model.count('Pod') },
    issuance,
    agents,
  }, values['out-dir']);
  console.log(`wrote ${path}`);
} finally {
  for (const c of clients) await c.close().catch(() => undefined);
  await service.drain();
  await engine.stopChurn();
  engine.controllers.close();
  await api.close();
  await nats.stop();
  await tmp.remove();
}
