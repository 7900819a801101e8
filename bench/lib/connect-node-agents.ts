// Shared by the bench children that run node agents: one NodeAgentClient per node, each in sync.
import { NodeAgentClient } from '../../src/sdk/index.ts';

export async function connectNodeAgents(natsUrl: string, cluster: string, nodes: readonly string[]): Promise<NodeAgentClient[]> {
  return Promise.all(
    nodes.map(async (node) => {
      const signal = AbortSignal.timeout(300_000);
      const a = await NodeAgentClient.connect({ servers: natsUrl, cluster, node, agentInstanceId: `bench-${node}`, signal });
      await a.whenInSync(signal);
      return a;
    }),
  );
}
