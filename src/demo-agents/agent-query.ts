import type { Upid } from '../schema/index.ts';
import { parseLabelSelector, type Hydration, type LabelSelector } from '../sdk/index.ts';
import {
  bucketOf,
  newPartial,
  toSparse,
  type AgentQueryRequest,
  type Dimension,
  type GroupKey,
  type GroupPartial,
  type TelemetryFilter,
  type WireGroup,
} from '../telemetry/index.ts';
import type { TelemetryRing } from './telemetry-ring.ts';

/** Turns UPIDs into metadata, rows[i] → result[i] (NodeAgentClient.hydrateBatch). */
export type BatchHydrator = (rows: readonly Upid[], out: Array<Hydration | undefined>) => Array<Hydration | undefined>;

export interface AgentQueryResult {
  readonly groups: WireGroup[];
  readonly scanned: number;
  readonly matched: number;
  readonly unhydrated: number;
  readonly groupsTruncated: boolean;
  /** Time spent in hydrateBatch (for the rows/s figure). */
  readonly hydrateMs: number;
}

/** Scratch arrays reused across queries of one agent (no allocation per row). */
export interface QueryScratch {
  slots: number[];
  upids: Upid[];
  hydrations: Array<Hydration | undefined>;
}

export function newQueryScratch(): QueryScratch {
  return { slots: [], upids: [], hydrations: [] };
}

/**
 * Answers a query from an agent's ring: the rows of the window are hydrated in one batch with
 * the agent's local metadata, filtered and folded into mergeable partials per group. The
 * filter and the group keys depend only on the hydration, which the SDK shares by container,
 * so they are computed once per container, not per row.
 */
export function runAgentQuery(ring: TelemetryRing, hydrate: BatchHydrator, request: AgentQueryRequest, scratch: QueryScratch): AgentQueryResult {
  const n = ring.window(request.fromMs, request.toMs, scratch.slots, scratch.upids);
  const hydrateStarted = performance.now();
  const hydrations = hydrate(scratch.upids, scratch.hydrations);
  const hydrateMs = performance.now() - hydrateStarted;
  const matcher = makeMatcher(request.filter);
  const groups = new Map<string, GroupPartial>();
  const perContainer = new Map<Hydration, GroupPartial[] | null>();
  let matched = 0;
  let unhydrated = 0;
  let truncated = false;
  const groupsOf = (h: Hydration): GroupPartial[] | null => {
    if (!matcher(h)) return null;
    const out: GroupPartial[] = [];
    for (const key of groupKeys(h, request.groupBy)) {
      const id = JSON.stringify(key);
      let g = groups.get(id);
      if (!g) {
        if (groups.size >= request.maxGroups) {
          truncated = true;
          continue;
        }
        groups.set(id, (g = newPartial(key, request.histogram)));
      }
      out.push(g);
    }
    return out;
  };
  for (let k = 0; k < n; k++) {
    const h = hydrations[k];
    if (h === undefined) {
      unhydrated++;
      continue;
    }
    let targets = perContainer.get(h);
    if (targets === undefined) perContainer.set(h, (targets = groupsOf(h)));
    if (targets === null) continue;
    matched++;
    const slot = scratch.slots[k] as number;
    const latency = ring.latencyAt(slot);
    const isError = ring.statusAt(slot) >= 500;
    const bucket = request.histogram ? bucketOf(latency) : 0;
    for (const g of targets) {
      g.count++;
      if (isError) g.errors++;
      g.sum += latency;
      if (latency > g.max) g.max = latency;
      if (g.hist) g.hist[bucket] = (g.hist[bucket] as number) + 1;
    }
  }
  scratch.hydrations.length = 0; // let go of the hydrations between queries
  const wire: WireGroup[] = [...groups.values()].map((g) => ({
    key: g.key, count: g.count, errors: g.errors, sum: g.sum, max: g.max, ...(g.hist ? { hist: toSparse(g.hist) } : {}),
  }));
  return { groups: wire, scanned: n, matched, unhydrated, groupsTruncated: truncated, hydrateMs };
}

/** A predicate over hydrations for the filter (every given field must hold). */
export function makeMatcher(f: TelemetryFilter): (h: Hydration) => boolean {
  const selector: LabelSelector | undefined = f.labelSelector === undefined ? undefined : parseLabelSelector(f.labelSelector);
  return (h) =>
    (f.namespace === undefined || h.namespace === f.namespace) &&
    (f.service === undefined || h.services.includes(f.service)) &&
    (f.pod === undefined || h.podName === f.pod || h.podUid === f.pod) &&
    (f.node === undefined || h.node === f.node) &&
    (f.deployment === undefined || h.deployment === f.deployment) &&
    (f.container === undefined || h.containerName === f.container) &&
    (selector === undefined || selector.matches(h.labels));
}

/**
 * The groups a row belongs to. Every dimension has one value except `service`: a pod behind
 * two Services counts in both groups (as a per-service dashboard expects); a pod behind none
 * has the key null there. Namespaced names (service, pod, deployment) are `namespace/name`, so
 * two namespaces' `api` never merge into one group.
 */
export function groupKeys(h: Hydration, groupBy: readonly Dimension[]): GroupKey[] {
  let keys: Array<Array<string | null>> = [[]];
  for (const dim of groupBy) {
    const values = dimensionValues(h, dim);
    keys = keys.flatMap((k) => values.map((v) => [...k, v]));
  }
  return keys;
}

function dimensionValues(h: Hydration, dim: Dimension): ReadonlyArray<string | null> {
  switch (dim) {
    case 'service':
      return h.services.length > 0 ? h.services.map((s) => `${h.namespace}/${s}`) : [null];
    case 'pod':
      return [h.podName ? `${h.namespace}/${h.podName}` : null];
    case 'namespace':
      return [h.namespace || null];
    case 'node':
      return [h.node || null];
    case 'deployment':
      return [h.deployment === undefined ? null : `${h.namespace}/${h.deployment}`];
    case 'container':
      return [h.containerName || null];
  }
}
