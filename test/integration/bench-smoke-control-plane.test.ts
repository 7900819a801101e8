// bench/control-plane.ts at tiny scale, so the benchmark does not rot: it runs end to end
// (sim, nats-server, kubemeta serve, SDK agents, client-node informers in child processes) and
// writes its JSON and SVG with both designs and the ratios. Structure and counts only, never
// absolute times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, spawnProcess } from '../../src/testing/index.ts';

const bench = new URL('../../bench/control-plane.ts', import.meta.url).pathname;

interface PhaseJson {
  requests: number;
  lists: number;
  watches: number;
  listBytes: number;
  apiCpuSeconds: number;
}
interface DesignJson {
  agents: number;
  phases: Record<'startup' | 'churn' | 'restart', PhaseJson>;
  total: PhaseJson;
}
interface ResultJson {
  results: Array<{ agents: number; kubemeta: DesignJson; naive: DesignJson; ratio: Record<string, Record<string, number | null>> }>;
}

test('bench/control-plane.ts runs at tiny scale and writes both designs with their ratios', { timeout: 120_000 }, async () => {
  const out = await makeTempDir('bench-smoke-cp');
  try {
    const proc = spawnProcess(process.execPath, [
      '--import', 'tsx', bench, '--nodes', '5', '--pods-per-node', '4', '--agents', '1,2', '--churn-seconds', '1', '--baseline-seconds', '0', '--out-dir', out.path,
    ]);
    const timer = setTimeout(() => void proc.kill(), 110_000);
    const code = await proc.exited;
    clearTimeout(timer);
    assert.equal(code, 0, proc.output());
    assert.match(proc.output(), /naive ÷ kubemeta/);

    const json = JSON.parse(readFileSync(join(out.path, 'control-plane.json'), 'utf8')) as ResultJson;
    assert.deepEqual(json.results.map((r) => r.agents), [1, 2]);
    for (const row of json.results) {
      for (const design of [row.kubemeta, row.naive]) {
        assert.equal(design.agents, row.agents);
        for (const phase of ['startup', 'churn', 'restart'] as const) {
          for (const metric of ['requests', 'lists', 'watches', 'listBytes', 'apiCpuSeconds'] as const) {
            assert.equal(typeof design.phases[phase][metric], 'number', `${phase}.${metric}`);
          }
        }
      }
      for (const phase of ['startup', 'churn', 'restart', 'total']) {
        for (const metric of ['requests', 'listBytes', 'watchBytes', 'apiCpuSeconds']) {
          assert.ok(metric in (row.ratio[phase] ?? {}), `ratio.${phase}.${metric}`);
        }
      }
      // The design's point, as counts: restarting kubemeta agents costs the API server nothing;
      // every naive agent lists its five kinds again.
      assert.equal(row.kubemeta.phases.restart.requests, 0);
      assert.ok(row.naive.phases.restart.lists >= 5 * row.agents, `naive restart lists: ${row.naive.phases.restart.lists}`);
      assert.ok(row.naive.phases.startup.watches >= 5 * row.agents);
    }
    assert.ok(existsSync(join(out.path, 'control-plane.svg')));
    assert.match(readFileSync(join(out.path, 'control-plane.svg'), 'utf8'), /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  } finally {
    await out.remove();
  }
});
