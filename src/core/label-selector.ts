import { InvalidArgumentError } from './errors.ts';

/**
 * Kubernetes label selectors (k8s.io/apimachinery/pkg/labels), parsed once for everyone who
 * reads them: the sim's API server (`labelSelector=` of LIST and WATCH) and the SDK's query
 * filters (kubectl's `-l` syntax).
 *
 * Grammar: requirements separated by commas, each one of `key`, `!key`, `key=value`,
 * `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, and, where the caller accepts
 * them (`numericComparisons`), `key>N` and `key<N`. `!=` and `notin` also match objects without
 * the key. Keys and values are checked as the API server checks them (a name part of at most
 * 63 characters, a DNS-subdomain prefix of at most 253), so what parses here parses there.
 */

/** `=`/`==` become `in [v]`, `!=` becomes `notin [v]`; `gt`/`lt` hold one integer. */
export type LabelOperator = 'in' | 'notin' | 'exists' | 'doesNotExist' | 'gt' | 'lt';

/** One requirement of a label selector, as apimachinery's `labels.Requirement`. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
  /** True when every requirement holds (an empty selector matches everything); no labels is none. */
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
}

export interface LabelSelectorOptions {
  /**
   * Accept `key>N` and `key<N`, which the API server serves; off, they are refused as the
   * SDK's filters always refused them.
   */
  readonly numericComparisons?: boolean;
}

/** A label selector that does not parse; `requirement` is the part at fault, `problem` says why. */
export class LabelSelectorError extends InvalidArgumentError {
  readonly requirement: string;
  readonly problem: string;
  constructor(requirement: string, problem: string) {
    super('labelSelector', `${JSON.stringify(requirement)}: ${problem}`);
    this.requirement = requirement;
    this.problem = problem;
  }
}

const NAME = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const KEY = new RegExp(`^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?${NAME}$`);
const VALUE = new RegExp(`^(${NAME})?$`);
const NOT_EXISTS = /^!\s*(\S+)$/;
const SET = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/;
const EQUALITY = /^([^=!<>\s]+)\s*(==|=|!=)\s*(\S*)$/;
const COMPARISON = /^([^=!<>\s]+)\s*([<>])\s*(-?\d+)$/;
const INTEGER = /^-?\d+$/;

/** Throws LabelSelectorError naming the first requirement that does not parse. */
export function parseLabelSelector(text: string, options: LabelSelectorOptions = {}): LabelSelector {
  const requirements = Object.freeze(splitRequirements(text).map((part) => parseRequirement(part, options.numericComparisons === true)));
  return Object.freeze({ requirements, matches: (labels: Readonly<Record<string, string>> | undefined) => matchesAll(requirements, labels ?? {}) });
}

/** Splits at commas outside parentheses (`a in (x,y),b` has two requirements). */
function splitRequirements(text: string): string[] {
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
  const trimmed = parts.map((p) => p.trim());
  // Only a selector that is empty as a whole selects everything; `a,` and `a,,b` are refused, as the API server refuses them.
  return trimmed.length === 1 && trimmed[0] === '' ? [] : trimmed;
}

function parseRequirement(part: string, numeric: boolean): LabelRequirement {
  let m = NOT_EXISTS.exec(part);
  if (m) return { key: checkKey(m[1] as string, part), operator: 'doesNotExist', values: [] };
  m = SET.exec(part);
  if (m) {
    const values = (m[3] as string).split(',').map((v) => checkValue(v.trim(), part));
    if (values.length === 1 && values[0] === '') throw new LabelSelectorError(part, `for 'in', 'notin' operators, values set can't be empty`);
    return { key: checkKey(m[1] as string, part), operator: m[2] as 'in' | 'notin', values };
  }
  m = EQUALITY.exec(part);
  if (m) return { key: checkKey(m[1] as string, part), operator: m[2] === '!=' ? 'notin' : 'in', values: [checkValue(m[3] as string, part)] };
  m = numeric ? COMPARISON.exec(part) : null;
  if (m) return { key: checkKey(m[1] as string, part), operator: m[2] === '>' ? 'gt' : 'lt', values: [m[3] as string] };
  if (/^\S+$/.test(part)) return { key: checkKey(part, part), operator: 'exists', values: [] };
  throw new LabelSelectorError(part, `expected k=v, k!=v, k in (a,b), k notin (a,b), k or !k${numeric ? ', k>N or k<N' : ''}`);
}

function matchesAll(requirements: readonly LabelRequirement[], labels: Readonly<Record<string, string>>): boolean {
  for (const r of requirements) if (!matchesOne(r, labels)) return false;
  return true;
}

function matchesOne(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key] as string;
  switch (r.operator) {
    case 'exists':
      return has;
    case 'doesNotExist':
      return !has;
    case 'in':
      return has && r.values.includes(value);
    case 'notin':
      return !has || !r.values.includes(value);
    case 'gt':
    case 'lt':
      // A label that is not an integer satisfies neither, as in apimachinery.
      if (!has || !INTEGER.test(value)) return false;
      return r.operator === 'gt' ? Number(value) > Number(r.values[0]) : Number(value) < Number(r.values[0]);
  }
}

function checkKey(key: string, part: string): string {
  if (!KEY.test(key)) throw new LabelSelectorError(part, `invalid label key ${JSON.stringify(key)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  return key;
}

function checkValue(value: string, part: string): string {
  if (!VALUE.test(value)) throw new LabelSelectorError(part, `invalid label value ${JSON.stringify(value)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  return value;
}
