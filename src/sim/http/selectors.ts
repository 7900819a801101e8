import { LabelSelectorError, parseLabelSelector, type LabelSelector } from '../../core/index.ts';
import { SimApiError } from '../model/errors.ts';
import type { KubeObject } from '../model/objects.ts';

/**
 * Label and field selectors as the Kubernetes API server parses them (`labelSelector=` and
 * `fieldSelector=` query parameters of LIST and WATCH). Label selectors are core's, with the
 * API server's `key>N` and `key<N`.
 */
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

/** A label selector in the API server's grammar; one that does not parse is a 400, as there. */
export function parseLabelQuery(text: string): LabelSelector {
  try {
    return parseLabelSelector(text, { numericComparisons: true });
  } catch (err) {
    if (err instanceof LabelSelectorError) throw new SimApiError('BadRequest', `unable to parse requirement: labelSelector ${JSON.stringify(text)}: ${err.problem}`, undefined, { cause: err });
    throw err;
  }
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
  const labels = labelSelector ? parseLabelQuery(labelSelector) : undefined;
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
