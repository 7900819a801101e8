import type { StoredObject } from '../model/objects.ts';
import { SimApiError } from '../model/errors.ts';
import { PROTOBUF_MEDIA_TYPE, PROTOBUF_WATCH_MEDIA_TYPE } from './protobuf/protobuf-wire.ts';
import { partialObjectMetadataJson, tableHead, tableRowJson, type IncludeObject } from './table.ts';

/**
 * What a response carries and how it is encoded, negotiated from the Accept header as the real
 * API server does (k8s.io/apiserver handlers/negotiation):
 *
 * - the representation: the objects themselves, a `meta.k8s.io` Table (`as=Table`, kubectl
 *   get), or metadata only (`as=PartialObjectMetadata[List]`, client-go's metadata informers);
 * - the encoding: JSON (the default, and what an empty Accept or `*` gets), YAML (the same
 *   text: JSON is YAML), or Kubernetes protobuf for the objects themselves. Tables and
 *   metadata are served in JSON only, so a protobuf clause asking for them is skipped and the
 *   client's JSON alternative is taken (client-go always lists one).
 *
 * Clauses are tried by q-value, then specificity, then order, the first one the sim can serve
 * wins; none servable is 406 Not Acceptable. As in the API server (goautoneg), q=0 does not
 * exclude a clause.
 */
export type Representation =
  | { readonly as: 'object' }
  | { readonly as: 'table'; readonly version: string; readonly includeObject: IncludeObject }
  | { readonly as: 'metadata'; readonly version: string };

export type Encoding = 'json' | 'yaml' | 'protobuf';

export interface Negotiated {
  readonly encoding: Encoding;
  readonly representation: Representation;
}

export const OBJECT: Representation = Object.freeze({ as: 'object' });
export const JSON_OBJECT: Negotiated = Object.freeze({ encoding: 'json', representation: OBJECT });

/** The media types the sim serves, in the API server's order (`*` picks the first). */
const SERVED: ReadonlyArray<{ readonly encoding: Encoding; readonly type: string; readonly subtype: string; readonly stream: boolean }> = [
  { encoding: 'json', type: 'application', subtype: 'json', stream: true },
  { encoding: 'yaml', type: 'application', subtype: 'yaml', stream: false },
  { encoding: 'protobuf', type: 'application', subtype: 'vnd.kubernetes.protobuf', stream: true },
];
const MEDIA_TYPES = 'application/json, application/yaml, application/vnd.kubernetes.protobuf';
const STREAM_MEDIA_TYPES = 'application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch';

interface Clause {
  readonly type: string;
  readonly subtype: string;
  readonly q: number;
  readonly params: ReadonlyMap<string, string>;
}

/**
 * The response for `accept`; `watch` for a watch stream, which YAML cannot carry. Throws
 * SimApiError NotAcceptable (406) when nothing the client accepts can be served.
 */
export function negotiate(accept: string | undefined, query: URLSearchParams, options: { watch?: boolean } = {}): Negotiated {
  if (accept === undefined || accept === '') return JSON_OBJECT;
  for (const clause of parseAccept(accept)) {
    for (const served of SERVED) {
      const matches = (clause.type === served.type && (clause.subtype === served.subtype || clause.subtype === '*')) || (clause.type === '*' && clause.subtype === '*');
      if (!matches) continue;
      const representation = representationOf(clause.params, served, query);
      if (representation === undefined) continue;
      // As NegotiateOutputMediaTypeStream: the first acceptable clause decides, and a watch cannot be YAML.
      if (options.watch && !served.stream) throw notAcceptable(true);
      return { encoding: served.encoding, representation };
    }
  }
  throw notAcceptable(options.watch ?? false);
}

function notAcceptable(watch: boolean): SimApiError {
  return new SimApiError('NotAcceptable', `only the following media types are accepted: ${watch ? STREAM_MEDIA_TYPES : MEDIA_TYPES}`);
}

/** What `params` of a clause ask for from `served`, or undefined when the sim cannot serve it. */
function representationOf(params: ReadonlyMap<string, string>, served: (typeof SERVED)[number], query: URLSearchParams): Representation | undefined {
  const stream = params.get('stream');
  if (stream !== undefined && stream !== '' && (!served.stream || stream !== 'watch')) return undefined;
  // sv (server version of the group) is allowed by no resource endpoint.
  if ((params.get('sv') ?? '') !== '') return undefined;
  const as = params.get('as');
  const group = params.get('g');
  const version = params.get('v');
  if (as === undefined && group === undefined && version === undefined) return OBJECT;
  if (served.encoding === 'protobuf' || group !== 'meta.k8s.io' || (version !== 'v1' && version !== 'v1beta1')) return undefined;
  if (as === 'Table') return { as: 'table', version, includeObject: includeObjectOf(query.get('includeObject')) };
  if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') return { as: 'metadata', version };
  return undefined;
}

/** Accept clauses, best first: higher q, then concrete types before wildcards, then header order (goautoneg). */
function parseAccept(header: string): Clause[] {
  const clauses: Clause[] = [];
  for (const raw of header.split(',')) {
    const [range = '', ...rest] = raw.split(';');
    const slash = range.trim().split('/');
    const type = (slash[0] ?? '').trim();
    let subtype = (slash[1] ?? '').trim();
    if (slash.length > 2 || type === '') continue;
    if (slash.length === 1) {
      if (type !== '*') continue;
      subtype = '*';
    }
    let q = 1;
    const params = new Map<string, string>();
    for (const p of rest) {
      const kv = p.split('=');
      if (kv.length !== 2) continue;
      const key = (kv[0] as string).trim();
      const value = (kv[1] as string).trim();
      if (key === 'q') q = Number.parseFloat(value) || 0;
      else params.set(key, value);
    }
    clauses.push({ type, subtype, q, params });
  }
  const rank = (c: Clause): number => (c.type === '*' ? 2 : c.subtype === '*' ? 1 : 0);
  return clauses.map((c, i) => ({ c, i })).sort((a, b) => b.c.q - a.c.q || rank(a.c) - rank(b.c) || a.i - b.i).map(({ c }) => c);
}

function includeObjectOf(value: string | null): IncludeObject {
  if (value === null || value === '') return 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw new SimApiError('BadRequest', `includeObject must be one of None, Metadata or Object, got ${JSON.stringify(value)}`);
}

/** How a request body is encoded, from its Content-Type; 415 Unsupported Media Type for anything else. */
export function requestEncoding(contentType: string | undefined): Encoding {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (media === '' || media === 'application/json') return 'json';
  if (media === 'application/yaml') return 'yaml';
  if (media === PROTOBUF_MEDIA_TYPE) return 'protobuf';
  throw new SimApiError('UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${MEDIA_TYPES}`);
}

/** A short stable key per negotiated response, for caching rendered watch events. */
export function representationKey(n: Negotiated): string {
  const r = n.representation;
  const base = r.as === 'object' ? 'o' : r.as === 'table' ? `t${r.version}${r.includeObject}` : `m${r.version}`;
  return n.encoding === 'protobuf' ? `p${base}` : base;
}

/** The Content-Type of a response (`list`: a LIST, which names PartialObjectMetadataList). */
export function contentTypeOf(n: Negotiated, list: boolean): string {
  if (n.encoding === 'protobuf') return PROTOBUF_MEDIA_TYPE;
  const base = n.encoding === 'yaml' ? 'application/yaml' : 'application/json';
  const r = n.representation;
  if (r.as === 'object') return base;
  const as = r.as === 'table' ? 'Table' : list ? 'PartialObjectMetadataList' : 'PartialObjectMetadata';
  return `${base};as=${as};g=meta.k8s.io;v=${r.version}`;
}

/** The Content-Type of a watch stream: JSON as it is (as the API server sends it), protobuf with stream=watch. */
export function watchContentTypeOf(n: Negotiated): string {
  return n.encoding === 'protobuf' ? PROTOBUF_WATCH_MEDIA_TYPE : contentTypeOf(n, false);
}

/** One item of a list (or the object of a watch event) in representation `r`, as JSON. */
export function itemJson(r: Representation, stored: StoredObject, nowMs: number): string {
  if (r.as === 'object') return stored.json;
  if (r.as === 'metadata') return partialObjectMetadataJson(stored, r.version);
  return tableRowJson(stored, r.includeObject, r.version, nowMs);
}

/** A single object (GET, or a watch event's object) in representation `r`, as JSON. */
export function singleJson(r: Representation, stored: StoredObject, nowMs: number): string {
  if (r.as !== 'table') return itemJson(r, stored, nowMs);
  return `${tableHead(stored.kind, r.version, `{"resourceVersion":"${stored.rv}"}`)}${itemJson(r, stored, nowMs)}]}`;
}

/** The JSON text before and after the items of a list response. */
export function listFrame(r: Representation, kind: string, listKind: string, apiVersion: string, listMeta: string): { head: string; tail: string } {
  if (r.as === 'table') return { head: tableHead(kind, r.version, listMeta), tail: ']}' };
  if (r.as === 'metadata') {
    return { head: `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/${r.version}","metadata":${listMeta},"items":[`, tail: ']}' };
  }
  return { head: `{"kind":"${listKind}","apiVersion":"${apiVersion}","metadata":${listMeta},"items":[`, tail: ']}' };
}
