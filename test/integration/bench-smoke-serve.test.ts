// bench/serve-sync.ts (with its floor), bench/churn-latency.ts, bench/serve-restart.ts and bench/node-cycling.ts at
// tiny scale, so the benchmarks do not rot: each runs end to end (sim, nats-server, kubemeta
// serve and its helpers in child processes) and writes its JSON. Structure and counts only,
// never times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, spawnProcess } from '../../src/testing/index.ts';

const bench = (name: string): string => new URL(`../../bench/${name}.ts`, import.meta.url).pathname;

async function runBench(name: string, args: string[], outDir: string): Promise<string> {
  const proc = spawnProcess(process.execPath, ['--import', 'tsx', bench(name), ...args, '--out-dir', outDir]);
  const timer = setTimeout(() => void proc.kill(), 170_000);
  const code = await proc.exited;
  clearTimeout(timer);
  assert.equal(code, 0, proc.output());
  return proc.output();
}

type Fields = Record<string, unknown>;
interface SyncJson {
  runs: Fields[];
  cluster: Fields;
  floor: { list: Fields; listPages: Fields; listWatchList: Fields | null; nats: Fields | null; recorded: { messages: number }; ratios: Fields; rateLimit: Fields };
  churn: Fields;
}
interface ChurnJson {
  agents: { count: number };
  stopReason: unknown;
  steps: Array<Fields & { probe: Fields; churn: Fields }>;
}
interface RestartJson {
  restarts: Array<Fields & { mode: string; apiLists: number }>;
  median: Record<string, Fields>;
}

const isNumber = (v: unknown): boolean => typeof v === 'number';
/** A latency percentile: a number, or null (JSON of NaN) when a step had no sample. */
const isLatency = (v: unknown): boolean => typeof v === 'number' || v === null;

test('bench/serve-sync.ts runs at tiny scale and writes the sync, the floor and the churn', { timeout: 180_000 }, async () => {
  const out = await makeTempDir('bench-smoke-sync');
  try {
    const output = await runBench('serve-sync', ['--nodes', '5', '--pods-per-node', '4', '--churn-seconds', '1', '--churn-rate', '5', '--settle-seconds', '0'], out.path);
    assert.match(output, /serve vs floor/);
    const json = JSON.parse(readFileSync(join(out.path, 'serve-sync.json'), 'utf8')) as SyncJson;
    for (const k of ['readyMs', 'httpMs', 'head', 'apiRequests', 'apiLists']) assert.ok(isNumber(json.runs[0]?.[k]), `runs[0].${k}`);
    const floor = json.floor;
    assert.equal(json.cluster['simInOwnProcess'], true);
    // The floor is measured both ways the API offers, and is the cheaper of the two.
    for (const which of ['list', 'listPages', 'listWatchList'] as const) {
      const f = floor[which];
      assert.ok(f, `floor.${which}`);
      for (const k of ['ms', 'pages', 'objects', 'bytes', 'parseMs']) assert.ok(isNumber(f[k]), `floor.${which}.${k}`);
      assert.ok((f['pages'] as number) >= 11, `${which}: one page (or stream) or more for each kind serve lists`);
    }
    assert.equal(floor.listWatchList?.['objects'], floor.listPages['objects'], 'the same objects either way');
    assert.equal(floor.list['ms'], Math.min(floor.listPages['ms'] as number, floor.listWatchList?.['ms'] as number));
    assert.ok(floor.list['mode'] === 'pages' || floor.list['mode'] === 'watchList');
    // A new stream's initial sync is committed as state: serve publishes no update during it,
    // so there is no NATS floor to measure.
    assert.equal(floor.recorded.messages, 0, 'serve published no update message during the sync');
    assert.equal(floor.nats, null);
    for (const k of ['list', 'listPlusNats']) assert.ok(isNumber(floor.ratios[k]), `floor.ratios.${k}`);
    assert.ok(isNumber(floor.rateLimit['ms']));
    assert.ok(isNumber(json.churn['committedUpdatesPerSec']));
  } finally {
    await out.remove();
  }
});

test('bench/churn-latency.ts runs at tiny scale and writes its steps and chart', { timeout: 180_000 }, async () => {
  const out = await makeTempDir('bench-smoke-churn');
  try {
    await runBench('churn-latency', ['--nodes', '10', '--pods-per-node', '4', '--agents', '2', '--rates', '5,10', '--step-seconds', '1', '--settle-seconds', '0', '--probe-rate', '10'], out.path);
    const json = JSON.parse(readFileSync(join(out.path, 'churn-latency.json'), 'utf8')) as ChurnJson;
    assert.equal(json.agents.count, 2);
    assert.equal(typeof json.stopReason, 'string');
    assert.ok(json.steps.length >= 1);
    for (const step of json.steps) {
      for (const k of ['offeredActionsPerSec', 'simActionsPerSec', 'committedUpdatesPerSec', 'serveCpuPerSec', 'probesWritten', 'drainMs']) assert.ok(isNumber(step[k]), k);
      for (const which of ['probe', 'churn'] as const) {
        assert.ok(isNumber(step[which]['samples']), `${which}.samples`);
        for (const k of ['p50Ms', 'p99Ms', 'maxMs']) assert.ok(isLatency(step[which][k]), `${which}.${k}`);
      }
    }
    assert.ok(existsSync(join(out.path, 'churn-latency.svg')));
    assert.match(readFileSync(join(out.path, 'churn-latency.svg'), 'utf8'), /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  } finally {
    await out.remove();
  }
});

test('bench/serve-restart.ts runs at tiny scale; restarts on a valid store send no LIST', { timeout: 180_000 }, async () => {
  const out = await makeTempDir('bench-smoke-restart');
  try {
    await runBench('serve-restart', ['--nodes', '5', '--pods-per-node', '4', '--runs', '1', '--settle-seconds', '0', '--cli-load-runs', '0'], out.path);
    const json = JSON.parse(readFileSync(join(out.path, 'serve-restart.json'), 'utf8')) as RestartJson;
    assert.deepEqual(json.restarts.map((r) => r.mode), ['graceful', 'kill9']);
    for (const r of json.restarts) {
      for (const k of ['stopMs', 'readyMs', 'watchingMs', 'apiWatches', 'committed']) assert.ok(isNumber(r[k]), k);
      assert.equal(r.apiLists, 0, `${r.mode}: a restart with valid stored resourceVersions sends no LIST`);
    }
    for (const mode of ['graceful', 'kill9']) assert.ok(isNumber(json.median[mode]?.['readyMs']), `median.${mode}.readyMs`);
  } finally {
    await out.remove();
  }
});

test('bench/node-cycling.ts runs at tiny scale; heartbeats follow the node scopes in use', { timeout: 180_000 }, async () => {
  const out = await makeTempDir('bench-smoke-cycling');
  try {
    await runBench('node-cycling', ['--nodes', '10', '--pods-per-node', '4', '--cycled', '30', '--rate', '40', '--window-seconds', '1', '--gone-scope-heartbeat-ms', '500'], out.path);
    const json = JSON.parse(readFileSync(join(out.path, 'node-cycling.json'), 'utf8')) as { cycled: number; rows: Fields[] };
    assert.ok(json.cycled >= 30);
    const after = json.rows[1] as Fields;
    for (const k of ['nodeScopesInUse', 'scopesEverSeen', 'heartbeatsPerSec', 'serveRssMb']) assert.ok(isNumber(after[k]), k);
    assert.ok((after['scopesEverSeen'] as number) > (after['nodeScopesInUse'] as number) + 10, 'the log has seen more scopes than are in use');
  } finally {
    await out.remove();
  }
});
