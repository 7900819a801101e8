import { SchemaError, SchemaErrorCode } from './errors.ts';
import { nodeScope, quote, CLUSTER_SCOPE } from './scope.ts';
import type { Scope } from './scope.ts';

/** First token of every kubemeta subject. */
export const SUBJECT_PREFIX = 'kubemeta';

/**
 * Escaping of a name into ONE NATS subject token. NATS splits subjects at '.', treats '*' and
 * '>' tokens as wildcards and forbids whitespace, but node names are DNS subdomains full of
 * dots. Every byte outside [A-Za-z0-9_-] of the name's UTF-8 becomes %XX (uppercase hex), so
 * the mapping is reversible and the result can only contain [A-Za-z0-9_%-]:
 * "ip-10-0-0-1.ec2.internal" → "ip-10-0-0-1%2Eec2%2Einternal".
 */
const SAFE = /^[A-Za-z0-9_-]+$/;
const SAFE_BYTE = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-') SAFE_BYTE[c.charCodeAt(0)] = 1;
const HEX = '0123456789ABCDEF';
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Escapes `text` (non-empty) into a single valid NATS subject token. */
export function escapeSubjectToken(text: string): string {
  if (text.length === 0) throw invalidSubject('an empty name cannot be a subject token');
  if (SAFE.test(text)) return text;
  let out = '';
  for (const byte of utf8.encode(text)) {
    out += byte < 128 && SAFE_BYTE[byte] === 1 ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/**
 * Reverses escapeSubjectToken. Accepts only the canonical form (uppercase hex, and only bytes
 * that must be escaped), so every name has exactly one token and vice versa.
 */
export function unescapeSubjectToken(token: string): string {
  if (token.length === 0) throw invalidSubject('empty subject token');
  if (SAFE.test(token)) return token;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c < 128 && SAFE_BYTE[c] === 1) {
      bytes.push(c);
      continue;
    }
    const byte = c === 37 ? parseHexByte(token, i + 1) : -1; // 37 = '%'
    if (byte < 0 || (byte < 128 && SAFE_BYTE[byte] === 1)) {
      throw invalidSubject(`subject token ${quote(token)} is not escaped canonically at offset ${i}`);
    }
    bytes.push(byte);
    i += 2;
  }
  try {
    return strictUtf8.decode(new Uint8Array(bytes));
  } catch (cause) {
    throw invalidSubject(`subject token ${quote(token)} does not unescape to UTF-8`, cause);
  }
}

function parseHexByte(token: string, at: number): number {
  const hi = HEX.indexOf(token.charAt(at));
  const lo = HEX.indexOf(token.charAt(at + 1));
  return at + 1 < token.length && hi >= 0 && lo >= 0 ? hi * 16 + lo : -1;
}

const CLUSTER_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;

/** True when `name` can name a cluster in subjects (letters, digits, '-', '_', '.'). */
export function isValidClusterName(name: string): boolean {
  return CLUSTER_NAME.test(name);
}

/** The subjects of one cluster, computed once (the cluster name is checked here). */
export interface ClusterSubjects {
  readonly cluster: string;
  /** `kubemeta.<cluster>.cluster`: every update. */
  readonly clusterScope: string;
  /** `kubemeta.<cluster>.node.*`: every node scope (a wildcard, for monitoring). */
  readonly allNodeScopes: string;
  /** `kubemeta.<cluster>.replay`: ReplayRequest in, ReplayResponse stream out. */
  readonly replay: string;
  /** `kubemeta.<cluster>.agents.register`: RegisterAgentRequest/Response. */
  readonly agentsRegister: string;
  /**
   * `kubemeta.<cluster>.credentials`: the credential issuer (wire-protocol §11): a node agent
   * trades its service-account token for a NATS user JWT of its node.
   */
  readonly credentials: string;
  /**
   * `kubemeta.<cluster>.query.node.*`: every node agent's telemetry query subject (a wildcard,
   * for the permissions of query brokers).
   */
  readonly allAgentQueries: string;
  /**
   * `kubemeta.<cluster>.query.node.<node>`: telemetry queries for the agent on `node`
   * (src/telemetry; JSON request/reply, docs/agents.md). Not a scope subject: the service
   * never publishes there, and `…node.*` scope wildcards do not match it.
   */
  agentQuery(node: string): string;
  /**
   * `kubemeta.<cluster>.processes.node.<node>`: the agent of `node` reports process starts and
   * stops there (wire-protocol §12, request/reply). Not a scope subject.
   */
  processReports(node: string): string;
  /** `kubemeta.<cluster>.processes.node.*`: every node's process reports (the service subscribes). */
  readonly allProcessReports: string;
  /** `kubemeta.<cluster>.processes.pod`: the processes of a pod (cluster clients). */
  readonly processesOfPod: string;
  /** `kubemeta.<cluster>.processes.upid`: one process by UPID (cluster clients and agents, for hydration). */
  readonly processByUpid: string;
  /** The subject of one scope. */
  scope(scope: Scope): string;
}

/** Builds the subjects of `cluster`; throws SchemaError INVALID_SUBJECT for a bad name. */
export function clusterSubjects(cluster: string): ClusterSubjects {
  if (!isValidClusterName(cluster)) {
    throw invalidSubject(
      `cluster name ${quote(cluster)} is invalid: use 1–253 letters, digits, '-', '_' or '.', ` +
        'starting and ending with a letter or digit',
    );
  }
  const base = `${SUBJECT_PREFIX}.${escapeSubjectToken(cluster)}`;
  return Object.freeze({
    cluster,
    clusterScope: `${base}.cluster`,
    allNodeScopes: `${base}.node.*`,
    replay: `${base}.replay`,
    agentsRegister: `${base}.agents.register`,
    credentials: `${base}.credentials`,
    allAgentQueries: `${base}.query.node.*`,
    agentQuery: (node: string) => `${base}.query.node.${escapeSubjectToken(nodeScope(node).node)}`,
    processReports: (node: string) => `${base}.processes.node.${escapeSubjectToken(nodeScope(node).node)}`,
    allProcessReports: `${base}.processes.node.*`,
    processesOfPod: `${base}.processes.pod`,
    processByUpid: `${base}.processes.upid`,
    scope: (scope: Scope) => (scope.kind === 'cluster' ? `${base}.cluster` : `${base}.node.${escapeSubjectToken(scope.node)}`),
  });
}

/** The subject of `scope` in `cluster`. */
export function scopeSubject(cluster: string, scope: Scope): string {
  return clusterSubjects(cluster).scope(scope);
}

/**
 * Reads a scope subject back (e.g. the subject of a message received on a wildcard):
 * throws SchemaError INVALID_SUBJECT for anything that is not a kubemeta scope subject.
 */
export function parseScopeSubject(subject: string): { readonly cluster: string; readonly scope: Scope } {
  const tokens = subject.split('.');
  const bad = (): SchemaError =>
    invalidSubject(`subject ${quote(subject)} is not ${SUBJECT_PREFIX}.<cluster>.cluster or ${SUBJECT_PREFIX}.<cluster>.node.<node>`);
  if (tokens[0] !== SUBJECT_PREFIX || tokens[1] === undefined) throw bad();
  const cluster = unescapeSubjectToken(tokens[1]);
  if (!isValidClusterName(cluster)) throw bad();
  if (tokens.length === 3 && tokens[2] === 'cluster') return { cluster, scope: CLUSTER_SCOPE };
  if (tokens.length === 4 && tokens[2] === 'node') {
    const scope = tryNodeScope(unescapeSubjectToken(tokens[3]!));
    if (scope !== undefined) return { cluster, scope };
  }
  throw bad();
}

function tryNodeScope(node: string): Scope | undefined {
  try {
    return nodeScope(node);
  } catch {
    return undefined;
  }
}

function invalidSubject(message: string, cause?: unknown): SchemaError {
  return new SchemaError(SchemaErrorCode.INVALID_SUBJECT, message, cause === undefined ? undefined : { cause });
}
