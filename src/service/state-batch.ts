import type { PendingUpdate } from '../log/index.ts';

/**
 * Reduces a batch that is committed as current state only (the initial sync of a new stream,
 * `CommitOptions.history` false) to what its scopes hold at its end: no consumer sees the
 * versions in between, so only the last update of each object on each scope counts.
 *
 * - An update survives on the scopes where nothing later in the batch replaced it (a Service's
 *   node view rebuilt as each member pod is listed keeps only its last form).
 * - Views of one object that carry the same payload (a ReplicaSet's identity entering one node
 *   scope after another, one `withScopes` copy per node) become one update on all those
 *   scopes: one version and one history record instead of one per node.
 *
 * Survivors keep their order in the batch, so when two of them write the same object's
 * latest state (the object table), the later one still wins.
 */
export function reduceToState(updates: readonly PendingUpdate[]): PendingUpdate[] {
  // objectKey → scope → the last update of that object on that scope.
  const last = new Map<string, Map<string, PendingUpdate>>();
  for (const u of updates) {
    let byScope = last.get(u.objectKey);
    if (!byScope) last.set(u.objectKey, (byScope = new Map()));
    for (const scope of u.scopes) byScope.set(scope, u);
  }
  const survivingScopes = new Map<PendingUpdate, string[]>();
  for (const byScope of last.values()) {
    for (const [scope, u] of byScope) {
      let scopes = survivingScopes.get(u);
      if (!scopes) survivingScopes.set(u, (scopes = []));
      scopes.push(scope);
    }
  }
  const out: PendingUpdate[] = [];
  // Views of one object with the same payload bytes (the same array) merge into the first.
  const views = new Map<string, Map<Uint8Array, PendingUpdate & { scopes: string[] }>>();
  for (const u of updates) {
    const scopes = survivingScopes.get(u);
    if (!scopes) continue;
    survivingScopes.delete(u);
    if (u.viewOnly === true && u.state === 'upsert') {
      let byPayload = views.get(u.objectKey);
      if (!byPayload) views.set(u.objectKey, (byPayload = new Map()));
      const merged = byPayload.get(u.payload);
      if (merged) {
        merged.scopes.push(...scopes);
        continue;
      }
      const copy = { ...u, scopes: [...scopes] };
      byPayload.set(u.payload, copy);
      out.push(copy);
      continue;
    }
    out.push(scopes.length === u.scopes.length ? u : { ...u, scopes });
  }
  return out;
}
