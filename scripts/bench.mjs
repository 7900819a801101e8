#!/usr/bin/env node
// `npm run bench`: every benchmark under bench/, one after the other (they must not share the
// machine), each writing bench/results/<name>.json. BENCHMARKS.md quotes these results and the
// exact command of each. `npm run bench -- serve-sync replay` runs only those.
//
// Each bench's duration is printed. The whole run took 23 min 22 s from a fresh clone on a
// 2-vCPU machine (2026-11-27); the long ones are control-plane (about 6 minutes), serve-restart
// at 150,000 pods (about 5: a sync and six restarts), sim-populate (about 3.5), serve-sync at
// 150,000 pods with its floor and churn (about 3) and churn-latency (about 2): see BENCHMARKS.md.
import { spawnSync } from 'node:child_process';

/** name → extra arguments (node flags first, then the bench's own). */
const BENCHES = [
  ['codec', [], []],
  ['log-commit', [], []],
  ['store-compare', [], []],
  ['replay', [], []],
  ['heartbeat', [], []],
  ['sdk-hydration', ['--expose-gc'], []],
  ['autocomplete', ['--expose-gc'], []],
  ['query-broker', [], []],
  ['sim-populate', [], []],
  ['sim-list', ['--max-old-space-size=8192'], []],
  ['serve-sync', ['--max-old-space-size=8192'], ['--nodes', '5000', '--pods-per-node', '30', '--churn-rate', '50', '--churn-seconds', '20']],
  ['serve-restart', ['--max-old-space-size=8192'], ['--nodes', '5000', '--pods-per-node', '30', '--runs', '3']],
  ['churn-latency', ['--max-old-space-size=8192'], ['--nodes', '1000', '--pods-per-node', '30']],
  ['node-cycling', [], []],
  ['control-plane', [], []],
  ['credentials', [], []],
];

const only = process.argv.slice(2);
const unknown = only.filter((n) => !BENCHES.some(([name]) => name === n));
if (unknown.length > 0) {
  console.error(`unknown bench: ${unknown.join(', ')}; known: ${BENCHES.map(([n]) => n).join(', ')}`);
  process.exit(2);
}
const root = new URL('..', import.meta.url).pathname;
const failed = [];
for (const [name, nodeFlags, args] of BENCHES) {
  if (only.length > 0 && !only.includes(name)) continue;
  const started = Date.now();
  console.log(`\n=== bench/${name}.ts ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', `bench/${name}.ts`, ...args], { cwd: root, stdio: 'inherit' });
  console.log(`=== ${name}: ${r.status === 0 ? 'done' : `FAILED (${r.status ?? r.signal})`} in ${Math.round((Date.now() - started) / 1000)} s`);
  if (r.status !== 0) failed.push(name);
}
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exit(1);
}
