// The short chaos run of `npm test` (the full one is `npm run chaos`): two seeded fault
// schedules against the whole system, then a mass restart of every agent, which must cost the
// API server nothing (issue 8).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../conformance/workload.ts';
import { runSchedule } from './run-schedule.ts';
import { ChaosSystem } from './system.ts';

describe('chaos (short run)', () => {
  // Seed 1: disk full, serve killed, NATS restarted. Seed 6: serve killed twice and NATS
  // restarted while 8% of the published messages are dropped and 3% duplicated.
  for (const seed of [1, 6]) {
    test(`schedule ${seed}: every consumer converges to the simulator, no version reused`, async () => {
      const r = await runSchedule(seed, { nodes: 50, podsPerNode: 4 });
      assert.ok(Object.values(r.faults).reduce((a, b) => a + b, 0) > 0, 'faults were injected');
      assert.deepEqual(r.divergences, []);
      assert.deepEqual(r.reusedVersions, []);
    });
  }

  test('all 50 agents restarting at once add no request to the API server', async () => {
    const system = await ChaosSystem.start({ seed: 9, nodes: 50, podsPerNode: 4, publishFaults: { dropFraction: 0, duplicateFraction: 0 }, storeOnTmpfs: false });
    try {
      assert.deepEqual(await system.converge(60_000), []);
      const requests = (): number => Object.values(system.env.api.stats().requests).reduce((sum, byKind) => sum + Object.values(byKind).reduce((a, b) => a + b, 0), 0);
      const before = requests();
      const restarted = await system.restartAgents(system.agents.size, seededRandom(9));
      assert.ok(restarted >= 50, `${restarted} agents restarted`);
      assert.deepEqual(await system.converge(60_000), []);
      assert.equal(requests() - before, 0, 'the agents bootstrapped from kubemeta over NATS, not from the API server');
    } finally {
      await system.stop();
    }
  });
});
