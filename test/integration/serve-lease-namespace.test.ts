// `kubemeta serve --leader-elect` in a cluster without the Lease's namespace: the replica stands
// by, not ready, and /readyz says what is missing and what to do (instead of "the API server
// does not serve this resource", retried forever); once the namespace exists it leads and syncs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLogger, waitFor } from '../../src/core/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import { startEtcdServer, type EtcdServer } from '../../src/testing/index.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';

let env: ServeEnv;
let etcd: EtcdServer;

before(async () => {
  env = await startServeEnv({ seed: 5, nodes: 2, podsPerNode: 4, namespaces: 1 });
  etcd = await startEtcdServer();
});

after(async () => {
  await etcd?.stop();
  await env?.stop();
});

interface Readiness {
  ready: boolean;
  state: string;
  leaderElection?: { leader?: string; error?: { code: string; message: string } };
}

test('a missing Lease namespace: not ready, with the reason in /readyz, until the namespace is created', async () => {
  assert.equal(env.engine.model.get('Namespace', '', 'kubemeta'), undefined, 'the simulated cluster has no namespace kubemeta');
  const log = new MemoryLogger();
  const service = await MetadataService.start(
    env.serveConfig({ leaderElect: 'true', store: `etcd:${etcd.url}`, identity: 'replica-a', leaseDurationMs: '3000', renewDeadlineMs: '2000', retryPeriodMs: '300' }),
    { logger: log },
  );
  try {
    const readyz = async (): Promise<{ status: number; body: Readiness }> => {
      const res = await fetch(`${service.httpUrl}/readyz`);
      return { status: res.status, body: (await res.json()) as Readiness };
    };
    await waitFor(async () => (await readyz()).body.leaderElection?.error !== undefined, { what: '/readyz to report the election problem', timeoutMs: 20_000 });
    const { status, body } = await readyz();
    assert.equal(status, 503);
    assert.equal(body.state, 'standby');
    assert.equal(body.leaderElection?.error?.code, 'SOURCE_LEASE_NAMESPACE_MISSING');
    assert.match(body.leaderElection?.error?.message ?? '', /namespace "kubemeta" does not exist.*kubectl create namespace kubemeta.*--lease-namespace/);
    assert.equal(env.api.stats().watchesStarted, 0, 'a standby opens no watch');

    env.engine.model.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kubemeta' } });
    await waitFor(async () => (await readyz()).status === 200, { what: 'the replica to lead and sync once the namespace exists', timeoutMs: 60_000 });
    const ready = await readyz();
    assert.equal(ready.body.leaderElection, undefined, 'a leader reports no election problem');
    assert.equal(service.leader().leading, true);
    const lines = log.records.filter((r) => r.level === 'error' && /kubectl create namespace kubemeta/.test(r.msg ?? ''));
    assert.equal(lines.length, 1, 'the problem was logged once, as an error saying what to do');
  } finally {
    await service.drain();
  }
});
