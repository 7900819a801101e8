// The projector image (service/projector-image.ts): written after the initial sync, then
// periodically and at a graceful stop; a start loads it and replays the cluster scope's history
// after it instead of restoring from the store. Image plus replay must restore exactly what the
// restore from the store does (that restore is the reference the chaos suite checks), and a
// restart from it must go on publishing correctly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/index.ts';
import { UpdateLog, openLmdbStore } from '../../src/log/index.ts';
import { Projector, SOURCE_KINDS, emptyProjection, type Projection } from '../../src/project/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import { restoreProjector } from '../../src/service/restore.ts';
import { PROJECTOR_IMAGE_FILE, writeProjectorImage } from '../../src/service/projector-image.ts';
import { actualScope, diffScopes, expectedScopes } from '../helpers/cluster-truth.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';
import { StreamCollector } from '../helpers/stream-collector.ts';
import { waitFor } from '../../src/core/index.ts';

async function assertConverged(env: ServeEnv, collector: StreamCollector): Promise<void> {
  let last: string[] = [];
  await waitFor(
    () => {
      last = diffScopes(expectedScopes(env.engine.model), (scope) => actualScope(collector.scope(scope).objects));
      return last.length === 0;
    },
    { what: 'every scope to equal the simulator', timeoutMs: 30_000, intervalMs: 250 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${last.join('\n')}`);
  });
}

/** A projector's pods as sorted plain records (containers sorted too): comparable with deepEqual. */
function podRecords(p: Projector): unknown[] {
  return [...p.capturePods()]
    .map((pod) => ({
      ...pod,
      payload: Buffer.from(pod.payload).toString('hex'),
      containers: pod.containers.map((c) => ({ ...c, payload: c.payload === undefined ? null : Buffer.from(c.payload).toString('hex') })).sort((a, b) => `${a.cid}/${a.name}`.localeCompare(`${b.cid}/${b.name}`)),
    }))
    .sort((a, b) => a.uid.localeCompare(b.uid));
}

/**
 * What the projector publishes when a relist of every kind finds nothing (every object is
 * deleted): exercises its pods, containers, scope membership, services and shared objects.
 * Sorted, since the two projectors hold their maps in different insertion orders.
 */
function deleteEverything(p: Projector): string[] {
  const out: Projection = emptyProjection();
  for (const kind of SOURCE_KINDS) {
    p.listStart(kind);
    p.listDone(kind, out);
  }
  return out.updates.map((u) => `${u.objectKey} ${u.state} ${[...u.scopes].sort().join(',')} ${Buffer.from(u.payload).toString('hex')}`).sort();
}

/** Equal lists of lines, or a failure naming a few lines that differ (not thousands of them). */
function assertSameLines(actual: readonly string[], expected: readonly string[], what: string): void {
  const short = (l: string): string => (l.length > 160 ? `${l.slice(0, 160)}…` : l);
  const a = new Set(actual);
  const e = new Set(expected);
  const missing = expected.filter((l) => !a.has(l)).slice(0, 5).map(short);
  const extra = actual.filter((l) => !e.has(l)).slice(0, 5).map(short);
  assert.ok(missing.length === 0 && extra.length === 0 && actual.length === expected.length, `${what}: ${actual.length} against ${expected.length} lines\nmissing:\n${missing.join('\n')}\nextra:\n${extra.join('\n')}`);
}

describe('the projector image', () => {
  let env: ServeEnv;
  let collector: StreamCollector;
  let service: MetadataService | undefined;

  before(async () => {
    env = await startServeEnv({ seed: 17, nodes: 6, podsPerNode: 8, namespaces: 2, statefulSets: 1, cronJobs: 1 });
    collector = await StreamCollector.start(env.nats.url, 'test');
  });

  after(async () => {
    await service?.drain();
    await collector?.stop();
    await env?.stop();
  });

  test('image (plus the history after it) restores exactly what the store does; starts use it and go on correctly', async () => {
    const storePath = join(env.dir, 'store');
    const imagePath = join(storePath, PROJECTOR_IMAGE_FILE);
    service = await MetadataService.start(env.serveConfig());
    await service.whenReady(AbortSignal.timeout(30_000));
    const running = service;
    // The first quiet moment after the initial sync writes an image: what a kill -9 later
    // restarts from, replaying what came after it.
    const early = await waitFor(
      async () => {
        const status = (await (await fetch(`${running.httpUrl}/status`)).json()) as { projectorImage?: { imageHead?: number; writes: number } };
        return (status.projectorImage?.writes ?? 0) >= 1 ? status.projectorImage?.imageHead : undefined;
      },
      { what: 'the image after the initial sync', timeoutMs: 20_000 },
    );
    const earlyCopy = join(env.dir, 'image-early');
    copyFileSync(imagePath, earlyCopy);
    // Rolling updates, restarts (stopped container instances), deletions, node moves.
    env.engine.step(300);
    await assertConverged(env, collector);
    await service.drain();
    service = undefined;
    assert.ok(existsSync(imagePath), 'the graceful stop wrote the projector image');
    const copy = join(env.dir, 'image-copy');
    copyFileSync(imagePath, copy);

    const store = await openLmdbStore({ path: storePath });
    const log = await UpdateLog.open(store);
    try {
      const clock = new ManualClock(1_000_000);
      const fromImage = new Projector({ clock });
      const fromStore = new Projector({ clock });
      const a = await restoreProjector(log, fromImage, undefined, copy);
      const b = await restoreProjector(log, fromStore);
      assert.equal(a.from, 'image');
      assert.equal(a.imageHead, log.head, 'the graceful stop wrote it at the head');
      assert.equal(a.replayed, 0);
      assert.equal(b.from, 'store');
      assert.equal(a.objects, b.objects);
      assert.deepEqual(fromImage.stats(), fromStore.stats());
      assert.deepEqual(fromImage.liveNodeScopes().sort(), fromStore.liveNodeScopes().sort());
      const pods = podRecords(fromStore);
      assert.ok(pods.length >= 40, `${pods.length} pods`);
      assert.deepEqual(podRecords(fromImage), pods);
      const deletions = deleteEverything(fromStore);
      assert.ok(deletions.some((d) => / remove node\//.test(d)), 'objects leave node scopes');
      assert.ok(deletions.some((d) => d.startsWith('Container/')), 'containers are stopped');
      assertSameLines(deleteEverything(fromImage), deletions, 'what a relist that finds nothing publishes');

      // The early image and the history after it (what a kill -9 leaves): the same state.
      const fromEarly = new Projector({ clock });
      const e = await restoreProjector(log, fromEarly, undefined, earlyCopy);
      assert.equal(e.from, 'image');
      assert.equal(e.imageHead, early);
      assert.ok((e.replayed ?? 0) > 300, `replayed ${e.replayed} updates after version ${early} (head ${log.head})`);
      const fromStoreAgain = new Projector({ clock });
      await restoreProjector(log, fromStoreAgain);
      assert.deepEqual(fromEarly.stats(), fromStoreAgain.stats());
      assert.deepEqual(podRecords(fromEarly), pods);
      assert.deepEqual(fromEarly.liveNodeScopes().sort(), fromStoreAgain.liveNodeScopes().sort());
      assertSameLines(deleteEverything(fromEarly), deleteEverything(fromStoreAgain), 'after image plus replay, what a relist that finds nothing publishes');

      // An image that does not fit the store (ahead of it: an older copy of the store) is
      // refused and removed; the store is read instead.
      await writeProjectorImage(copy, { streamId: log.streamId, head: log.head + 1 }, []);
      const c = await restoreProjector(log, new Projector({ clock }), undefined, copy);
      assert.equal(c.from, 'store');
      assert.match(c.imageRefused ?? '', /ahead of the store's head/);
      assert.ok(!existsSync(copy));
      assert.equal(c.objects, b.objects);
    } finally {
      await log.close();
      await store.close();
    }

    // A start after a kill -9: the image on disk is the early one.
    renameSync(earlyCopy, imagePath);
    service = await MetadataService.start(env.serveConfig());
    await service.whenReady(AbortSignal.timeout(30_000));
    const status = (await (await fetch(`${service.httpUrl}/status`)).json()) as { restore?: { from: string; replayed?: number } };
    assert.equal(status.restore?.from, 'image', '/status says where the state came from');
    assert.ok((status.restore?.replayed ?? 0) > 300, `${status.restore?.replayed} updates replayed`);
    env.engine.step(200);
    await assertConverged(env, collector);
    assert.deepEqual(collector.allGaps(), []);
    assert.deepEqual(collector.reused, []);
  });
});
