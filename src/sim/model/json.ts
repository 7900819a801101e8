/**
 * JSON.stringify for stored objects, with the JSON of frozen parts remembered.
 *
 * The sim's objects share large frozen parts (a pod template's containers, volumes and
 * tolerations are the same frozen objects in every pod of a ReplicaSet; an endpoint's entry
 * is the same frozen object in every Endpoints write while its pod does not change). A
 * frozen object can never change, so its JSON is computed once and reused: a pod status
 * update serializes the status and metadata, not the 3 KB of containers again.
 *
 * Only objects passed to `freezeShared` are remembered.
 *
 * The output is byte for byte what JSON.stringify gives (key order, undefined and function
 * values left out, toJSON honoured, non-finite numbers as null), so callers may compare it
 * with JSON.stringify output. Other objects are walked (down to `MAX_DEPTH` levels) only
 * where a shared part lies below them; the rest goes to JSON.stringify, which is faster.
 */
const MAX_DEPTH = 4;

/**
 * Where a shared object keeps its JSON: a non-enumerable symbol property holding a mutable
 * box, added before the object is frozen. (A WeakMap would do, but hundreds of thousands of
 * weak entries make every major GC slower.) JSON.stringify, Object.keys and spreads ignore it.
 */
const BOX: unique symbol = Symbol('kubemeta.sim.sharedJson');
interface Box {
  json: string | undefined;
}
type Boxed = { readonly [BOX]?: Box };

export function stringifyObject(value: object): string {
  return part(value, 0) ?? 'null';
}

/**
 * `json` as one flat string. stringifyObject builds a rope (concatenation without copying,
 * fastest to build); a string kept for long should be flat, or each of its thousands of
 * small nodes stays in memory. Numeric conversion flattens in V8.
 */
export function flatten(json: string): string {
  void ((json as unknown as number) | 0);
  return json;
}

/**
 * Deep-freezes `value` and marks it as shared: the serializer may remember its JSON.
 * (Only marked objects are remembered; an object frozen elsewhere may hold mutable parts.)
 */
export function freezeShared<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) freezeShared(v);
    Object.defineProperty(value, BOX, { value: { json: undefined } });
    Object.freeze(value);
  }
  return value;
}

/** The JSON of `value`, or undefined where JSON.stringify leaves a property out. */
function part(value: unknown, depth: number): string | undefined {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const box = (value as Boxed)[BOX];
  if (box !== undefined) return (box.json ??= JSON.stringify(value));
  // Walking in JavaScript is slower than JSON.stringify: only walk towards shared parts.
  const levels = MAX_DEPTH - depth;
  if (levels <= 0 || typeof (value as { toJSON?: unknown }).toJSON === 'function' || !holdsShared(value, levels)) return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + (part(value[i], depth + 1) ?? 'null');
    return out + ']';
  }
  let out = '{';
  let first = true;
  for (const key of Object.keys(value)) {
    const json = part((value as Record<string, unknown>)[key], depth + 1);
    if (json === undefined) continue;
    out += (first ? '' : ',') + (PLAIN_KEY.test(key) ? `"${key}"` : JSON.stringify(key)) + ':' + json;
    first = false;
  }
  return out + '}';
}

/** Keys that JSON.stringify would quote without escaping anything. */
const PLAIN_KEY = /^[\w./-]*$/;

/** Whether a shared part lies within `levels` levels below `value` (arrays: by their first item). */
function holdsShared(value: object, levels: number): boolean {
  if (Array.isArray(value)) {
    const first: unknown = value[0];
    return typeof first === 'object' && first !== null && ((first as Boxed)[BOX] !== undefined || (levels > 1 && holdsShared(first, levels - 1)));
  }
  for (const key in value) {
    const v: unknown = (value as Record<string, unknown>)[key];
    if (typeof v === 'object' && v !== null && ((v as Boxed)[BOX] !== undefined || (levels > 1 && holdsShared(v, levels - 1)))) return true;
  }
  return false;
}

/**
 * Whether `a` and `b` serialize to the same JSON, up to key order, without serializing them:
 * shared subtrees are the same objects and compare in one step, and the walk stops at the
 * first difference. (Properties JSON leaves out, undefined and functions, are ignored.)
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return JSON.stringify(a) === JSON.stringify(b);
  if (typeof (a as { toJSON?: unknown }).toJSON === 'function' || typeof (b as { toJSON?: unknown }).toJSON === 'function') {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(inArray(a[i]), inArray(b[i]))) return false;
    return true;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let count = 0;
  for (const key of Object.keys(ra)) {
    if (!visible(ra[key])) continue;
    count++;
    if (!visible(rb[key]) || !sameJson(ra[key], rb[key])) return false;
  }
  for (const key of Object.keys(rb)) if (visible(rb[key])) count--;
  return count === 0;
}

function visible(v: unknown): boolean {
  return v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';
}

/** What JSON makes of an array item that it cannot represent: null. */
function inArray(v: unknown): unknown {
  return visible(v) ? v : null;
}
