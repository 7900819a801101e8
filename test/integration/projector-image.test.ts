// The projector image (service/projector-image.ts): a graceful stop writes it, the next start
// loads it instead of restoring from the store. It must restore exactly what the restore from
// the store does (that restore is the reference the chaos suite checks), and a restart from it
// must go on publishing correctly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
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
  return [...p.podImages()]
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

  test('a graceful stop writes it; it restores exactly what the store does; the next start uses it and goes on correctly', async () => {
    service = await MetadataService.start(env.serveConfig());
    await service.whenReady(AbortSignal.timeout(30_000));
    // Rolling updates, restarts (stopped container instances), deletions, node moves.
    env.engine.step(300);
    await assertConverged(env, collector);
    await service.drain();
    service = undefined;
    const storePath = join(env.dir, 'store');
    const imagePath = join(storePath, PROJECTOR_IMAGE_FILE);
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
      assert.equal(b.from, 'store');
      assert.ok(!existsSync(copy), 'an image serves one start: it is deleted when read');
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

      // An image that does not fit the store (another head) is refused; the store is read instead.
      await writeProjectorImage(copy, { streamId: log.streamId, head: log.head - 1 }, []);
      const c = await restoreProjector(log, new Projector({ clock }), undefined, copy);
      assert.equal(c.from, 'store');
      assert.match(c.imageRefused ?? '', /version/);
      assert.equal(c.objects, b.objects);
    } finally {
      await log.close();
      await store.close();
    }

    service = await MetadataService.start(env.serveConfig());
    await service.whenReady(AbortSignal.timeout(30_000));
    const status = (await (await fetch(`${service.httpUrl}/status`)).json()) as { restore?: { from: string; objects: number } };
    assert.equal(status.restore?.from, 'image', '/status says where the state came from');
    assert.ok(!existsSync(imagePath), 'the start took the image');
    env.engine.step(200);
    await assertConverged(env, collector);
    assert.deepEqual(collector.allGaps(), []);
    assert.deepEqual(collector.reused, []);
  });
});
