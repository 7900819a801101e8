import { RESOURCES, type ResourceInfo } from '../model/resources.ts';

/**
 * A request path of the resource API, taken apart:
 * `/api/v1/<plural>[/<name>[/<sub>]]`, `/api/v1/namespaces/<ns>/<plural>[/<name>[/<sub>]]`,
 * the same under `/apis/<group>/<version>/`, and the legacy `.../watch/...` forms.
 */
export interface ResourceRoute {
  readonly info: ResourceInfo;
  /** The namespace from the path; undefined for cluster-wide and cluster-scoped paths. */
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
  /** The path had a `/watch/` segment (deprecated, still served by real API servers). */
  readonly legacyWatch: boolean;
}

export type Verb = 'list' | 'watch' | 'get' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

const BY_GROUP_VERSION = new Map<string, Map<string, ResourceInfo>>();
for (const r of RESOURCES) {
  const gv = r.group === '' ? r.version : `${r.group}/${r.version}`;
  let plurals = BY_GROUP_VERSION.get(gv);
  if (!plurals) BY_GROUP_VERSION.set(gv, (plurals = new Map()));
  plurals.set(r.plural, r);
}

/** The resource a path names, or undefined when it names none (the caller answers 404). */
export function parseResourcePath(pathname: string): ResourceRoute | undefined {
  const segments = pathname.split('/').filter((s) => s !== '').map(safeDecode);
  let gv: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 3) {
    gv = segments[1] as string;
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    gv = `${segments[1] as string}/${segments[2] as string}`;
    rest = segments.slice(3);
  } else {
    return undefined;
  }
  const plurals = BY_GROUP_VERSION.get(gv);
  if (!plurals) return undefined;
  const legacyWatch = rest[0] === 'watch';
  if (legacyWatch) rest = rest.slice(1);
  return resolve(plurals, rest, legacyWatch);
}

function resolve(plurals: Map<string, ResourceInfo>, rest: string[], legacyWatch: boolean): ResourceRoute | undefined {
  // namespaces/<ns>/<plural>/... is a namespaced path when <plural> is a namespaced resource;
  // otherwise namespaces/<name>[/<sub>] is the Namespace object itself.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const info = plurals.get(rest[2] as string);
    if (info?.namespaced) return route(info, rest[1], rest.slice(3), legacyWatch);
  }
  const info = plurals.get(rest[0] ?? '');
  if (!info) return undefined;
  return route(info, undefined, rest.slice(1), legacyWatch);
}

function route(info: ResourceInfo, namespace: string | undefined, tail: string[], legacyWatch: boolean): ResourceRoute | undefined {
  if (tail.length > 2) return undefined;
  const [name, subresource] = tail;
  if (subresource !== undefined && !info.subresources.includes(subresource)) return undefined;
  if (legacyWatch && subresource !== undefined) return undefined;
  return { info, namespace, name, subresource, legacyWatch };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The API verb of a request, as the real API server's request info names it. */
export function verbOf(method: string, route: ResourceRoute, query: URLSearchParams): Verb | undefined {
  const collection = route.name === undefined;
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (route.legacyWatch || isTrue(query.get('watch'))) return 'watch';
      return collection ? 'list' : 'get';
    case 'POST':
      return collection ? 'create' : undefined;
    case 'PUT':
      return collection ? undefined : 'update';
    case 'PATCH':
      return collection ? undefined : 'patch';
    case 'DELETE':
      return collection ? 'deletecollection' : 'delete';
    default:
      return undefined;
  }
}

/**
 * A boolean query parameter as the API server reads it (apimachinery's
 * Convert_Slice_string_To_bool): absent, "0" and "false" in any case are false; anything else,
 * "True" and the empty string included, is true. The official Python client sends `watch=True`.
 */
export function isTrue(value: string | null): boolean {
  return value !== null && value !== '0' && value.toLowerCase() !== 'false';
}
