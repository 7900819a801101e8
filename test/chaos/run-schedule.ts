// Runs one seeded fault schedule against a fresh ChaosSystem and reports what happened: the
// faults injected, and after the system is left alone, what still differs from the simulator
// (divergences), versions reused, and chains the live stream saw broken without repair.
import { sleep } from '../../src/core/index.ts';
import { seededRandom } from '../conformance/workload.ts';
import { makeSchedule, type FaultKind, type Schedule } from './schedule.ts';
import { ChaosSystem } from './system.ts';

export interface ScheduleResult {
  seed: number;
  schedule: Schedule;
  faults: Partial<Record<FaultKind, number>>;
  /** Consumers' differences from the truth once the faults stopped (must be empty). */
  divergences: string[];
  /** Versions that named two different objects (must be empty). */
  reusedVersions: string[];
  /** How long the consumers took to converge after the last fault (ms). */
  convergeMs: number;
  durationMs: number;
  /** Error codes serve logged during the schedule (e.g. LOG_STORE_FULL while the disk was full). */
  serveErrorCodes: string[];
}

export interface RunOptions {
  nodes?: number;
  podsPerNode?: number;
  windowMs?: number;
  convergeTimeoutMs?: number;
  log?: (line: string) => void;
}

export async function runSchedule(seed: number, options: RunOptions = {}): Promise<ScheduleResult> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const storeOnTmpfs = process.getuid?.() === 0;
  const schedule = makeSchedule(seed, { windowMs: options.windowMs ?? 8_000, diskFull: storeOnTmpfs });
  const random = seededRandom(seed ^ 0x5eed);
  const system = await ChaosSystem.start({ seed, nodes: options.nodes ?? 50, podsPerNode: options.podsPerNode ?? 4, publishFaults: schedule.publishFaults, storeOnTmpfs });
  const faults: Partial<Record<FaultKind, number>> = {};
  const count = (k: FaultKind): void => void (faults[k] = (faults[k] ?? 0) + 1);
  try {
    const t0 = Date.now();
    system.env.engine.startChurn({ ratePerSecond: schedule.churnRate });
    for (const fault of schedule.faults) {
      const wait = t0 + fault.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      log(`  seed ${seed} +${Date.now() - t0} ms ${fault.kind} (${fault.durationMs} ms, ${fault.amount})`);
      switch (fault.kind) {
        case 'killServe':
          await system.killServe();
          await sleep(fault.durationMs);
          system.startServe();
          break;
        case 'restartNats':
          await system.killNats();
          await sleep(fault.durationMs);
          await system.startNats();
          break;
        case 'dropWatches':
          system.env.api.faults.dropAllWatches(fault.amount === 1 ? 'reset' : 'end');
          break;
        case 'expireWatches':
          // The resumed watches find their resourceVersion expired: 410, relist, differences only.
          system.env.api.faults.compactHistory();
          system.env.api.faults.dropAllWatches('end');
          break;
        case 'stallApi':
          system.env.api.faults.stall(fault.durationMs, 50);
          break;
        case 'restartAgents':
          await system.restartAgents(fault.amount, random);
          break;
        case 'diskFull':
          if (!system.canFillDisk) continue;
          await system.fillDisk(fault.durationMs);
          break;
      }
      count(fault.kind);
    }
    const left = t0 + schedule.windowMs - Date.now();
    if (left > 0) await sleep(left);
    await system.env.engine.stopChurn();
    await system.env.engine.controllers.settle();
    await system.waitReady(60_000);
    const quiet = Date.now();
    const divergences = await system.converge(options.convergeTimeoutMs ?? 60_000);
    if (divergences.length > 0) log(`  seed ${seed} DIVERGED:\n    ${divergences.join('\n    ')}\n  serve output:\n${system.serveOutput().slice(-2000)}`);
    return {
      seed,
      schedule,
      faults,
      divergences,
      reusedVersions: [...system.collector.reused],
      convergeMs: Date.now() - quiet,
      durationMs: Date.now() - started,
      serveErrorCodes: [...new Set([...system.serveOutput().matchAll(/"code":"([A-Z_]+)"/g)].map((m) => m[1] as string))].sort(),
    };
  } finally {
    await system.stop();
  }
}
