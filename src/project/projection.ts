import { create } from '@bufbuild/protobuf';
import { encodeResourceUpdate, ResourceUpdateSchema, ScopeExitSchema, kinds, type Kind, type ResourceUpdate } from '../schema/index.ts';

/** How an update changes the current state of each scope it is published on. */
export type StateEffect = 'upsert' | 'tombstone' | 'remove';

/**
 * One update ready for the log: encoded once (`payload`), with every scope it goes to. The
 * log assigns its version and per-scope prevVersion.
 */
export interface ProjectedUpdate {
  /** `<Kind>/<uid>` (the container id for a Container): identity by uid, docs/design.md §8. */
  readonly objectKey: string;
  readonly kind: Kind;
  readonly update: ResourceUpdate;
  readonly payload: Uint8Array;
  readonly scopes: readonly string[];
  readonly state: StateEffect;
  /**
   * Sent to node scopes without changing the object (an object entering a node's scope, a
   * node's view of a service): the log leaves the object's latest state as the cluster scope's
   * update set it (PendingUpdate.viewOnly).
   */
  readonly viewOnly?: boolean;
}

/**
 * State the projector needs after a restart that is not in any published update (which
 * EndpointSlice lists which pods). The service writes these in the same store commit as the
 * updates, so the projector's memory and the published stream never disagree.
 */
export interface AuxChange {
  readonly key: string;
  readonly value: Uint8Array | undefined;
}

/** What one source event (or list page) produced. */
export interface Projection {
  readonly updates: ProjectedUpdate[];
  readonly aux: AuxChange[];
}

export function emptyProjection(): Projection {
  return { updates: [], aux: [] };
}

export const CLUSTER = 'cluster';

export function nodeScopeName(node: string): string {
  return `node/${node}`;
}

export function objectKey(kind: Kind, uid: string): string {
  return `${kind}/${uid}`;
}

type UpdateCase = Exclude<ResourceUpdate['object']['case'], undefined>;
type CaseValue<C extends UpdateCase> = Extract<ResourceUpdate['object'], { case: C }>['value'];

/** Wraps one object message in a ResourceUpdate and encodes it (once). */
export function makeUpdate<C extends UpdateCase>(
  kind: Kind,
  uid: string,
  which: C,
  value: CaseValue<C>,
  scopes: readonly string[],
  state: StateEffect,
): ProjectedUpdate {
  const update = create(ResourceUpdateSchema, { object: { case: which, value } as ResourceUpdate['object'] });
  return { objectKey: objectKey(kind, uid), kind, update, payload: encodeResourceUpdate(update), scopes, state };
}

/** The object leaves `scope` without being deleted. */
export function makeScopeExit(kind: Kind, uid: string, scope: string): ProjectedUpdate {
  return makeUpdate(kind, uid, 'scopeExit', create(ScopeExitSchema, { kind: kinds[kind].wire, uid }), [scope], 'remove');
}

/** The same payload sent to other scopes (a namespace entering a node scope): no re-encode. */
export function withScopes(update: ProjectedUpdate, scopes: readonly string[]): ProjectedUpdate {
  return { ...update, scopes, state: 'upsert', viewOnly: true };
}
