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

export type ObjectEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export type WatchEvent =
  | { type: ObjectEventType; object: RawObject }
  | { type: 'BOOKMARK'; resourceVersion: string };
