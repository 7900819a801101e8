import { SimApiError } from '../model/errors.ts';

/**
 * The PATCH bodies the sim accepts, by Content-Type:
 * - `application/merge-patch+json`: RFC 7386 JSON merge patch.
 * - `application/strategic-merge-patch+json`: Kubernetes strategic merge patch, approximated.
 *   It is a merge patch, except that the lists the sim knows to be keyed (containers, volumes,
 *   env, ports, conditions, ownerReferences, ... see MERGE_KEYS) are merged by their key, the
 *   `$patch: delete|replace` directives work, `$deleteFromPrimitiveList/<field>` removes values
 *   and `finalizers` is merged as a set; `$setElementOrder` and `$retainKeys` are ignored.
 *   Every other list is replaced. The real server takes merge keys from the Go types, so a
 *   list keyed there but not in MERGE_KEYS (e.g. node status addresses) is replaced here.
 *   Good enough for `kubectl label/annotate/scale/apply/edit` on the sim's kinds.
 * - `application/json-patch+json`: RFC 6902 JSON patch (add, remove, replace, move, copy, test).
 * Server-side apply (`application/apply-patch+yaml`) is refused with 415.
 */
export type PatchType = 'merge' | 'strategic' | 'json';

const MEDIA: Readonly<Record<string, PatchType>> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
};

export function patchTypeOf(contentType: string | undefined): PatchType {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const type = MEDIA[media];
  if (type) return type;
  const hint = media === 'application/apply-patch+yaml' ? ' (server-side apply is not supported by kubemeta sim: use client-side `kubectl apply`)' : '';
  throw new SimApiError(
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json${hint}`,
  );
}

/** Applies `patch` to `target` without modifying either; returns the patched document. */
export function applyPatch(type: PatchType, target: unknown, patch: unknown): unknown {
  switch (type) {
    case 'merge':
      if (!isObject(patch)) throw invalidPatch('a merge patch must be a JSON object');
      return mergePatch(target, patch);
    case 'strategic':
      if (!isObject(patch)) throw invalidPatch('a strategic merge patch must be a JSON object');
      return strategicMerge(target, patch);
    case 'json':
      return jsonPatch(target, patch);
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386: objects merge recursively, null deletes, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value) as Json;
  }
  return result;
}

/** Lists merged by a key field in strategic merge patches; `ports` picks its key by content. */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  imagePullSecrets: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  conditions: 'type',
  ownerReferences: 'uid',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
};
const SET_LISTS = new Set(['finalizers']);

function mergeKeyOf(field: string, items: readonly Json[]): string | undefined {
  if (field === 'ports') return items.some((i) => isObject(i) && 'containerPort' in i) ? 'containerPort' : 'port';
  return MERGE_KEYS[field];
}

function strategicMerge(target: unknown, patch: JsonObject): unknown {
  if (patch['$patch'] === 'replace') return withoutDirectives(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) result[field] = current.filter((v) => !value.includes(v));
      continue;
    }
    if (key.startsWith('$')) continue; // $setElementOrder/..., $retainKeys, $patch: ordering hints we do not honour
    const current = result[key];
    if (value === null) delete result[key];
    else if (isObject(value) && value['$patch'] === 'delete') delete result[key];
    else if (isObject(value)) result[key] = strategicMerge(current, value) as Json;
    else if (Array.isArray(value) && Array.isArray(current)) result[key] = mergeList(key, current, value);
    else result[key] = Array.isArray(value) ? value.filter((v) => !(isObject(v) && v['$patch'])) : value;
  }
  return result;
}

function mergeList(field: string, current: Json[], patch: Json[]): Json[] {
  if (patch.some((item) => isObject(item) && item['$patch'] === 'replace')) {
    return patch.filter((item) => !(isObject(item) && item['$patch'] === 'replace'));
  }
  if (SET_LISTS.has(field)) return [...current, ...patch.filter((v) => !current.includes(v))];
  const mergeKey = mergeKeyOf(field, [...current, ...patch]);
  if (!mergeKey) return patch;
  const result = [...current];
  for (const item of patch) {
    if (!isObject(item)) return patch;
    const index = result.findIndex((c) => isObject(c) && c[mergeKey] === item[mergeKey]);
    if (item['$patch'] === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = strategicMerge(result[index], item) as Json;
    } else {
      result.push(withoutDirectives(item));
    }
  }
  return result;
}

function withoutDirectives(value: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(value).filter(([k]) => !k.startsWith('$')));
}

/** RFC 6902 JSON patch on a deep copy of `target`. */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw invalidPatch('a JSON patch must be a JSON array of operations');
  let doc = structuredClone(target) as Json;
  for (const op of operations) {
    if (!isObject(op) || typeof op['op'] !== 'string' || typeof op['path'] !== 'string') {
      throw invalidPatch(`each JSON patch operation needs "op" and "path", got ${JSON.stringify(op)}`);
    }
    doc = applyOperation(doc, op);
  }
  return doc;
}

function applyOperation(doc: Json, op: JsonObject): Json {
  const path = parsePointer(op['path'] as string);
  switch (op['op']) {
    case 'add':
      return addAt(doc, path, structuredClone(required(op, 'value')));
    case 'remove':
      return removeAt(doc, path).doc;
    case 'replace':
      return addAt(removeAt(doc, path).doc, path, structuredClone(required(op, 'value')));
    case 'move':
    case 'copy': {
      if (typeof op['from'] !== 'string') throw invalidPatch(`"${op['op']}" operation needs "from"`);
      const from = parsePointer(op['from']);
      const value = structuredClone(getAt(doc, from));
      return addAt(op['op'] === 'move' ? removeAt(doc, from).doc : doc, path, value);
    }
    case 'test':
      if (JSON.stringify(getAt(doc, path)) !== JSON.stringify(required(op, 'value'))) {
        throw invalidPatch(`testing value ${op['path'] as string} failed`);
      }
      return doc;
    default:
      throw invalidPatch(`unexpected JSON patch operation ${JSON.stringify(op['op'])}: use add, remove, replace, move, copy or test`);
  }
}

function required(op: JsonObject, field: string): Json {
  if (!(field in op)) throw invalidPatch(`"${String(op['op'])}" operation at ${String(op['path'])} needs "${field}"`);
  return op[field] as Json;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw invalidPatch(`JSON pointer ${JSON.stringify(pointer)} must start with "/"`);
  return pointer.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getAt(doc: Json, path: readonly string[]): Json {
  let node: Json = doc;
  for (const part of path) {
    const child: Json | undefined = Array.isArray(node) ? node[arrayIndex(node, part, false)] : isObject(node) ? node[part] : undefined;
    if (child === undefined) throw invalidPatch(`path /${path.join('/')} does not exist in the object`);
    node = child;
  }
  return node;
}

function addAt(doc: Json, path: readonly string[], value: Json): Json {
  if (path.length === 0) return value;
  const parent = getAt(doc, path.slice(0, -1));
  const last = path[path.length - 1] as string;
  if (Array.isArray(parent)) parent.splice(last === '-' ? parent.length : arrayIndex(parent, last, true), 0, value);
  else if (isObject(parent)) parent[last] = value;
  else throw invalidPatch(`cannot add at /${path.join('/')}: its parent is not an object or array`);
  return doc;
}

function removeAt(doc: Json, path: readonly string[]): { doc: Json } {
  if (path.length === 0) throw invalidPatch('cannot remove the whole document');
  getAt(doc, path); // throws when the path does not exist, as RFC 6902 requires
  const parent = getAt(doc, path.slice(0, -1));
  const last = path[path.length - 1] as string;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false), 1);
  else if (isObject(parent)) delete parent[last];
  return { doc };
}

function arrayIndex(array: readonly Json[], part: string, forInsert: boolean): number {
  const index = /^(0|[1-9]\d*)$/.test(part) ? Number(part) : NaN;
  if (Number.isNaN(index) || index > array.length || (!forInsert && index === array.length)) {
    throw invalidPatch(`array index ${JSON.stringify(part)} is out of range (length ${array.length})`);
  }
  return index;
}

function invalidPatch(problem: string): SimApiError {
  return new SimApiError('Invalid', `the patch could not be applied: ${problem}`);
}
