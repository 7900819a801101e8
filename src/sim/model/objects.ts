import type { ObjectEventType } from '../../core/index.ts';

/**
 * The shape of the Kubernetes objects the sim stores: only what every object has is typed;
 * the rest of each object is plain JSON, exactly as a client sends or receives it.
 */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  generateName?: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  deletionTimestamp?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** An object as a client submits it: uid, resourceVersion and creationTimestamp may be missing. */
export interface KubeObjectInput {
  apiVersion: string;
  kind: string;
  metadata: Partial<ObjectMeta> & { name?: string; generateName?: string };
  [field: string]: unknown;
}

/**
 * A committed version of an object. Immutable: the model replaces the record on every write,
 * so a LIST snapshot can hold records while writes go on. `json` is the object serialized once
 * at write time, so LIST pages and watch events are served without re-encoding.
 */
export interface StoredObject {
  readonly kind: string;
  /** `<namespace>/<name>` for namespaced kinds, `<name>` otherwise; the LIST order. */
  readonly key: string;
  readonly object: KubeObject;
  readonly json: string;
  readonly rv: number;
}

/** One committed change. For DELETED, `stored` is the last state with the deletion's rv. */
export interface ModelEvent {
  readonly type: ObjectEventType;
  readonly stored: StoredObject;
}
