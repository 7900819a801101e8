import { decodeResourceUpdate } from '../schema/index.ts';
import type { UpdateLog } from '../log/index.ts';
import type { Projector } from '../project/index.ts';
import { AUX_PREFIX } from './group-committer.ts';

/**
 * Rebuilds the projector's memory from the store after a restart: every live object of the
 * cluster scope, then the aux state (EndpointSlice membership). Afterwards a resumed watch or a
 * relist publishes only differences (design §6). Returns the number of objects restored.
 */
export async function restoreProjector(log: UpdateLog, projector: Projector, signal?: AbortSignal): Promise<number> {
  let objects = 0;
  const snapshot = await log.openSnapshot('cluster');
  try {
    for await (const chunk of snapshot.chunks({ maxEntries: 2_000, maxBytes: 4 * 1024 * 1024, ...(signal ? { signal } : {}) })) {
      for (const entry of chunk) {
        if (entry.deleted) continue;
        projector.restore(decodeResourceUpdate(entry.payload), entry.payload);
        objects++;
      }
    }
  } finally {
    snapshot.close();
  }
  let after: string | undefined;
  do {
    const page = await log.listMeta(AUX_PREFIX, { limit: 1_000, ...(after !== undefined ? { after } : {}) });
    for (const { name, value } of page.entries) projector.restoreAux(name.slice(AUX_PREFIX.length), value);
    after = page.next;
  } while (after !== undefined);
  projector.finishRestore();
  return objects;
}
