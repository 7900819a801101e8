import { SchemaError, SchemaErrorCode } from './errors.ts';

/**
 * Where an update is published (docs/design.md §5): `cluster` carries every update; `node/<name>`
 * carries what an agent on that node needs. On the wire a scope is its string form.
 */
export type Scope = ClusterScope | NodeScope;
export interface ClusterScope {
  readonly kind: 'cluster';
}
export interface NodeScope {
  readonly kind: 'node';
  /** A Kubernetes node name: a DNS-1123 subdomain. */
  readonly node: string;
}

export const CLUSTER_SCOPE: ClusterScope = Object.freeze({ kind: 'cluster' });

const NODE_PREFIX = 'node/';
/** Kubernetes' IsDNS1123Subdomain, which the API server enforces for Node names. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_SUBDOMAIN_MAX = 253;

/** True when `name` is a name Kubernetes accepts for a Node. */
export function isValidNodeName(name: string): boolean {
  return name.length <= DNS1123_SUBDOMAIN_MAX && DNS1123_SUBDOMAIN.test(name);
}

/** The scope of one node; throws SchemaError INVALID_SCOPE for a name Kubernetes would refuse. */
export function nodeScope(node: string): NodeScope {
  if (!isValidNodeName(node)) {
    throw new SchemaError(
      SchemaErrorCode.INVALID_SCOPE,
      `node name ${quote(node)} is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', ` +
        `starting and ending with a letter or digit, at most ${DNS1123_SUBDOMAIN_MAX} characters)`,
    );
  }
  return { kind: 'node', node };
}

/** Parses "cluster" or "node/<name>"; throws SchemaError INVALID_SCOPE otherwise. */
export function parseScope(text: string): Scope {
  if (text === 'cluster') return CLUSTER_SCOPE;
  if (text.startsWith(NODE_PREFIX)) return nodeScope(text.slice(NODE_PREFIX.length));
  throw new SchemaError(
    SchemaErrorCode.INVALID_SCOPE,
    `scope ${quote(text)} is neither "cluster" nor "node/<node name>"`,
  );
}

/** The wire form of a scope: "cluster" or "node/<name>". */
export function formatScope(scope: Scope): string {
  return scope.kind === 'cluster' ? 'cluster' : NODE_PREFIX + scope.node;
}

export function scopeEquals(a: Scope, b: Scope): boolean {
  if (a.kind === 'cluster' || b.kind === 'cluster') return a.kind === b.kind;
  return a.node === b.node;
}

/** JSON-quotes and shortens untrusted text for an error message. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
