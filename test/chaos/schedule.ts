// Seeded fault schedules for the chaos suite (issue 8): the same seed gives the same faults at
// the same offsets, so a divergence found in a long run is reproduced with `--seed N`.
import { seededRandom } from '../conformance/workload.ts';

export type FaultKind =
  /** kill -9 of `kubemeta serve`, restarted after a pause. */
  | 'killServe'
  /** kill -9 of nats-server, restarted on the same port after a pause. */
  | 'restartNats'
  /** The API server closes every watch (or resets the connections). */
  | 'dropWatches'
  /** The next watches are answered 410 Gone: the service relists, publishing only differences. */
  | 'expireWatches'
  /** The API server stalls its responses for a while. */
  | 'stallApi'
  /** Some node agents die and come back (half of them with their persisted state). */
  | 'restartAgents'
  /** The store's disk fills up for a while (only with the store on a small tmpfs). */
  | 'diskFull';

export interface Fault {
  atMs: number;
  kind: FaultKind;
  /** Pause before the restart / how long the stall or full disk lasts. */
  durationMs: number;
  /** restartAgents: how many; dropWatches: 1 = reset the connections instead of ending them. */
  amount: number;
}

export interface Schedule {
  seed: number;
  /** Churn actions per second on the simulator while the faults run. */
  churnRate: number;
  /** How long the faults phase lasts. */
  windowMs: number;
  /** Messages serve drops / duplicates on purpose for this whole schedule. */
  publishFaults: { dropFraction: number; duplicateFraction: number };
  faults: Fault[];
}

const KINDS: readonly FaultKind[] = ['killServe', 'restartNats', 'dropWatches', 'expireWatches', 'stallApi', 'restartAgents', 'diskFull'];

export function makeSchedule(seed: number, options: { windowMs?: number; maxFaults?: number; diskFull?: boolean } = {}): Schedule {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const windowMs = options.windowMs ?? 8_000;
  const kinds = KINDS.filter((k) => k !== 'diskFull' || options.diskFull === true);
  const count = 1 + Math.floor(random() * (options.maxFaults ?? 4));
  const faults: Fault[] = [];
  for (let i = 0; i < count; i++) {
    const kind = pick(kinds);
    faults.push({
      atMs: Math.round(random() * windowMs * 0.8),
      kind,
      durationMs: 200 + Math.round(random() * 1_800),
      amount: kind === 'restartAgents' ? 1 + Math.floor(random() * 10) : Math.floor(random() * 2),
    });
  }
  faults.sort((a, b) => a.atMs - b.atMs);
  const lossy = random() < 0.4;
  return {
    seed,
    churnRate: 5 + Math.round(random() * 25),
    windowMs,
    publishFaults: lossy ? { dropFraction: Math.round(random() * 10) / 100, duplicateFraction: Math.round(random() * 5) / 100 } : { dropFraction: 0, duplicateFraction: 0 },
    faults,
  };
}
