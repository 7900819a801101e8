import { KIND_NAMES, decodeResourceUpdate } from '../schema/index.ts';
import type { SnapshotReader, UpdateLog } from '../log/index.ts';
import { CLUSTER, type Projector } from '../project/index.ts';
import { AUX_PREFIX } from './group-committer.ts';
import { ImageUnusable, readProjectorImage, writeProjectorImage, type ImageHeader, type ImageRecord } from './projector-image.ts';

export interface RestoreResult {
  /** Live objects restored (an image's pods and containers counted like stored objects). */
  objects: number;
  /** Where the state came from: a projector image (plus the history after it), or the store. */
  from: 'image' | 'store';
  /** The image's version, and how many cluster-scope updates after it were replayed. */
  imageHead?: number;
  replayed?: number;
  /** Why an image that was there was not used (the restore read the store instead). */
  imageRefused?: string;
}

/**
 * Rebuilds the projector's memory after a restart: from the projector image (see
 * projector-image.ts) when there is one that fits the store, followed by the cluster scope's
 * history after the image's version; else from every live object of the store's cluster
 * scope. Then the aux state (EndpointSlice membership) from the store. Afterwards a resumed
 * watch or a relist publishes only differences (docs/design.md §6).
 */
export async function restoreProjector(log: UpdateLog, projector: Projector, signal?: AbortSignal, imagePath?: string): Promise<RestoreResult> {
  let result: RestoreResult | undefined;
  let imageRefused: string | undefined;
  if (imagePath !== undefined) {
    try {
      const image = await readProjectorImage(imagePath, (header) => whyNotUse(header, log));
      if (image !== undefined) {
        const objects = restoreFromImage(image.records(), projector);
        const replayed = await replayHistory(log, projector, image.header.head, signal);
        result = { objects, from: 'image', imageHead: image.header.head, replayed };
      }
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

/** Why an image's header does not fit the store, or undefined when it does. */
function whyNotUse(header: ImageHeader, log: UpdateLog): string | undefined {
  if (header.streamId !== log.streamId) return `the image is of stream ${header.streamId}, the store of ${log.streamId}`;
  if (header.head > log.head) return `the image is at version ${header.head}, ahead of the store's head ${log.head} (an older copy of the store?)`;
  if (header.head < log.floor - 1) return `the store's history after the image's version ${header.head} is compacted (floor ${log.floor})`;
  return undefined;
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

function restoreFromImage(records: Iterable<ImageRecord>, projector: Projector): number {
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

/** Replays the cluster scope's updates after `after` up to the log's head (Projector.replay). */
async function replayHistory(log: UpdateLog, projector: Projector, after: number, signal: AbortSignal | undefined): Promise<number> {
  let replayed = 0;
  let at = after;
  while (at < log.head) {
    signal?.throwIfAborted();
    const page = await log.readHistory(at, 5_000);
    if (page.length === 0) break;
    for (const u of page) {
      at = u.version;
      if (u.state === 'remove' || !u.scopes.some((s) => s.scope === CLUSTER)) continue;
      projector.replay(decodeResourceUpdate(u.payload), u.payload, u.state === 'tombstone');
      replayed++;
    }
  }
  return replayed;
}

/** What a projector image holds, captured at one moment (captureImage), written later. */
export interface ImageCapture {
  readonly head: number;
  write(path: string): Promise<{ bytes: number; records: number }>;
}

/**
 * Captures a projector image at the log's head. Call only when the projector's memory is
 * exactly the store's state at that head — nothing projected is waiting to be committed — and
 * call `write` afterwards, which may take its time: the capture is synchronous (the store's
 * read views of the other kinds open now, the pods are taken as they are now: the projector
 * replaces a pod's entry on every change, never edits one) and nothing that happens later
 * changes what is written. The records follow the store's key order, the order a restore from
 * the store takes: kinds in ASCII order, each pod with its containers.
 */
export function captureImage(log: UpdateLog, projector: Projector): ImageCapture {
  const header = { streamId: log.streamId, head: log.head };
  const kinds = KIND_NAMES.filter((k) => k !== 'Container').sort();
  // openSnapshot takes its read view before its first await: every view is at `header.head`.
  const snapshots = new Map<string, Promise<SnapshotReader>>(kinds.filter((k) => k !== 'Pod').map((k) => [k, log.openSnapshot(CLUSTER, { objectKeyPrefix: `${k}/` })]));
  for (const s of snapshots.values()) s.catch(() => undefined); // awaited in write()
  const pods = projector.capturePods();
  return {
    head: header.head,
    async write(path) {
      const others = new Map<string, Uint8Array[]>();
      try {
        for (const [kind, opening] of snapshots) {
          const snapshot = await opening;
          const payloads: Uint8Array[] = [];
          for await (const chunk of snapshot.chunks({ maxEntries: 2_000, maxBytes: 4 * 1024 * 1024 })) {
            for (const entry of chunk) if (!entry.deleted) payloads.push(entry.payload);
          }
          others.set(kind, payloads);
        }
      } finally {
        for (const opening of snapshots.values()) void opening.then((s) => s.close(), () => undefined);
      }
      function* records(): Iterable<ImageRecord> {
        for (const kind of kinds) {
          if (kind === 'Pod') for (const pod of pods) yield { type: 'pod', pod };
          else for (const payload of others.get(kind) ?? []) yield { type: 'object', payload };
        }
      }
      return writeProjectorImage(path, header, records());
    },
  };
}
