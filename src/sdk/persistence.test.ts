import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../core/index.ts';
import { newStreamId, timeNsFromMs, updateIdentity, type ResourceUpdate } from '../schema/index.ts';
import { LocalState } from './local-state.ts';
import { StatePersistence } from './persistence.ts';
import { container, pod, scopeExit, service, workload } from '../testing/index.ts';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kubemeta-persist-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('saves and loads the state, position, stream id, retained objects and processes', () =>
  withDir(async (dir) => {
    const clock = new ManualClock(1_800_000_000_000);
    const state = new LocalState({ clock, retentionMs: 60_000 });
    let v = 0;
    const apply = (u: ResourceUpdate): void => state.apply({ version: ++v, update: u, identity: updateIdentity(u) });
    apply(workload({ kind: 'ReplicaSet', uid: 'rs', name: 'web-1' }));
    apply(pod({ uid: 'p1', name: 'web-1-a', node: 'n1', ip: '10.0.0.5', labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web-1', uid: 'rs' } }));
    apply(container({ id: 'c1', name: 'app', podUid: 'p1', podName: 'web-1-a', stopNs: timeNsFromMs(clock.now()) }));
    apply(service({ uid: 's1', name: 'web', podUids: ['p1'] }));
    apply(scopeExit('Service', 's1'));
    const streamId = newStreamId();
    const p = new StatePersistence(join(dir, 'nested'), 'prod', 'node/n1');
    const records = [...state.records()].map(({ epoch: _e, ...r }) => r);
    await p.save({ cluster: 'prod', scope: 'node/n1', streamId, position: v, savedAtMs: clock.now(), records, processes: [[10, 20, 'c1']] });
    assert.deepEqual(await readdir(join(dir, 'nested')), ['kubemeta-prod-node%2Fn1.json'], 'no temporary file is left behind');
    const loaded = await p.load();
    assert.equal(loaded.kind, 'loaded');
    if (loaded.kind !== 'loaded') return;
    assert.deepEqual([loaded.state.streamId, loaded.state.position, loaded.state.processes], [streamId, v, [[10, 20, 'c1']]]);
    const restored = new LocalState({ clock, retentionMs: 60_000 });
    for (const r of loaded.state.records) restored.restore(r);
    assert.deepEqual(restored.pods().map((x) => [x.uid, x.labels['app']]), [['p1', 'web']]);
    assert.equal(restored.container('c1'), undefined);
    assert.equal(restored.container('c1', { includeStopped: true })?.name, 'app', 'retained objects stay retained');
    assert.equal(restored.service('s1', { includeStopped: true })?.name, 'web');
    assert.equal(restored.ownerChain('p1')[0]?.name, 'web-1');
    assert.equal(restored.resolveIp('10.0.0.5')?.uid, 'p1', 'the IP history is rebuilt');
    clock.advance(61_000);
    restored.sweep();
    assert.equal(restored.container('c1', { includeStopped: true }), undefined, 'and expire as they would have');
  }));

test('a missing file is "missing"; a foreign or corrupt one is "invalid"', () =>
  withDir(async (dir) => {
    const p = new StatePersistence(dir, 'prod', 'node/n1');
    assert.equal((await p.load()).kind, 'missing');
    await p.save({ cluster: 'prod', scope: 'node/n1', streamId: newStreamId(), position: 0, savedAtMs: 0, records: [], processes: [] });
    const other = new StatePersistence(dir, 'prod', 'node/n1');
    assert.equal((await other.load()).kind, 'loaded');
    await writeFile(p.path, JSON.stringify({ format: 1, cluster: 'staging', scope: 'node/n1', streamId: newStreamId(), position: 1, savedAtMs: 0, objects: [] }));
    const foreign = await p.load();
    assert.equal(foreign.kind, 'invalid');
    assert.equal(foreign.kind === 'invalid' ? foreign.error.code : '', 'SDK_PERSIST_FAILED');
    await writeFile(p.path, '{"format":1');
    assert.equal((await p.load()).kind, 'invalid');
  }));
