import type { KubeObject } from '../model/objects.ts';
import { MAX_ENDPOINTS_PER_SLICE, type Member } from '../kinds/service-factory.ts';

/**
 * Which members go into which EndpointSlice. As the real endpointslice controller does, an
 * endpoint stays in the slice it is in, gone endpoints leave their slices, and new ones fill
 * slices that have room before a new slice is made — so one pod change rewrites one slice,
 * not every slice of a big service. A service with no members keeps one empty slice.
 */
export interface SlicePlan {
  /** Existing slices and their new members (an empty list: delete the slice). */
  readonly keep: ReadonlyArray<{ readonly slice: KubeObject; readonly members: readonly Member[] }>;
  /** Member lists of slices to create. */
  readonly create: ReadonlyArray<readonly Member[]>;
  /** true: no members at all; the first kept (or a created) slice is the placeholder. */
  readonly empty: boolean;
}

export function planSlices(existing: readonly KubeObject[], members: readonly Member[]): SlicePlan {
  const byUid = new Map<string, Member>();
  for (const m of members) byUid.set(m.podUid, m);
  const placed = new Set<string>();
  const keep = existing.map((slice) => {
    const kept: Member[] = [];
    for (const uid of endpointUids(slice)) {
      const m = byUid.get(uid);
      if (m && !placed.has(uid) && kept.length < MAX_ENDPOINTS_PER_SLICE) {
        kept.push(m);
        placed.add(uid);
      }
    }
    return { slice, members: kept };
  });
  const remaining = members.filter((m) => !placed.has(m.podUid));
  let next = 0;
  for (const k of keep) {
    while (k.members.length < MAX_ENDPOINTS_PER_SLICE && next < remaining.length) (k.members as Member[]).push(remaining[next++] as Member);
  }
  const create: Member[][] = [];
  for (; next < remaining.length; next += MAX_ENDPOINTS_PER_SLICE) create.push(remaining.slice(next, next + MAX_ENDPOINTS_PER_SLICE));
  return { keep, create, empty: members.length === 0 };
}

function endpointUids(slice: KubeObject): string[] {
  const endpoints = (slice['endpoints'] ?? []) as Array<{ targetRef?: { uid?: string } }>;
  const out: string[] = [];
  for (const e of endpoints) if (e.targetRef?.uid) out.push(e.targetRef.uid);
  return out;
}
