// `kubemeta debug scope | agent | store` (issue 16, part 3) against the whole local system:
// kubemeta serve (in-process) watching the simulator, a real nats-server, node agents with the
// debug handler, the LMDB store read while the service runs and after it stopped, and an etcd
// store. An agent whose state is made to diverge (its local state edited through the SDK's
// LocalState) must be reported object by object.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { waitFor } from '../../src/core/index.ts';
import { NodeAgentClient, type LocalState } from '../../src/sdk/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import { CLUSTER_SCOPE, createResourceUpdate, encodeResourceUpdate, nodeScope, updateIdentity, type PodUpdate } from '../../src/schema/index.ts';
import { openEtcdStore, UpdateLog } from '../../src/log/index.ts';
import { startEtcdServer, spawnProcess, type EtcdServer } from '../../src/testing/index.ts';
import { compareAgent, formatComparison } from '../../src/cli/debug-agent.ts';
import { fetchScopeByReplay, fetchScopeFromStore, formatScopeTable, scopeDigest } from '../../src/cli/debug-scope.ts';
import { dumpStore } from '../../src/cli/debug-store.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';

const bin = new URL('../../bin/kubemeta.js', import.meta.url).pathname;

async function kubemeta(args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = spawnProcess(process.execPath, [bin, ...args]);
  const timer = setTimeout(() => void proc.kill(), 60_000);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, output: proc.output() };
}

/** Every file of a directory with its bytes' hash, size and mtime: equal means untouched. */
async function fingerprint(dir: string): Promise<string> {
  const names = (await readdir(dir)).sort();
  const parts = await Promise.all(names.map(async (n) => `${n} ${createHash('sha256').update(await readFile(join(dir, n))).digest('hex')}`));
  return parts.join('\n');
}

describe('kubemeta debug: scope, agent and store dumps', () => {
  let env: ServeEnv;
  let service: MetadataService | undefined;
  let nc: NatsConnection;
  let nodes: string[];
  const agents: NodeAgentClient[] = [];
  const storeDir = (): string => join(env.dir, 'store');

  before(async () => {
    env = await startServeEnv({ seed: 16, nodes: 3, podsPerNode: 6, namespaces: 2 });
    service = await MetadataService.start(env.serveConfig());
    await service.whenReady(AbortSignal.timeout(30_000));
    nodes = env.engine.model.list('Node').items.map((n) => n.object.metadata.name).slice(0, 2);
    for (const node of nodes) {
      const agent = await NodeAgentClient.connect({ servers: env.nats.url, cluster: 'test', node, agentInstanceId: `dbg-${node}`, debugHandler: true });
      await agent.whenInSync(AbortSignal.timeout(20_000));
      agents.push(agent);
    }
    nc = await connect({ servers: env.nats.url, inboxPrefix: '_INBOX.kubemeta.test.cluster' });
  });

  after(async () => {
    for (const a of agents) await a.close();
    await nc?.close();
    await service?.drain();
    await env?.stop();
  });

  test('debug scope by replay holds the objects the agent of that node holds, at the scope head', async () => {
    const node = nodes[0] as string;
    const s = await fetchScopeByReplay(nc, 'test', nodeScope(node), 10_000, AbortSignal.timeout(30_000));
    const agent = agents[0] as NodeAgentClient;
    assert.equal(s.streamId, agent.streamId);
    assert.equal(s.head, agent.head, 'the replay brings the scope to its head');
    const live = s.objects.filter((o) => !o.deleted);
    const held = [...(agent.state as unknown as LocalState).records()].filter((r) => r.gone === undefined).map((r) => `${r.kind}/${r.uid}`).sort();
    assert.deepEqual(live.map((o) => o.key), held, 'the same live objects, by key');
    assert.ok(live.some((o) => o.kind === 'Node' && o.name === node), 'the node itself is in its scope');
    assert.match(formatScopeTable(s), new RegExp(`scope node/${node.replace(/\./g, '\\.')}`));
  });

  test('debug agent says "in step" for an agent that follows the service', async () => {
    const c = await compareAgent(nc, { cluster: 'test', node: nodes[0] as string, timeoutMs: 10_000, settleMs: 5_000 }, AbortSignal.timeout(30_000));
    assert.equal(c.inStep, true, formatComparison(c));
    assert.deepEqual(c.differences, []);
    assert.equal(c.agent.digest, c.service.digest);
    assert.match(formatComparison(c), /in step/);
  });

  test('debug agent names each object that differs on an agent whose state diverged', async () => {
    const agent = agents[1] as NodeAgentClient;
    const node = nodes[1] as string;
    const state = agent.state as unknown as LocalState; // the SDK's LocalState: a test hook into the agent's memory
    const pods = agent.state.pods().filter((p) => p.nodeName === node);
    assert.ok(pods.length >= 3, 'the node runs pods');
    const [changed, dropped, stale] = pods as [PodUpdate, PodUpdate, PodUpdate];
    const versionOf = (uid: string): number => [...state.records()].find((r) => r.uid === uid)?.version as number;
    const apply = (version: number, value: PodUpdate | { kind: number; uid: string }, exit = false): void => {
      const update = exit
        ? createResourceUpdate({ object: { case: 'scopeExit', value: value as never } })
        : createResourceUpdate({ object: { case: 'pod', value: value as PodUpdate } });
      state.apply({ version, update, identity: updateIdentity(update) });
    };
    // Same version, other content; the agent's copy dropped; an older version; a pod the service never had.
    apply(versionOf(changed.uid), { ...changed, labels: { ...changed.labels, tampered: 'yes' } });
    apply(versionOf(dropped.uid), { kind: 1, uid: dropped.uid }, true);
    apply(versionOf(stale.uid) - 1, stale);
    apply(versionOf(stale.uid), { ...changed, uid: 'ffffffff-0000-4000-8000-000000000016', name: 'ghost' });

    const c = await compareAgent(nc, { cluster: 'test', node, timeoutMs: 10_000, settleMs: 1_000, pageSize: 7 }, AbortSignal.timeout(30_000));
    assert.equal(c.inStep, false);
    const byKey = new Map(c.differences.map((d) => [d.key, d.kind]));
    assert.equal(byKey.get(`Pod/${changed.uid}`), 'content');
    assert.equal(byKey.get(`Pod/${dropped.uid}`), 'missing');
    assert.equal(byKey.get(`Pod/${stale.uid}`), 'version');
    assert.equal(byKey.get('Pod/ffffffff-0000-4000-8000-000000000016'), 'extra');
    assert.equal(c.differences.length, 4, `exactly the four objects:\n${formatComparison(c)}`);
    assert.deepEqual(c.problems, [], 'same stream and position: only objects differ');
    assert.match(formatComparison(c), new RegExp(`missing on the agent\\s+Pod/${dropped.uid}`));

    // The command as a user runs it: exit 1, the objects named; the healthy agent's node exits 0.
    const bad = await kubemeta(['debug', 'agent', node, '--nats', env.nats.url, '--cluster', 'test', '--settle-ms', '500']);
    assert.equal(bad.code, 1, bad.output);
    assert.match(bad.output, new RegExp(`Pod/${changed.uid}`));
    assert.match(bad.output, /ghost/.test(bad.output) ? /Pod\/ffffffff-0000-4000-8000-000000000016/ : /extra on the agent/);
    const good = await kubemeta(['debug', 'agent', nodes[0] as string, '--nats', env.nats.url, '--cluster', 'test', '--json']);
    assert.equal(good.code, 0, good.output);
    assert.equal((JSON.parse(good.output) as { inStep: boolean }).inStep, true);
  });

  test('debug agent fails clearly (exit 1) for a node whose agent does not answer; a bad scope is usage (exit 2)', async () => {
    const r = await kubemeta(['debug', 'agent', 'no-such-node', '--nats', env.nats.url, '--cluster', 'test', '--timeout-ms', '1000']);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /debugHandler: true/);
    const u = await kubemeta(['debug', 'scope', 'node/Not_A_Node!', '--nats', env.nats.url]);
    assert.equal(u.code, 2, u.output);
  });

  test('debug store reads the LMDB store while serve holds it, as a reader of its lock table', async () => {
    const d = await dumpStore({ store: `lmdb:${storeDir()}`, cluster: 'test', prefix: 'm/', limit: 50 });
    assert.match(d.access, /^shared-reader \(store held by pid /, 'the running service holds the lock file');
    const stream = d.entries.find((e) => e.key === 'm/stream');
    assert.equal(stream?.value, (agents[0] as NodeAgentClient).streamId, 'the stream id, decoded');
    assert.ok(d.entries.some((e) => e.kind === 'scope-head'), 'scope heads are decoded');
    // Some history on the cluster scope (the initial sync was committed as state, without a chain).
    const head = service?.head ?? 0;
    env.engine.step(20);
    await waitFor(() => (service?.head ?? 0) > head, { what: 'churn committed', timeoutMs: 20_000 });
    let s = await fetchScopeFromStore({ store: `lmdb:${storeDir()}`, cluster: 'test' }, CLUSTER_SCOPE, 5);
    let byReplay = await fetchScopeByReplay(nc, 'test', CLUSTER_SCOPE, 10_000, AbortSignal.timeout(30_000));
    await waitFor(async () => {
      s = await fetchScopeFromStore({ store: `lmdb:${storeDir()}`, cluster: 'test' }, CLUSTER_SCOPE, 5);
      byReplay = await fetchScopeByReplay(nc, 'test', CLUSTER_SCOPE, 10_000, AbortSignal.timeout(30_000));
      return s.head === byReplay.head;
    }, { what: 'the store and the service at one head', timeoutMs: 20_000 });
    assert.equal(scopeDigest(s), scopeDigest(byReplay), 'the store and the replay give the same scope');
    assert.ok(s.chain.length > 0 && s.chain.length <= 5, `chain ${JSON.stringify(s.chain)}`);
    assert.equal(s.chain[0]?.version, s.head, 'the chain ends at the head');
    assert.ok(s.chain.every((l, i) => i === 0 || (s.chain[i - 1] as { prevVersion: number }).prevVersion === l.version), 'each link points at the next older one');
  });

  test('debug store on a stopped service leaves the LMDB directory byte for byte as it was', async () => {
    for (const a of agents.splice(0)) await a.close();
    await service?.drain();
    service = undefined;
    const before = await fingerprint(storeDir());
    const d = await dumpStore({ store: `lmdb:${storeDir()}`, cluster: 'test', limit: 100_000 });
    assert.equal(d.access, 'private-lock');
    const kinds = new Set(d.entries.map((e) => e.kind));
    for (const k of ['format', 'stream', 'head', 'scope-head', 'scope-state', 'object'] as const) assert.ok(kinds.has(k), `${k} keys decoded`);
    assert.ok(d.entries.every((e) => e.error === undefined), 'every known value decodes');
    const meta = d.entries.find((e) => e.kind === 'meta');
    if (meta) assert.ok(meta.hex !== undefined && meta.value === undefined, 'extension metadata is raw hex');
    const page = await dumpStore({ store: `lmdb:${storeDir()}`, cluster: 'test', prefix: 'c/', limit: 3 });
    assert.equal(page.entries.length, 3);
    assert.ok(page.next !== undefined);
    const next = await dumpStore({ store: `lmdb:${storeDir()}`, cluster: 'test', prefix: 'c/', after: page.next, limit: 3 });
    assert.ok((next.entries[0]?.key ?? '') > (page.next ?? ''), 'the next page starts after the last key');
    const cli = await kubemeta(['debug', 'store', '--store', `lmdb:${storeDir()}`, '--prefix', 'm/', '--json']);
    assert.equal(cli.code, 0, cli.output);
    assert.ok((JSON.parse(cli.output) as { entries: unknown[] }).entries.length > 0);
    const scope = await kubemeta(['debug', 'scope', 'cluster', '--store', `lmdb:${storeDir()}`]);
    assert.equal(scope.code, 0, scope.output);
    assert.match(scope.output, /scope cluster/);
    assert.equal(await fingerprint(storeDir()), before, 'nothing in the store directory changed');
  });

  test('debug store on a directory without a store says so and creates nothing', async () => {
    const empty = join(env.dir, 'nothing-here');
    const r = await kubemeta(['debug', 'store', '--store', `lmdb:${empty}`]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /no LMDB store in/);
    await assert.rejects(readdir(empty), /ENOENT/);
  });
});

describe('kubemeta debug store on etcd', () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await startEtcdServer();
  });
  after(async () => {
    await etcd?.stop();
  });

  test('reads the key ranges of a log in etcd under the cluster prefix', async () => {
    const store = await openEtcdStore({ endpoints: [etcd.url], keyPrefix: 'kubemeta/dbg/' });
    const log = await UpdateLog.open(store);
    const payload = encodeResourceUpdate(createResourceUpdate({ object: { case: 'pod', value: { uid: 'p1', name: 'p', namespace: 'ns', nodeName: 'n1' } } }));
    await log.commit([{ objectKey: 'Pod/p1', kind: 'Pod', state: 'upsert', scopes: ['cluster', 'node/n1'], payload }]);
    await log.close();
    await store.close();
    const d = await dumpStore({ store: `etcd:${etcd.url}`, cluster: 'dbg', limit: 100 });
    assert.equal(d.backend, 'etcd');
    const h = d.entries.find((e) => e.kind === 'history');
    assert.ok(h, 'the history record is there');
    assert.match(JSON.stringify(h.value), /"objectKey":"Pod\/p1"/);
    const s = await fetchScopeFromStore({ store: `etcd:${etcd.url}`, cluster: 'dbg' }, nodeScope('n1'), 5);
    assert.deepEqual(s.objects.map((o) => [o.key, o.name]), [['Pod/p1', 'p']]);
    assert.equal(s.head, 1);
  });
});
