// `kubemeta console` and `kubemeta agents` log in to a NATS server that requires credentials
// with the options `kubemeta serve` takes (--nats-user/--nats-password or KUBEMETA_NATS_PASSWORD,
// --nats-token, --nats-nkey-seed-file, --nats-creds-file, --nats-tls-*). The console logs in as
// a least-privilege cluster-client user (docs/security.md): its client and its query broker
// share one connection, whose inboxes that user may receive on; a query from its query box
// reaches the agents, which log in as their own user. Credentials NATS refuses end either
// command at once with what to check, never echoing the secret.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/core/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import { freePort, spawnProcess, type SpawnedProcess } from '../../src/testing/index.ts';
import { kubemetaPermissions, startConfiguredNatsServer, type ConfiguredNatsServer } from '../../src/testing/nats-auth.ts';
import { startServeEnv, type ServeEnvBase } from '../helpers/serve-env.ts';

const bin = new URL('../../bin/kubemeta.js', import.meta.url).pathname;
const CLUSTER = 'test';
const passwords = { service: `svc-${crypto.randomUUID()}`, console: `cc-${crypto.randomUUID()}`, fleet: `fleet-${crypto.randomUUID()}` };

function natsConfig(): string {
  const p = kubemetaPermissions(CLUSTER).clusterClient;
  const list = (subjects: readonly string[]): string => `[${subjects.map((s) => JSON.stringify(s)).join(', ')}]`;
  return [
    'authorization {',
    '  users: [',
    `    { user: "kubemeta", password: ${JSON.stringify(passwords.service)} }`,
    `    { user: "fleet", password: ${JSON.stringify(passwords.fleet)} }`,
    `    { user: "console", password: ${JSON.stringify(passwords.console)}, permissions: { publish: { allow: ${list(p.publish)} }, subscribe: { allow: ${list(p.subscribe)} }, allow_responses: { max: 16, expires: "2m" } } }`,
    '  ]',
    '}',
    '',
  ].join('\n');
}

/** `kubemeta <args>` (the environment without KUBEMETA_* variables of the test runner, plus `env`). */
function kubemeta(args: string[], env: Record<string, string> = {}): SpawnedProcess {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KUBEMETA_')));
  return spawnProcess(process.execPath, [bin, ...args], { env: { ...clean, ...env } });
}

describe('console and agents with NATS credentials', () => {
  let nats: ConfiguredNatsServer;
  let env: ServeEnvBase;
  let service: MetadataService;
  const running: SpawnedProcess[] = [];

  before(async () => {
    nats = await startConfiguredNatsServer(natsConfig());
    env = await startServeEnv({ seed: 13, nodes: 3, podsPerNode: 6, namespaces: 2 }, { natsUrls: [nats.url] });
    service = await MetadataService.start(env.serveConfig({ natsUser: 'kubemeta', natsPassword: passwords.service }));
    await service.whenReady(AbortSignal.timeout(60_000));
  });

  after(async () => {
    for (const p of running) await p.stop();
    await service?.drain();
    await env?.stop();
    await nats?.stop();
  });

  test('agents (flags) and the console (a cluster-client user, password from the environment) connect, sync and answer a query', async () => {
    const agents = kubemeta(['agents', '--nats', nats.url, '--nats-user', 'fleet', '--nats-password', passwords.fleet, '--cluster', CLUSTER, '--nodes', '2', '--summary-interval-ms', '300']);
    running.push(agents);
    await waitFor(() => /agents: 2 connected .*, 2 in sync/.test(agents.output()), { what: 'the agents to connect and sync', timeoutMs: 90_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${agents.output()}`);
    });

    const port = await freePort();
    const consoleCommand = kubemeta(['console', '--nats', nats.url, '--nats-user', 'console', '--cluster', CLUSTER, '--http', `127.0.0.1:${port}`], { KUBEMETA_NATS_PASSWORD: passwords.console });
    running.push(consoleCommand);
    type Status = { clusters: Array<{ name: string; connected: boolean; inSync: boolean; head: number }> };
    let status: Status | undefined;
    await waitFor(
      async () => {
        status = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as Status;
        return status.clusters[0]?.inSync === true;
      },
      { what: 'the console to follow the cluster', timeoutMs: 90_000 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(status)}\n${consoleCommand.output()}`);
    });
    assert.equal(status?.clusters[0]?.connected, true);
    assert.ok((status?.clusters[0]?.head ?? 0) > 0);

    // The broker shares the console's connection: the agents' answers come back to its inboxes.
    const res = await fetch(`http://127.0.0.1:${port}/api/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ q: 'count requests by node', cluster: CLUSTER }) });
    const answer = (await res.json()) as { agentsAnswered?: number; partial?: boolean; rows?: unknown[] };
    assert.equal(res.status, 200, JSON.stringify(answer));
    assert.ok((answer.agentsAnswered ?? 0) >= 1, `agents answered the console's query: ${JSON.stringify(answer)}`);
    for (const p of [consoleCommand, agents]) assert.equal(p.output().includes(passwords.fleet) || p.output().includes(passwords.console), false, 'no password in the output');
  });

  test('refused credentials end either command at once (exit 1), saying what to check, without the secret', async () => {
    const wrong = `wrong-${crypto.randomUUID()}`;
    const port = await freePort();
    const cases: Array<[string, SpawnedProcess]> = [
      ['console', kubemeta(['console', '--nats', nats.url, '--nats-user', 'console', '--nats-password', wrong, '--cluster', CLUSTER, '--http', `127.0.0.1:${port}`])],
      ['agents', kubemeta(['agents', '--nats', nats.url, '--cluster', CLUSTER, '--nodes', '1'])],
    ];
    for (const [name, p] of cases) {
      running.push(p);
      const timer = setTimeout(() => void p.kill(), 60_000);
      const code = await p.exited;
      clearTimeout(timer);
      const output = p.output();
      assert.equal(code, 1, `${name} exits 1\n${output}`);
      assert.match(output, /\[SERVICE_NATS_CONFIG\] NATS refused the credentials .*--nats-user\/--nats-password/, `${name}: what to check\n${output}`);
      assert.equal(output.includes(wrong), false, `${name}: the password is not echoed`);
    }
  });
});
