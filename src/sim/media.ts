import type { StoredObject } from './objects.ts';
import { SimApiError } from './errors.ts';
import { partialObjectMetadataJson, tableHead, tableRowJson, type IncludeObject } from './table.ts';

/**
 * What a response carries, negotiated from the Accept header as the real API server does:
 * the objects themselves, a `meta.k8s.io` Table (`as=Table`, kubectl get), or metadata only
 * (`as=PartialObjectMetadata[List]`, client-go's metadata informers). Everything is JSON;
 * clients that ask for protobuf always list JSON as a fallback.
 */
export type Representation =
  | { readonly as: 'object' }
  | { readonly as: 'table'; readonly version: string; readonly includeObject: IncludeObject }
  | { readonly as: 'metadata'; readonly version: string };

export const OBJECT: Representation = Object.freeze({ as: 'object' });

export function negotiate(accept: string | undefined, query: URLSearchParams): Representation {
  for (const part of (accept ?? '').split(',')) {
    const [media, ...rest] = part.split(';').map((p) => p.trim());
    if (media !== 'application/json' && media !== '*/*') continue;
    const params = new Map(rest.map((p) => p.split('=').map((s) => s.trim()) as [string, string]));
    const as = params.get('as');
    if (as === undefined) return OBJECT;
    const version = params.get('v') ?? 'v1';
    if (params.get('g') !== 'meta.k8s.io' || (version !== 'v1' && version !== 'v1beta1')) continue;
    if (as === 'Table') return { as: 'table', version, includeObject: includeObjectOf(query.get('includeObject')) };
    if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') return { as: 'metadata', version };
  }
  return OBJECT;
}

function includeObjectOf(value: string | null): IncludeObject {
  if (value === null || value === '') return 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw new SimApiError('BadRequest', `includeObject must be one of None, Metadata or Object, got ${JSON.stringify(value)}`);
}

/** A short stable key per representation, for caching rendered watch events. */
export function representationKey(r: Representation): string {
  return r.as === 'object' ? 'o' : r.as === 'table' ? `t${r.version}${r.includeObject}` : `m${r.version}`;
}

export function contentTypeOf(r: Representation, list: boolean): string {
  if (r.as === 'object') return 'application/json';
  const as = r.as === 'table' ? 'Table' : list ? 'PartialObjectMetadataList' : 'PartialObjectMetadata';
  return `application/json;as=${as};g=meta.k8s.io;v=${r.version}`;
}

/** One item of a list (or the object of a watch event) in representation `r`. */
export function itemJson(r: Representation, stored: StoredObject, nowMs: number): string {
  if (r.as === 'object') return stored.json;
  if (r.as === 'metadata') return partialObjectMetadataJson(stored, r.version);
  return tableRowJson(stored, r.includeObject, r.version, nowMs);
}

/** A single object (GET, or a watch event's object) in representation `r`. */
export function singleJson(r: Representation, stored: StoredObject, nowMs: number): string {
  if (r.as !== 'table') return itemJson(r, stored, nowMs);
  return `${tableHead(stored.kind, r.version, `{"resourceVersion":"${stored.rv}"}`)}${itemJson(r, stored, nowMs)}]}`;
}

/** The text before and after the items of a list response. */
export function listFrame(r: Representation, kind: string, listKind: string, apiVersion: string, listMeta: string): { head: string; tail: string } {
  if (r.as === 'table') return { head: tableHead(kind, r.version, listMeta), tail: ']}' };
  if (r.as === 'metadata') {
    return { head: `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/${r.version}","metadata":${listMeta},"items":[`, tail: ']}' };
  }
  return { head: `{"kind":"${listKind}","apiVersion":"${apiVersion}","metadata":${listMeta},"items":[`, tail: ']}' };
}
