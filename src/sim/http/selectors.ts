import { SimApiError } from '../model/errors.ts';
import type { KubeObject } from '../model/objects.ts';

/**
 * Label and field selectors as the Kubernetes API server parses them (`labelSelector=` and
 * `fieldSelector=` query parameters of LIST and WATCH).
 *
 * Label selector grammar (k8s.io/apimachinery/pkg/labels): requirements separated by commas,
 * each one of `key`, `!key`, `key=value`, `key==value`, `key!=value`, `key in (a,b)`,
 * `key notin (a,b)`, `key>N`, `key<N`. `!=` and `notin` also match objects without the key.
 */
export type LabelRequirement =
  | { readonly key: string; readonly op: 'exists' | 'notexists' }
  | { readonly key: string; readonly op: 'in' | 'notin'; readonly values: readonly string[] }
  | { readonly key: string; readonly op: 'gt' | 'lt'; readonly value: number };

export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
}

export interface FieldRequirement {
  readonly field: string;
  readonly op: '=' | '!=';
  readonly value: string;
}

export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
  /** `spec.nodeName=X` on pods: the LIST can use the model's node index instead of a scan. */
  readonly nodeName: string | undefined;
  /** `metadata.namespace=X`: narrows a cluster-wide LIST to one namespace. */
  readonly namespace: string | undefined;
  matches(object: KubeObject): boolean;
}

const NAME = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const KEY = new RegExp(`^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?${NAME}$`);
const VALUE = new RegExp(`^(${NAME})?$`);

export function parseLabelSelector(text: string): LabelSelector {
  const requirements = splitTopLevel(text)
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => parseLabelRequirement(part, text));
  return { requirements, matches: (labels) => requirements.every((r) => matchesLabel(r, labels ?? {})) };
}

function parseLabelRequirement(part: string, whole: string): LabelRequirement {
  let m = /^!\s*(\S+)$/.exec(part);
  if (m) return { key: checkKey(m[1] as string, whole), op: 'notexists' };
  m = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/.exec(part);
  if (m) {
    const values = (m[3] as string).split(',').map((v) => checkValue(v.trim(), whole));
    if (values.length === 1 && values[0] === '') badLabel(whole, `for 'in', 'notin' operators, values set can't be empty`);
    return { key: checkKey(m[1] as string, whole), op: m[2] as 'in' | 'notin', values };
  }
  m = /^([^=!<>\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
  if (m) {
    const op = m[2] === '!=' ? 'notin' : 'in';
    return { key: checkKey(m[1] as string, whole), op, values: [checkValue(m[3] as string, whole)] };
  }
  m = /^([^=!<>\s]+)\s*([<>])\s*(-?\d+)$/.exec(part);
  if (m) return { key: checkKey(m[1] as string, whole), op: m[2] === '>' ? 'gt' : 'lt', value: Number(m[3]) };
  if (/^\S+$/.test(part)) return { key: checkKey(part, whole), op: 'exists' };
  return badLabel(whole, `unable to parse requirement ${JSON.stringify(part)}`);
}

function matchesLabel(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case 'exists':
      return has;
    case 'notexists':
      return !has;
    case 'in':
      return has && r.values.includes(value as string);
    case 'notin':
      return !has || !r.values.includes(value as string);
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(value as string)) return false;
      return r.op === 'gt' ? Number(value) > r.value : Number(value) < r.value;
    }
  }
}

/** Splits at commas outside parentheses (`a in (x,y),b` has two requirements). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function checkKey(key: string, whole: string): string {
  if (!KEY.test(key)) badLabel(whole, `invalid label key ${JSON.stringify(key)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  return key;
}

function checkValue(value: string, whole: string): string {
  if (!VALUE.test(value)) badLabel(whole, `invalid label value ${JSON.stringify(value)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  return value;
}

function badLabel(whole: string, problem: string): never {
  throw new SimApiError('BadRequest', `unable to parse requirement: labelSelector ${JSON.stringify(whole)}: ${problem}`);
}

/** Field paths each kind supports in field selectors (as the real API server), besides metadata.name/namespace. */
const KIND_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  Node: ['spec.unschedulable'],
  Namespace: ['status.phase'],
  ReplicaSet: ['status.replicas'],
  Job: ['status.successful'],
};

export function parseFieldSelector(text: string, kind: string): FieldSelector {
  const requirements = splitEscaped(text, ',')
    .filter((part) => part.trim() !== '')
    .map((part) => parseFieldRequirement(part, kind));
  const equal = (field: string): string | undefined => requirements.find((r) => r.field === field && r.op === '=')?.value;
  return {
    requirements,
    nodeName: kind === 'Pod' ? equal('spec.nodeName') : undefined,
    namespace: equal('metadata.namespace'),
    matches: (object) => requirements.every((r) => (fieldValue(object, r.field) === r.value) === (r.op === '=')),
  };
}

function parseFieldRequirement(part: string, kind: string): FieldRequirement {
  const m = /^\s*([^=!\s]+)\s*(==|=|!=)(.*)$/.exec(part);
  if (!m) throw new SimApiError('BadRequest', `invalid field selector ${JSON.stringify(part)}: expected field=value, field==value or field!=value`);
  const field = m[1] as string;
  if (field !== 'metadata.name' && field !== 'metadata.namespace' && !KIND_FIELDS[kind]?.includes(field)) {
    throw new SimApiError('BadRequest', `field label not supported: ${field}`);
  }
  return { field, op: m[2] === '!=' ? '!=' : '=', value: unescape(m[3] as string) };
}

/** The field's value as the API server compares it: a string, "" when absent. */
function fieldValue(object: KubeObject, path: string): string {
  let value: unknown = object;
  for (const part of path.split('.')) {
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (value === undefined || value === null) return path === 'spec.unschedulable' || path === 'spec.hostNetwork' ? 'false' : '';
  return String(value);
}

/** Field selector values may escape `\`, `,` and `=` with a backslash. */
function splitEscaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

/**
 * Everything that decides which objects a LIST or WATCH sees: the namespace of the path,
 * `labelSelector` and `fieldSelector`. `description` is canonical, so a continue token can be
 * bound to the request that created it.
 */
export interface ObjectFilter {
  /** The namespace to list: the path's, or a `metadata.namespace=` field selector's. */
  readonly namespace: string | undefined;
  /** Pods only: `spec.nodeName=` served from the model's node index. */
  readonly nodeName: string | undefined;
  /** True when label or field selectors apply (so remainingItemCount cannot be known). */
  readonly selective: boolean;
  readonly description: string;
  matches(object: KubeObject): boolean;
}

export function compileFilter(kind: string, pathNamespace: string | undefined, labelSelector: string | null, fieldSelector: string | null): ObjectFilter {
  const labels = labelSelector ? parseLabelSelector(labelSelector) : undefined;
  const fields = fieldSelector ? parseFieldSelector(fieldSelector, kind) : undefined;
  const hasLabels = labels !== undefined && labels.requirements.length > 0;
  const hasFields = fields !== undefined && fields.requirements.length > 0;
  const namespace = pathNamespace ?? fields?.namespace;
  return {
    namespace,
    nodeName: fields?.nodeName,
    selective: hasLabels || hasFields,
    description: JSON.stringify([kind, pathNamespace ?? '', labelSelector ?? '', fieldSelector ?? '']),
    matches: (object) =>
      (pathNamespace === undefined || object.metadata.namespace === pathNamespace) &&
      (!hasLabels || labels.matches(object.metadata.labels)) &&
      (!hasFields || fields.matches(object)),
  };
}
