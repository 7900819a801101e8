// Crash safety of `kubemeta serve` (docs/design.md §1, §3, §6): the real CLI in a child process is
// killed with SIGKILL during the initial sync and during churn, then restarted. Nothing is
// lost, no version is reused, and a restart with valid stored resourceVersions does not list.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/core/index.ts';
import { freePort, spawnProcess, type SpawnedProcess } from '../../src/testing/index.ts';
import { actualScope, diffScopes, expectedScopes } from '../helpers/cluster-truth.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';
import { StreamCollector } from '../helpers/stream-collector.ts';

const bin = new URL('../../bin/kubemeta.js', import.meta.url).pathname;

interface Status {
  state: string;
  head: number;
  reflectors: Array<{ kind: string; lists: number }>;
}

describe('kubemeta serve survives kill -9', () => {
  let env: ServeEnv;
  let collector: StreamCollector;
  let port: number;
  let proc: SpawnedProcess | undefined;

  const start = (): SpawnedProcess => spawnProcess(process.execPath, [bin, 'serve', ...env.serveArgs({ http: `127.0.0.1:${port}`, batchMaxUpdates: '500' })]);
  const status = async (): Promise<Status | undefined> => {
    try {
      return (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as Status;
    } catch {
      return undefined;
    }
  };
  const listRequests = (): number => Object.values(env.api.stats().requests['list'] ?? {}).reduce((a, b) => a + b, 0);
  const converged = async (): Promise<void> => {
    let last: string[] = [];
    await waitFor(
      () => {
        last = diffScopes(expectedScopes(env.engine.model), (scope) => actualScope(collector.scope(scope).objects));
        return last.length === 0;
      },
      { what: 'every scope to equal the simulator after the restart', timeoutMs: 60_000, intervalMs: 200 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${last.join('\n')}\n${proc?.output().slice(-3000)}`);
    });
  };

  before(async () => {
    env = await startServeEnv({ seed: 11, nodes: 60, podsPerNode: 30, namespaces: 3 });
    collector = await StreamCollector.start(env.nats.url, 'test');
    port = await freePort();
  });

  after(async () => {
    await proc?.stop();
    await collector?.stop();
    await env?.stop();
  });

  test('killed during the initial sync, it restarts, finishes the sync and loses nothing', async () => {
    proc = start();
    await waitFor(async () => ((await status())?.head ?? 0) > 0, { what: 'the first commits', timeoutMs: 30_000, intervalMs: 2 });
    const first = await status();
    assert.ok(first && first.state !== 'ready', `killed before the sync was complete (state ${first?.state})`);
    await proc.kill();
    proc = start();
    await waitFor(async () => (await status())?.state === 'ready', { what: 'ready after the restart', timeoutMs: 60_000 });
    const restarted = await status();
    assert.ok((restarted?.head ?? 0) >= (first?.head ?? 0), 'the head never goes back');
    await converged();
    assert.deepEqual(collector.reused, [], 'no version was reused for another object');
  });

  test('killed during churn, it resumes from stored resourceVersions without listing', async () => {
    env.engine.startChurn({ ratePerSecond: 40 });
    await waitFor(async () => ((await status())?.head ?? 0) > (collector.scope('cluster').lastVersion || 0) + 0 && env.engine.model.resourceVersion > 0, { what: 'churn to flow' });
    await new Promise((r) => setTimeout(r, 1_500));
    const listsBefore = listRequests();
    const headBefore = (await status())?.head ?? 0;
    await proc?.kill();
    await new Promise((r) => setTimeout(r, 500)); // the cluster keeps changing while kubemeta is down
    proc = start();
    await waitFor(async () => (await status())?.state === 'ready', { what: 'ready after the restart', timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1_000));
    await env.engine.stopChurn();
    await env.engine.controllers.settle();
    await converged();
    assert.equal(listRequests(), listsBefore, 'a restart with valid resourceVersions sends no LIST');
    assert.ok(((await status())?.head ?? 0) > headBefore);
    assert.deepEqual(collector.reused, [], 'no version was reused for another object');
    assert.deepEqual(collector.allGaps(), [], 'consumers saw every version (duplicates allowed, gaps not)');
  });
});
