// The Python example agent (examples/python-agent: python3-protobuf, a hand-written NATS client,
// docs/wire-protocol.md) against the real system: `kubemeta serve` in this process watching the
// simulator, a real nats-server, the agent as a child process following one node's scope. With
// publishes dropped under churn, a lost last update on a quiet scope, a NATS restart and a
// replaced store, what the agent holds must equal the simulator's truth for its node, and it
// must have got there by replaying (issue 14). Needs /usr/bin/python3 with python3-protobuf and
// protoc (scripts/setup.sh installs them).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromJson, type JsonValue } from '@bufbuild/protobuf';
import { waitFor } from '../../src/core/index.ts';
import type { PublishFaults } from '../../src/bus/index.ts';
import { ResourceUpdateSchema, updateIdentity, type ResourceUpdate } from '../../src/schema/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import { spawnProcess, type SpawnedProcess } from '../../src/testing/index.ts';
import { actualScope, diffScopes, expectedScopes } from '../helpers/cluster-truth.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';

const PYTHON = '/usr/bin/python3';
const AGENT = new URL('../../examples/python-agent/kubemeta_agent.py', import.meta.url).pathname;
// Churn that keeps every node (the agent's node must stay) but moves pods, containers, labels,
// service membership and owners on it.
const MIX = { podRestart: 12, podDelete: 10, podLabel: 10, scale: 10, rollingUpdate: 6, serviceSelector: 4, nodeAdd: 2 };

interface AgentDump {
  stream_id: string | null;
  position: number;
  in_sync: boolean;
  asid: number;
  stats: Record<string, number>;
  pods: Array<{ uid: string; namespace: string; name: string }>;
  objects: JsonValue[];
}

/** Fails with the fix when the agent's Python dependencies are missing (CI runs setup first). */
function checkPythonDependencies(): void {
  const found = spawnSync(PYTHON, ['-c', 'import google.protobuf'], { encoding: 'utf8' });
  if (found.error || found.status !== 0) {
    throw new Error(`${PYTHON} cannot import google.protobuf (Debian package python3-protobuf): run scripts/setup.sh\n${found.stderr ?? String(found.error)}`);
  }
  if (spawnSync('protoc', ['--version']).status !== 0) throw new Error('protoc (Debian package protobuf-compiler) is missing: run scripts/setup.sh');
}

describe('the Python example agent against kubemeta serve, the simulator and nats-server', () => {
  let env: ServeEnv;
  let service: MetadataService;
  let agent: SpawnedProcess;
  let node: string;
  let dumpPath: string;
  const faults: PublishFaults = { dropFraction: 0 };
  const startService = (overrides: Record<string, unknown> = {}): Promise<MetadataService> =>
    MetadataService.start(env.serveConfig(overrides), { publishFaults: faults });

  const readDump = async (): Promise<AgentDump | undefined> => {
    try {
      return JSON.parse(await readFile(dumpPath, 'utf8')) as AgentDump;
    } catch {
      return undefined; // not written yet
    }
  };

  /** The agent's objects as the update map cluster-truth.ts summarizes. */
  const held = (dump: AgentDump): Map<string, ResourceUpdate> => {
    const m = new Map<string, ResourceUpdate>();
    for (const json of dump.objects) {
      const u = fromJson(ResourceUpdateSchema, json);
      const id = updateIdentity(u);
      m.set(`${id.kind}/${id.uid}`, u);
    }
    return m;
  };

  const podsOnNode = (): string[] =>
    env.engine.model.list('Pod').items.filter((p) => (p.object['spec'] as { nodeName?: string } | undefined)?.nodeName === node).map((p) => p.object.metadata.uid).sort();

  /** Waits until the agent is in sync and holds exactly its node's scope; returns its dump. */
  const converged = async (what: string, timeoutMs = 30_000): Promise<AgentDump> => {
    let last: string[] = [];
    let dump: AgentDump | undefined;
    await waitFor(
      async () => {
        dump = await readDump();
        if (!dump?.in_sync) return false;
        const want = expectedScopes(env.engine.model).get(`node/${node}`) ?? new Map<string, string>();
        last = diffScopes(new Map([[`node/${node}`, want]]), () => actualScope(held(dump as AgentDump)));
        return last.length === 0;
      },
      { what, timeoutMs, intervalMs: 200 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${last.join('\n')}\nagent: ${JSON.stringify({ ...dump, objects: dump?.objects.length, pods: dump?.pods.length })}\n${agent.output().slice(-4000)}`);
    });
    const d = dump as AgentDump;
    // The pods, said plainly: the same uids as the simulator's pods on this node.
    assert.deepEqual(d.pods.map((p) => p.uid).sort(), podsOnNode(), 'the agent holds the pods of its node');
    return d;
  };

  const serviceStatus = async (): Promise<{ publisher: { publishedVersion: number } }> =>
    (await (await fetch(`${service.httpUrl}/status`)).json()) as { publisher: { publishedVersion: number } };

  before(async () => {
    checkPythonDependencies();
    env = await startServeEnv({ seed: 14, nodes: 4, podsPerNode: 10, namespaces: 2 });
    service = await startService();
    await service.whenReady(AbortSignal.timeout(30_000));
    // The node that runs the most pods: the most traffic, the most chances to lose some.
    const counts = new Map<string, number>();
    for (const p of env.engine.model.list('Pod').items) {
      const n = (p.object['spec'] as { nodeName?: string } | undefined)?.nodeName;
      if (n) counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    node = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] as string;
    dumpPath = join(env.dir, 'python-agent.json');
    agent = spawnProcess(PYTHON, [
      AGENT, '--nats', env.nats.url, '--cluster', 'test', '--node', node, '--dump-json', dumpPath,
      // Small pages and chunks: replays page (limit) and need acknowledgements (several chunks).
      '--replay-limit', '100', '--max-chunk-bytes', '4096', '--verbose',
    ]);
  });

  after(async () => {
    await env?.engine.stopChurn();
    await agent?.stop(5_000);
    await service?.drain();
    await env?.stop();
  });

  test('bootstraps by a chunked, acknowledged snapshot to the pods of its node', async () => {
    const dump = await converged('the agent to bootstrap');
    assert.equal(dump.stream_id, service.streamId);
    assert.equal(dump.stats['snapshots'], 1);
    assert.ok((dump.stats['acks'] ?? 0) >= 2, `the snapshot came in several chunks, each acknowledged: ${JSON.stringify(dump.stats)}`);
    assert.ok(dump.pods.length >= 5, `the node runs pods: ${dump.pods.length}`);
    const registered = await waitFor(async () => {
      const d = await readDump();
      return d !== undefined && d.asid >= 1 ? d : undefined;
    }, { what: 'the agent to register', timeoutMs: 10_000 });
    assert.ok(registered.asid >= 1, 'the registry gave it an ASID');
  });

  test('follows churn with 30 % of the publishes dropped: notices the gaps, replays, converges', async () => {
    const before = (await readDump()) as AgentDump;
    faults.dropFraction = 0.3;
    env.engine.startChurn({ ratePerSecond: 20, mix: MIX });
    try {
      // Drops hit every subject, the agent's node's among them: churn until it noticed some.
      await waitFor(async () => ((await readDump())?.stats['gaps'] ?? 0) >= before.stats['gaps']! + 2, { what: 'the agent to notice gaps', timeoutMs: 20_000, intervalMs: 200 });
    } finally {
      await env.engine.stopChurn();
      await env.engine.controllers.settle();
      faults.dropFraction = 0;
    }
    const dump = await converged('the agent to repair what was dropped');
    assert.ok((faults.dropped ?? 0) > 0, 'publishes were dropped');
    assert.ok(dump.stats['tail_replays']! > before.stats['tail_replays']!, `it replayed tails: ${JSON.stringify(dump.stats)}`);
    assert.equal(dump.stats['snapshots'], 1, 'gaps are filled by tails, not by starting over');
    assert.ok(dump.stats['applied']! > before.stats['applied']!, 'it applied the churn');
  });

  test('a lost last update on a quiet scope is noticed by the heartbeat', async () => {
    const before = (await readDump()) as AgentDump;
    const pod = env.engine.model.list('Pod').items.find((p) => (p.object['spec'] as { nodeName?: string } | undefined)?.nodeName === node);
    assert.ok(pod, 'a pod on the node');
    faults.dropFraction = 1;
    const head = service.head;
    // A label no selector uses: one pod update, nothing reacts to it.
    env.engine.model.update({ ...pod.object, metadata: { ...pod.object.metadata, labels: { ...pod.object.metadata.labels, 'kubemeta-test': 'quiet' } } });
    await waitFor(() => service.head > head, { what: 'the label change to be committed', timeoutMs: 10_000 });
    await waitFor(async () => (await serviceStatus()).publisher.publishedVersion >= service.head, { what: 'the update to be published (and dropped)', timeoutMs: 10_000 });
    faults.dropFraction = 0;
    const labelHeld = (d: AgentDump | undefined): string | undefined => {
      const u = d ? [...held(d).values()].find((x) => x.object.case === 'pod' && x.object.value.uid === pod.object.metadata.uid) : undefined;
      return u?.object.case === 'pod' ? u.object.value.labels['kubemeta-test'] : undefined;
    };
    assert.equal(labelHeld(await readDump()), undefined, 'the update was lost');
    // Nothing else happens on the scope: only the next heartbeat (every 5 s) can reveal it.
    await waitFor(async () => labelHeld(await readDump()) === 'quiet', { what: 'a heartbeat to reveal the lost update', timeoutMs: 15_000, intervalMs: 200 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${agent.output().slice(-3000)}`);
    });
    const dump = await converged('the agent to be in sync again');
    assert.ok(dump.stats['heartbeat_gaps']! > before.stats['heartbeat_gaps']!, `a heartbeat revealed the gap: ${JSON.stringify(dump.stats)}`);
  });

  test('after a NATS outage the agent reconnects and replays what it missed', async () => {
    const before = (await readDump()) as AgentDump;
    await env.nats.kill();
    env.engine.step(40, { mix: MIX });
    await env.engine.controllers.settle();
    await env.nats.start();
    const dump = await converged('the agent to catch up after the outage');
    assert.ok(dump.stats['reconnects']! > before.stats['reconnects']!, `it reconnected: ${JSON.stringify(dump.stats)}`);
    assert.equal(dump.stream_id, service.streamId);
  });

  test('a catch-up longer than --replay-limit (100) comes in pages', async () => {
    // How much an outage costs the agent depends on when each side reconnects (nats.js buffers
    // the service's publishes meanwhile), so the long gap is made by dropping publishes instead:
    // label rounds over every pod of the node until its scope has ≥ 150 updates, none delivered.
    // The agent is stopped (SIGSTOP) meanwhile, so that no heartbeat shows it a part of the gap
    // early: the heartbeats that wait for it then all show the whole gap.
    const before = (await readDump()) as AgentDump;
    const pods = env.engine.model.list('Pod').items.filter((p) => (p.object['spec'] as { nodeName?: string } | undefined)?.nodeName === node);
    assert.ok(pods.length >= 1, `the node runs pods: ${pods.length}`);
    const rounds = Math.ceil(150 / pods.length);
    faults.dropFraction = 1;
    agent.child.kill('SIGSTOP');
    try {
      for (let round = 0; round < rounds; round++) {
        // One round committed before the next: changes of one object waiting together are
        // projected once, and each round must be updates of its own.
        const head = service.head;
        for (const pod of pods) {
          const current = env.engine.model.get('Pod', pod.object.metadata.namespace ?? '', pod.object.metadata.name);
          if (!current) continue;
          env.engine.model.update({ ...current.object, metadata: { ...current.object.metadata, labels: { ...current.object.metadata.labels, 'kubemeta-test': `page-${round}` } } });
        }
        await waitFor(() => service.head >= head + pods.length, { what: `relabel round ${round} to be committed`, timeoutMs: 10_000 });
      }
      const head = service.head;
      await waitFor(async () => (await serviceStatus()).publisher.publishedVersion >= head, { what: 'the relabels to be published (and dropped)', timeoutMs: 10_000 });
    } finally {
      faults.dropFraction = 0;
      agent.child.kill('SIGCONT');
    }
    // The next heartbeat shows the agent it is ≥ 150 updates behind. (converged() compares
    // which objects are held, not their labels: wait for the last round's label first.)
    const last = `page-${rounds - 1}`;
    const uids = new Set(pods.map((p) => p.object.metadata.uid));
    const holdsLastRound = (d: AgentDump | undefined): boolean => {
      if (!d) return false;
      const labels = [...held(d).values()].flatMap((u) => (u.object.case === 'pod' && uids.has(u.object.value.uid) ? [u.object.value.labels['kubemeta-test']] : []));
      return labels.length === uids.size && labels.every((l) => l === last);
    };
    await waitFor(async () => holdsLastRound(await readDump()), { what: 'the agent to hold the last relabel round', timeoutMs: 20_000, intervalMs: 200 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${agent.output().slice(-3000)}`);
    });
    const dump = await converged('the agent to catch up by pages');
    assert.ok(dump.stats['pages']! > before.stats['pages']!, `the replay was paged: ${JSON.stringify(dump.stats)}`);
    assert.equal(dump.stats['snapshots'], before.stats['snapshots'], 'a long tail is replayed, not a new snapshot');
  });

  test('a replaced store (new stream id) makes the agent start over from a snapshot', async () => {
    const before = (await readDump()) as AgentDump;
    const oldStream = service.streamId;
    await service.drain();
    env.engine.step(30, { mix: MIX });
    service = await startService({ store: `lmdb:${join(env.dir, 'store-2')}` });
    await service.whenReady(AbortSignal.timeout(30_000));
    assert.notEqual(service.streamId, oldStream);
    const dump = await converged('the agent to start over on the new stream');
    assert.equal(dump.stream_id, service.streamId);
    assert.ok(dump.stats['stream_resets']! > before.stats['stream_resets']!, `it noticed the new stream: ${JSON.stringify(dump.stats)}`);
    assert.ok(dump.stats['snapshots']! > before.stats['snapshots']!, 'and bootstrapped by snapshot');
  });
});
