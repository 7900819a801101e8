import { ConsoleError, ConsoleErrorCode } from '../errors.ts';
import { ENTITY_KINDS, KIND_ALIASES, parseKindList, type EntityKind } from '../entity-kinds.ts';

/**
 * A search box text taken apart: `[kinds:][namespace/]text`.
 *
 * - `svc:front`, `deploy,sts:api`: only those kinds (kubectl's short names, see entity-kinds.ts).
 * - `shop/checkout`: only entities in namespace `shop` (an exact namespace name).
 * - `svc:shop/front`: both.
 * - `app=checkout`, `app.kubernetes.io/name=checkout`: a label; no namespace is split off a
 *   text with `=`, and none off a prefix that is not a namespace name (label keys have dots).
 * Names are matched case-insensitively, so `text` and `namespace` come back lowercased.
 */
export interface ParsedQuery {
  readonly text: string;
  /** undefined: every kind. */
  readonly kinds: readonly EntityKind[] | undefined;
  readonly namespace: string | undefined;
}

/** A namespace name: an RFC 1123 label. */
const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Throws ConsoleError UNKNOWN_KIND for a `kind:` prefix that names no kind. */
export function parseQuery(raw: string): ParsedQuery {
  let rest = raw.trim().toLowerCase();
  let kinds: readonly EntityKind[] | undefined;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const parsed = parseKindList(rest.slice(0, colon));
    if ('unknown' in parsed) {
      throw new ConsoleError(
        ConsoleErrorCode.UNKNOWN_KIND,
        `unknown kind "${parsed.unknown}" in "${raw.trim()}"; use one of ${KIND_ALIASES.join(', ')}`,
      );
    }
    kinds = parsed.kinds.length > 0 ? parsed.kinds : undefined;
    rest = rest.slice(colon + 1).trimStart();
  }
  let namespace: string | undefined;
  const slash = rest.indexOf('/');
  const labelOnly = kinds !== undefined && kinds.length === 1 && kinds[0] === 'label';
  if (slash > 0 && !labelOnly && !rest.includes('=') && NAMESPACE_RE.test(rest.slice(0, slash))) {
    namespace = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
  }
  return { text: rest, kinds, namespace };
}

/** Intersects two kind filters (undefined = every kind); the result keeps rank order. */
export function intersectKinds(a: readonly EntityKind[] | undefined, b: readonly EntityKind[] | undefined): readonly EntityKind[] | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const set = new Set(b);
  return ENTITY_KINDS.filter((k) => a.includes(k) && set.has(k));
}
