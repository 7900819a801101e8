// Node agents for bench/churn-latency.ts: one SDK NodeAgentClient per node (each with its own
// NATS connection, as one agent per node has), in one child process, so that the simulator's
// churn in the bench process does not delay the agents' event loop. It reports, over IPC, the
// moment each pod change is applied to an agent's state (read from `changes()`), so the bench
// can match it with the simulator write that caused it.
//
//   BENCH_CHURN_AGENTS='<json: ChurnAgentsConfig>' node --import tsx bench/lib/churn-agents.ts
// Sends {type:'synced'} once every agent is in sync, then {type:'changes'} batches every
// `reportEveryMs`, until it is killed. Times are epoch ms (performance.timeOrigin +
// performance.now()), comparable with the bench process on the same machine.
import { connectNodeAgents } from './connect-node-agents.ts';
import type { Change, NodeAgentClient } from '../../src/sdk/index.ts';
import type { PodUpdate } from '../../src/schema/index.ts';

export interface ChurnAgentsConfig {
  natsUrl: string;
  cluster: string;
  nodes: string[];
  /** The label the bench's probe writes set on pods (value: the probe's sequence number). */
  probeLabel: string;
  reportEveryMs: number;
}

/** A pod change applied to an agent's state: [pod uid, probe sequence number or -1, epoch ms]. */
export type PodChangeRow = [string, number, number];

export type ChurnAgentsMessage =
  | { type: 'synced'; agents: number; pods: number; ms: number }
  | {
      type: 'changes';
      rows: PodChangeRow[];
      /** Since the last report: changes lost by a slow changes() reader, gaps repaired by replay. */
      overflows: number;
      gaps: number;
      bootstraps: number;
    };

const config = JSON.parse(process.env['BENCH_CHURN_AGENTS'] ?? '{}') as ChurnAgentsConfig;
const now = (): number => performance.timeOrigin + performance.now();
const started = performance.now();
process.on('disconnect', () => process.exit(0));

const agents = await connectNodeAgents(config.natsUrl, config.cluster, config.nodes);

let rows: PodChangeRow[] = [];
const counts = { overflows: 0, gaps: 0, bootstraps: 0 };
for (const agent of agents) {
  void follow(agent.changes());
  void watchStatus(agent);
}
process.send?.({ type: 'synced', agents: agents.length, pods: agents.reduce((n, a) => n + a.state.pods().length, 0), ms: Math.round(performance.now() - started) } satisfies ChurnAgentsMessage);
setInterval(() => {
  const out: ChurnAgentsMessage = { type: 'changes', rows, ...counts };
  rows = [];
  counts.overflows = counts.gaps = counts.bootstraps = 0;
  process.send?.(out);
}, config.reportEveryMs);

/** Every pod change as it is applied; a probe is reported when its label value is new for the pod. */
async function follow(changes: AsyncIterableIterator<Change>): Promise<void> {
  const probeSeen = new Map<string, string>();
  for await (const c of changes) {
    const at = now();
    if (c.type === 'overflow') {
      counts.overflows += c.dropped;
      continue;
    }
    if (c.type === 'snapshot' || c.kind !== 'Pod') continue;
    let probe = -1;
    if (c.type !== 'removed') {
      const value = (c.object as PodUpdate).labels[config.probeLabel];
      if (value !== undefined && probeSeen.get(c.uid) !== value) {
        probeSeen.set(c.uid, value);
        probe = Number(value);
      }
    }
    rows.push([c.uid, probe, at]);
  }
}

async function watchStatus(agent: NodeAgentClient): Promise<void> {
  for await (const s of agent.status()) {
    if (s.type === 'gap') counts.gaps++;
    else if (s.type === 'bootstrapStarted') counts.bootstraps++;
  }
}
