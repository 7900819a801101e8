// Crash test for the LMDB log (docs/design.md §1, §3): a child process commits batches in a loop and
// prints each committed head; we SIGKILL it at random points, reopen the store, and check that
// everything it reported is there, no version was reused, every scope's chain is unbroken and
// no batch is half there. Several rounds on the same store, so recovery is also crash-tested.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { waitFor } from '../../src/core/index.ts';
import { UpdateLog, openLmdbStore } from '../../src/log/index.ts';
import { makeTempDir, spawnProcess } from '../../src/testing/processes.ts';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'log-crash-writer.ts');
const ROUNDS = 6;

function lastCommitted(output: string): { head: number; batch: number } | undefined {
  const lines = output.split('\n').filter((l) => l.startsWith('committed '));
  const last = lines.at(-1)?.split(' ');
  return last ? { head: Number(last[1]), batch: Number(last[2]) } : undefined;
}

async function checkStore(path: string, reported: { head: number; batch: number }): Promise<{ head: number; batch: number }> {
  const store = await openLmdbStore({ path });
  try {
    const log = await UpdateLog.open(store);
    const batch = Number(log.resourceVersions().batch);
    assert.ok(log.head >= reported.head, `head ${log.head} must be >= the last reported ${reported.head}`);
    assert.ok(batch >= reported.batch);
    // Every update is on 'cluster': its tail is the whole history, versions 1..head without a gap.
    const seen = new Map<number, { size: number; versions: number[] }>();
    let expected = 0;
    let after: number | undefined = 0;
    while (after !== undefined) {
      const page = await log.readTail('cluster', after, { limit: 2000 });
      for (const e of page.entries) {
        assert.equal(e.version, expected + 1, 'versions are dense: none lost, none reused');
        assert.equal(e.prevVersion, expected);
        expected = e.version;
        const info = JSON.parse(new TextDecoder().decode(e.payload)) as { batch: number; i: number; size: number };
        const group = seen.get(info.batch) ?? { size: info.size, versions: [] };
        group.versions.push(e.version);
        seen.set(info.batch, group);
      }
      after = page.next;
    }
    assert.equal(expected, log.head);
    assert.deepEqual([...seen.keys()], Array.from({ length: batch }, (_, i) => i + 1), 'batches in order, the last one is the stored resourceVersion');
    for (const [no, group] of seen) {
      assert.equal(group.versions.length, group.size, `batch ${no} is complete`);
    }
    for (let n = 0; n < 5; n++) {
      let prev = 0;
      let from: number | undefined = 0;
      while (from !== undefined) {
        const page = await log.readTail(`node/n${n}`, from, { limit: 2000 });
        for (const e of page.entries) {
          assert.equal(e.prevVersion, prev, `node/n${n} chain`);
          prev = e.version;
        }
        from = page.next;
      }
      assert.equal(prev, log.scopeHead(`node/n${n}`));
    }
    return { head: log.head, batch };
  } finally {
    await store.close();
  }
}

test('a writer killed with SIGKILL at random points loses nothing it reported and leaves no half batch', { timeout: 120_000 }, async () => {
  const dir = await makeTempDir('log-crash');
  const path = join(dir.path, 'store');
  try {
    let state = { head: 0, batch: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const child = spawnProcess(process.execPath, ['--import', 'tsx', fixture, path]);
      try {
        await waitFor(() => child.output().includes(`open ${state.head} ${state.batch}`), { what: 'the writer to open the store', timeoutMs: 30_000 });
        await waitFor(() => lastCommitted(child.output()), { what: 'a first commit', timeoutMs: 30_000 });
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 300));
      } finally {
        await child.kill();
      }
      const reported = lastCommitted(child.output());
      assert.ok(reported, child.output());
      state = await checkStore(path, reported);
      assert.ok(state.head > 0);
    }
  } finally {
    await dir.remove();
  }
});
