import { KIND_NAMES, decodeResourceUpdate } from '../schema/index.ts';
import type { UpdateLog } from '../log/index.ts';
import { CLUSTER, type Projector } from '../project/index.ts';
import { AUX_PREFIX } from './group-committer.ts';
import { ImageUnusable, takeProjectorImage, writeProjectorImage, type ImageRecord } from './projector-image.ts';

export interface RestoreResult {
  /** Live objects restored (an image's pods and containers counted like stored objects). */
  objects: number;
  /** Where the state came from: the projector image of the last graceful stop, or the store. */
  from: 'image' | 'store';
  /** Why an image that was there was not used (the restore read the store instead). */
  imageRefused?: string;
}

/**
 * Rebuilds the projector's memory after a restart: from the projector image the last graceful
 * stop wrote (`imagePath`, see projector-image.ts) when it fits the store, else from every live
 * object of the store's cluster scope; then the aux state (EndpointSlice membership) from the
 * store. Afterwards a resumed watch or a relist publishes only differences (design §6).
 */
export async function restoreProjector(log: UpdateLog, projector: Projector, signal?: AbortSignal, imagePath?: string): Promise<RestoreResult> {
  let result: RestoreResult | undefined;
  let imageRefused: string | undefined;
  if (imagePath !== undefined) {
    try {
      const records = await takeProjectorImage(imagePath, { streamId: log.streamId, head: log.head });
      if (records !== undefined) result = { objects: restoreFromImage(records, projector), from: 'image' };
    } catch (err) {
      if (!(err instanceof ImageUnusable)) throw err;
      imageRefused = err.message;
    }
  }
  result ??= { objects: await restoreFromStore(log, projector, signal), from: 'store', ...(imageRefused === undefined ? {} : { imageRefused }) };
  let after: string | undefined;
  do {
    const page = await log.listMeta(AUX_PREFIX, { limit: 1_000, ...(after !== undefined ? { after } : {}) });
    for (const { name, value } of page.entries) projector.restoreAux(name.slice(AUX_PREFIX.length), value);
    after = page.next;
  } while (after !== undefined);
  projector.finishRestore();
  return result;
}

async function restoreFromStore(log: UpdateLog, projector: Projector, signal: AbortSignal | undefined): Promise<number> {
  let objects = 0;
  const snapshot = await log.openSnapshot(CLUSTER);
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
  return objects;
}

function restoreFromImage(records: readonly ImageRecord[], projector: Projector): number {
  let objects = 0;
  for (const r of records) {
    if (r.type === 'object') {
      projector.restore(decodeResourceUpdate(r.payload), r.payload);
      objects++;
    } else {
      projector.restorePodImage(r.pod);
      objects++;
      for (const c of r.pod.containers) if (c.payload !== undefined) objects++;
    }
  }
  return objects;
}

/**
 * Writes the projector image for the next start (see projector-image.ts). Call only when the
 * projector's memory is exactly the store's state at the log's head: after the last commit of
 * a graceful stop, nothing in flight. The records follow the store's key order, the order a
 * restore from the store takes: kinds in ASCII order, each pod with its containers.
 */
export async function writeImage(log: UpdateLog, projector: Projector, imagePath: string): Promise<{ bytes: number; records: number }> {
  const header = { streamId: log.streamId, head: log.head };
  const kinds = KIND_NAMES.filter((k) => k !== 'Container').sort();
  const others = new Map<string, Uint8Array[]>();
  for (const kind of kinds) {
    if (kind === 'Pod') continue;
    const payloads: Uint8Array[] = [];
    const snapshot = await log.openSnapshot(CLUSTER, { objectKeyPrefix: `${kind}/` });
    try {
      for await (const chunk of snapshot.chunks({ maxEntries: 2_000, maxBytes: 4 * 1024 * 1024 })) {
        for (const entry of chunk) if (!entry.deleted) payloads.push(entry.payload);
      }
    } finally {
      snapshot.close();
    }
    others.set(kind, payloads);
  }
  if (log.head !== header.head) throw new Error('the log moved on while the projector image was being written');
  function* records(): Iterable<ImageRecord> {
    for (const kind of kinds) {
      if (kind === 'Pod') for (const pod of projector.podImages()) yield { type: 'pod', pod };
      else for (const payload of others.get(kind) ?? []) yield { type: 'object', payload };
    }
  }
  return writeProjectorImage(imagePath, header, records());
}
