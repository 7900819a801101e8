// What an SDK client holds, in the shape cluster-truth.ts compares with the simulator.
import { kindFromWire, type ResourceUpdate } from '../../src/schema/index.ts';
import type { StateView } from '../../src/sdk/index.ts';

/** A client's state as the update map cluster-truth.ts summarizes. */
export function heldUpdates(state: StateView): Map<string, ResourceUpdate> {
  const m = new Map<string, ResourceUpdate>();
  const add = (key: string, object: ResourceUpdate['object']): void => void m.set(key, { object } as ResourceUpdate);
  for (const v of state.pods()) add(`Pod/${v.uid}`, { case: 'pod', value: v });
  for (const v of state.containers({ includeStopped: true })) add(`Container/${v.containerId}`, { case: 'container', value: v });
  for (const v of state.services()) add(`Service/${v.uid}`, { case: 'service', value: v });
  for (const v of state.namespaces()) add(`Namespace/${v.uid}`, { case: 'namespace', value: v });
  for (const v of state.nodes()) add(`Node/${v.uid}`, { case: 'node', value: v });
  for (const v of state.workloads()) add(`${kindFromWire(v.kind)}/${v.uid}`, { case: 'workload', value: v });
  return m;
}
