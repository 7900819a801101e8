import { sameJson } from '../model/json.ts';
import type { KubeObject } from '../model/objects.ts';
import { rfc3339 } from './time.ts';

/**
 * Status of workload objects computed from their pods and ReplicaSets, shared by the
 * controllers and the scenario's populate so that a populated cluster is exactly what the
 * controllers would have produced (a resync right after populate writes nothing).
 * Zero counts are left out, as Go's omitempty leaves them out of real objects.
 */
type Json = Record<string, unknown>;

export interface ReplicaCounts {
  readonly replicas: number;
  readonly ready: number;
}

export function replicaSetStatus(rs: KubeObject, counts: ReplicaCounts): Json {
  return {
    replicas: counts.replicas,
    ...(counts.replicas ? { fullyLabeledReplicas: counts.replicas } : {}),
    ...(counts.ready ? { readyReplicas: counts.ready, availableReplicas: counts.ready } : {}),
    ...(rs.metadata.generation ? { observedGeneration: rs.metadata.generation } : {}),
  };
}

function num(status: Json | undefined, field: string): number {
  const v = status?.[field];
  return typeof v === 'number' ? v : 0;
}

export function statusOf(o: KubeObject | undefined): Json | undefined {
  return o?.['status'] as Json | undefined;
}

export function specReplicas(o: KubeObject): number {
  const r = (o['spec'] as Json | undefined)?.['replicas'];
  return typeof r === 'number' ? r : 1;
}

/** maxSurge/maxUnavailable of a rolling update, resolved against the desired replicas. */
export function rollingLimits(d: KubeObject): { surge: number; unavailable: number } {
  const desired = specReplicas(d);
  const ru = ((d['spec'] as Json)['strategy'] as { rollingUpdate?: { maxSurge?: unknown; maxUnavailable?: unknown } } | undefined)?.rollingUpdate;
  const surge = resolveLimit(ru?.maxSurge, desired, Math.ceil);
  const unavailable = resolveLimit(ru?.maxUnavailable, desired, Math.floor);
  return surge === 0 && unavailable === 0 ? { surge: 0, unavailable: 1 } : { surge, unavailable };
}

/** An absolute number, or a percentage of `desired` (25% when unset), rounded with `round`. */
function resolveLimit(v: unknown, desired: number, round: (x: number) => number): number {
  if (typeof v === 'number') return v;
  const m = typeof v === 'string' ? /^(\d+)%$/.exec(v) : null;
  return round(((m ? Number(m[1]) : 25) * desired) / 100);
}

/** A Deployment's status from its ReplicaSets; condition times move only when a condition changes. */
export function deploymentStatus(d: KubeObject, newRs: KubeObject | undefined, all: readonly KubeObject[], nowMs: number): Json {
  const desired = specReplicas(d);
  let replicas = 0;
  let ready = 0;
  let available = 0;
  let specTotal = 0;
  for (const rs of all) {
    replicas += num(statusOf(rs), 'replicas');
    ready += num(statusOf(rs), 'readyReplicas');
    available += num(statusOf(rs), 'availableReplicas');
    specTotal += specReplicas(rs);
  }
  const updated = num(statusOf(newRs), 'replicas');
  const unavailable = Math.max(0, specTotal - available);
  const { unavailable: maxUnavailable } = rollingLimits(d);
  const complete = newRs !== undefined && updated === desired && replicas === desired && available === desired;
  const prev = (statusOf(d)?.['conditions'] ?? []) as Json[];
  const at = rfc3339(nowMs);
  const conditions = [
    available >= desired - maxUnavailable
      ? condition(prev, at, 'Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
      : condition(prev, at, 'Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
    complete
      ? condition(prev, at, 'Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${newRs.metadata.name}" has successfully progressed.`)
      : condition(prev, at, 'Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${newRs?.metadata.name ?? d.metadata.name}" is progressing.`),
  ];
  return {
    ...(d.metadata.generation ? { observedGeneration: d.metadata.generation } : {}),
    ...(replicas ? { replicas } : {}),
    ...(updated ? { updatedReplicas: updated } : {}),
    ...(ready ? { readyReplicas: ready } : {}),
    ...(available ? { availableReplicas: available } : {}),
    ...(unavailable ? { unavailableReplicas: unavailable } : {}),
    conditions,
  };
}

/** A condition that keeps its times while it says the same thing. */
function condition(prev: readonly Json[], at: string, type: string, status: string, reason: string, message: string): Json {
  const old = prev.find((c) => c['type'] === type);
  const same = old?.['status'] === status && old['reason'] === reason && old['message'] === message;
  return {
    type,
    status,
    lastUpdateTime: same ? old['lastUpdateTime'] : at,
    lastTransitionTime: old?.['status'] === status ? old['lastTransitionTime'] : at,
    reason,
    message,
  };
}

export function daemonSetStatus(ds: KubeObject, desired: number, pods: ReplicaCounts): Json {
  return {
    currentNumberScheduled: pods.replicas,
    desiredNumberScheduled: desired,
    ...(pods.ready ? { numberAvailable: pods.ready } : {}),
    numberMisscheduled: 0,
    numberReady: pods.ready,
    ...(desired - pods.ready > 0 ? { numberUnavailable: desired - pods.ready } : {}),
    ...(ds.metadata.generation ? { observedGeneration: ds.metadata.generation } : {}),
    ...(pods.replicas ? { updatedNumberScheduled: pods.replicas } : {}),
  };
}

export function statefulSetStatus(sts: KubeObject, revision: string, pods: ReplicaCounts): Json {
  return {
    ...(pods.ready ? { availableReplicas: pods.ready } : {}),
    collisionCount: 0,
    ...(pods.replicas ? { currentReplicas: pods.replicas } : {}),
    currentRevision: revision,
    ...(sts.metadata.generation ? { observedGeneration: sts.metadata.generation } : {}),
    ...(pods.ready ? { readyReplicas: pods.ready } : {}),
    replicas: pods.replicas,
    updateRevision: revision,
    ...(pods.replicas ? { updatedReplicas: pods.replicas } : {}),
  };
}

/** The object with `status` replaced, or undefined when the status would not change. */
export function withStatus(o: KubeObject, status: Json): KubeObject | undefined {
  return sameJson(statusOf(o), status) ? undefined : { ...o, status };
}
