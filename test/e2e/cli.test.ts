// The `kubemeta` command as a user runs it: the README's demo, and clear errors for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnProcess } from '../../src/testing/index.ts';

const bin = new URL('../../bin/kubemeta.js', import.meta.url).pathname;

async function run(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  const proc = spawnProcess(process.execPath, [bin, ...args]);
  const timer = setTimeout(() => void proc.kill(), timeoutMs);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, output: proc.output() };
}

test('kubemeta demo runs the whole system and shows it ready, publishing, with one watch per kind', async () => {
  const { code, output } = await run(['demo', '--nodes', '4', '--pods-per-node', '6', '--churn-rate', '5', '--seconds', '4']);
  assert.equal(code, 0, output);
  const lines = output.split('\n').filter((l) => /^\s+\d+s\s+cluster:/.test(l));
  assert.ok(lines.length >= 3, `a summary line per second:\n${output}`);
  const last = lines.at(-1) as string;
  assert.match(last, /kubemeta: ready, head [1-9]\d*/);
  assert.match(last, /subscriber: [1-9]\d* updates/);
  assert.match(last, /API server sees: 12 watches, 0 lists/, "the initial lists are WatchList streams");
  assert.match(last, /agents: [1-9]\d*\/[1-9]\d* in sync, [1-9]\d* rows/, 'simulated node agents record telemetry (docs/agents.md)');
});

test('bad options are refused with every problem named and exit code 2', async () => {
  const { code, output } = await run(['serve', '--nats-urls', 'http://nope', '--store', 'sqlite:/x', '--api-qps', 'fast']);
  assert.equal(code, 2);
  assert.match(output, /--store: must be lmdb:<directory> or etcd:/);
  assert.match(output, /--api-qps/);
  assert.match(output, /is not a NATS URL/);
});

test('an unknown command is a usage error', async () => {
  const { code, output } = await run(['serv']);
  assert.equal(code, 2);
  assert.match(output, /unknown command/);
});
