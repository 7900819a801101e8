// `npm run chaos`: seeded fault schedules against the whole local system (issue 8). Prints each
// schedule's faults and outcome, then a summary (runs, faults injected by type, divergences,
// reused versions), and writes bench/results/chaos.json.
//
//   node --import tsx test/chaos/run-chaos.ts [--schedules 200] [--from 1] [--seed N] [--out chaos]
import { parseArgs } from 'node:util';
import { writeResult } from '../../bench/lib/report.ts';
import type { FaultKind } from './schedule.ts';
import { runSchedule, type ScheduleResult } from './run-schedule.ts';

const { values } = parseArgs({
  options: {
    schedules: { type: 'string', default: '200' },
    from: { type: 'string', default: '1' },
    seed: { type: 'string' },
    nodes: { type: 'string', default: '50' },
    /** Result name under bench/results/ (several runners in parallel need their own). */
    out: { type: 'string', default: 'chaos' },
  },
});
const seeds = values.seed !== undefined ? [Number(values.seed)] : Array.from({ length: Number(values.schedules) }, (_, i) => Number(values.from) + i);
const results: ScheduleResult[] = [];
const started = Date.now();
for (const seed of seeds) {
  const r = await runSchedule(seed, { nodes: Number(values.nodes), log: (line) => console.log(line) });
  results.push(r);
  const faults = Object.entries(r.faults).map(([k, n]) => `${k}×${n}`).join(' ');
  console.log(
    `schedule ${seed}: ${faults || 'no faults'}; drop ${r.schedule.publishFaults.dropFraction} dup ${r.schedule.publishFaults.duplicateFraction}; ` +
      `${r.divergences.length === 0 && r.reusedVersions.length === 0 ? 'converged' : 'DIVERGED'} in ${r.convergeMs} ms (${Math.round(r.durationMs / 1000)} s)` +
      (r.serveErrorCodes.length > 0 ? `; serve reported ${r.serveErrorCodes.join(', ')}` : ''),
  );
}
const byKind: Partial<Record<FaultKind, number>> = {};
for (const r of results) for (const [k, n] of Object.entries(r.faults)) byKind[k as FaultKind] = (byKind[k as FaultKind] ?? 0) + n;
const diverged = results.filter((r) => r.divergences.length > 0 || r.reusedVersions.length > 0);
const summary = {
  runs: results.length,
  faultsInjected: Object.values(byKind).reduce((a, b) => a + b, 0),
  faultsByKind: byKind,
  lossySchedules: results.filter((r) => r.schedule.publishFaults.dropFraction > 0 || r.schedule.publishFaults.duplicateFraction > 0).length,
  divergences: diverged.length,
  divergedSeeds: diverged.map((r) => r.seed),
  convergeMsMedian: median(results.map((r) => r.convergeMs)),
  minutes: Math.round((Date.now() - started) / 600) / 100,
};
console.log(`\n${JSON.stringify(summary, null, 2)}`);
const path = writeResult(values.out as string, { command: `node --import tsx test/chaos/run-chaos.ts --schedules ${seeds.length} --from ${seeds[0]}`, summary, results: results.map((r) => ({ seed: r.seed, faults: r.faults, publishFaults: r.schedule.publishFaults, churnRate: r.schedule.churnRate, divergences: r.divergences, reusedVersions: r.reusedVersions, convergeMs: r.convergeMs, serveErrorCodes: r.serveErrorCodes })) });
console.log(`wrote ${path}`);
process.exit(diverged.length === 0 ? 0 : 1);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
