import type { ObjectEventType } from '../core/index.ts';

/**
 * What the source knows of a Kubernetes object: only the metadata it needs to track
 * resourceVersions. The rest is the API server's JSON, passed on untouched; the project
 * stage validates it.
 */
export interface RawObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export type WatchEvent =
  | { type: ObjectEventType; object: RawObject }
  /**
   * `initialEventsEnd`: the bookmark that ends a WatchList's initial events (annotation
   * `k8s.io/initial-events-end: "true"`, KEP-3157).
   */
  | { type: 'BOOKMARK'; resourceVersion: string; initialEventsEnd: boolean };
