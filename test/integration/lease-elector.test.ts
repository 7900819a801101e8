// Leader election through a Lease on the simulated API server (issue 5, HA): one leader at a
// time, terms that only grow, take-over after a crash within a lease period, a leader that
// cannot renew steps down before its lease could pass to someone else.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ManualClock, MemoryLogger, waitFor } from '../../src/core/index.ts';
import { ClusterModel, startSimApiServer, writeKubeconfig, type SimApiServer } from '../../src/sim/index.ts';
import { KubeApiClient, LeaseElector, type Leadership } from '../../src/source/index.ts';
import { makeTempDir } from '../../src/testing/index.ts';

const TIMING = { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 };

describe('LeaseElector against the simulated API server', () => {
  let api: SimApiServer;
  let kubeconfig: string;
  let tmp: { path: string; remove(): Promise<void> };
  let n = 0;
  const clients: KubeApiClient[] = [];

  before(async () => {
    tmp = await makeTempDir('lease');
    const model = new ClusterModel();
    model.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kubemeta' } });
    api = await startSimApiServer(model);
    kubeconfig = join(tmp.path, 'kubeconfig');
    await writeKubeconfig(kubeconfig, { server: api.url });
  });

  after(async () => {
    for (const c of clients) c.close();
    await api.close();
    await tmp.remove();
  });

  const elector = (name: string, identity: string, extra: { clock?: ManualClock } = {}): LeaseElector => {
    const client = KubeApiClient.load({ kubeconfig, qps: 1_000, burst: 1_000 });
    clients.push(client);
    return new LeaseElector({ client, namespace: 'kubemeta', name, identity, ...TIMING, ...extra });
  };
  const leaseSpec = (name: string): Record<string, unknown> =>
    (api.model.get('Lease', 'kubemeta', name)?.object['spec'] ?? {}) as Record<string, unknown>;

  it('one candidate leads, the other stands by; a release hands over at once with a higher term', async () => {
    const name = `lease-${n++}`;
    const a = elector(name, 'a');
    const b = elector(name, 'b');
    const leaderA = await a.acquire(AbortSignal.timeout(5_000));
    assert.equal(leaderA.term, 0, 'the first leader has term 0');
    assert.equal(leaseSpec(name)['holderIdentity'], 'a');
    const standby = new AbortController();
    const state: { leaderB?: Leadership } = {};
    const waiting = b.acquire(standby.signal).then((l) => (state.leaderB = l));
    await new Promise((r) => setTimeout(r, 3 * TIMING.leaseDurationMs));
    assert.equal(state.leaderB, undefined, 'b does not lead while a renews');
    assert.equal(b.observedLeader, 'a');
    assert.equal(leaderA.signal.aborted, false);
    const released = Date.now();
    await leaderA.release();
    assert.ok(leaderA.signal.aborted, 'released leadership is over');
    const leaderB = await waiting;
    assert.equal(leaderB.term, 1, 'the term grows with every change of holder');
    assert.ok(Date.now() - released < TIMING.leaseDurationMs, 'without waiting for the lease to run out');
    assert.equal(leaseSpec(name)['holderIdentity'], 'b');
    await leaderB.release();
  });

  it('a crashed leader (no more renewals) is replaced after a lease period; it learns it was deposed', async () => {
    const name = `lease-${n++}`;
    // The first leader's clock never moves: it never renews again, as if it had crashed.
    const frozen = new ManualClock(Date.now());
    const a = elector(name, 'a', { clock: frozen });
    const leaderA = await a.acquire(AbortSignal.timeout(5_000));
    const crashedAt = Date.now();
    const b = elector(name, 'b');
    const leaderB = await b.acquire(AbortSignal.timeout(10_000));
    const tookMs = Date.now() - crashedAt;
    assert.ok(tookMs >= TIMING.leaseDurationMs, `b waited for the lease to expire (${tookMs} ms)`);
    // Upper bounds only catch a standby that never notices (timers run late on a loaded machine).
    assert.ok(tookMs < 10 * TIMING.leaseDurationMs, `b took over within a few lease periods (${tookMs} ms)`);
    assert.equal(leaderB.term, leaderA.term + 1);
    // The old leader wakes up and tries to renew: it finds b holding the lease and steps down.
    frozen.advance(TIMING.retryPeriodMs);
    await new Promise<void>((resolve) => leaderA.signal.addEventListener('abort', () => resolve(), { once: true }));
    assert.match(String((leaderA.signal.reason as Error).message), /lost the Lease to b/);
    assert.equal(leaseSpec(name)['holderIdentity'], 'b', 'the old leader did not take it back');
    await leaderB.release();
  });

  it('a leader that cannot reach the API server steps down once the renew deadline passes', async () => {
    const name = `lease-${n++}`;
    const a = elector(name, 'a');
    const leader = await a.acquire(AbortSignal.timeout(5_000));
    const start = Date.now();
    api.faults.failNext({ count: 1_000, status: 503, kind: 'Lease' });
    try {
      await new Promise<void>((resolve) => leader.signal.addEventListener('abort', () => resolve(), { once: true }));
      const after = Date.now() - start;
      assert.ok(after >= TIMING.renewDeadlineMs - TIMING.retryPeriodMs, `stepped down after ${after} ms`);
      // On a loaded machine this timer can run late; fencing (log/fence.ts) keeps a late leader
      // from committing, so the bound only catches a leader that never steps down.
      assert.ok(after < 10 * TIMING.leaseDurationMs, `…and it did step down (${after} ms)`);
      assert.match(String((leader.signal.reason as Error).message), /renew deadline/);
    } finally {
      api.faults.reset();
    }
  });

  it('a Lease namespace that does not exist is named, with what to do, until someone creates it', async () => {
    const name = `lease-${n++}`;
    const log = new MemoryLogger();
    const client = KubeApiClient.load({ kubeconfig, qps: 1_000, burst: 1_000 });
    clients.push(client);
    const a = new LeaseElector({ client, namespace: 'ops-missing', name, identity: 'a', ...TIMING, logger: log });
    const state: { leader?: Leadership } = {};
    const acquiring = a.acquire(AbortSignal.timeout(30_000)).then((l) => (state.leader = l));
    await waitFor(() => a.status().error !== undefined, { what: 'the first failed round', timeoutMs: 10_000 });
    const error = a.status().error as { code: string; message: string };
    assert.equal(error.code, 'SOURCE_LEASE_NAMESPACE_MISSING', error.message);
    assert.match(error.message, /the namespace "ops-missing" does not exist/);
    assert.match(error.message, /kubectl create namespace ops-missing/);
    assert.match(error.message, /--lease-namespace/);
    assert.doesNotMatch(error.message, /does not serve this resource/, 'Leases are served: the namespace is what is missing');
    // Several more rounds (retryPeriodMs 200, jittered up to 2.2×): still standing by, logged once.
    await new Promise((r) => setTimeout(r, 8 * TIMING.retryPeriodMs));
    assert.equal(state.leader, undefined);
    const errors = log.records.filter((r) => r.level === 'error' || r.level === 'warn');
    assert.equal(errors.length, 1, `one error line, not one per retry: ${JSON.stringify(errors.map((r) => r.msg))}`);
    assert.match(errors[0]?.msg ?? '', /kubectl create namespace ops-missing/);

    api.model.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ops-missing' } });
    const leader = await acquiring;
    assert.equal(leader.term, 0);
    assert.deepEqual(a.status().error, undefined, 'the problem is gone from the status');
    assert.ok(log.records.some((r) => r.level === 'info' && /namespace exists now/.test(r.msg ?? '')));
    assert.equal((api.model.get('Lease', 'ops-missing', name)?.object['spec'] as Record<string, unknown>)['holderIdentity'], 'a');
    await leader.release();
  });

  it('refuses timings that would let two leaders overlap', () => {
    const client = KubeApiClient.load({ kubeconfig });
    clients.push(client);
    assert.throws(() => new LeaseElector({ client, namespace: 'x', name: 'y', identity: 'z', leaseDurationMs: 1_000, renewDeadlineMs: 1_000 }), /leaseDuration/);
  });
});
