import { SdkInvalidArgumentError } from './errors.ts';

/** One requirement of a Kubernetes label selector; `=`/`==` become `in [v]`, `!=` becomes `notin [v]`. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: 'in' | 'notin' | 'exists' | 'doesNotExist';
  readonly values: readonly string[];
}

export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
  /** True when every requirement holds (an empty selector matches everything). */
  matches(labels: Readonly<Record<string, string>>): boolean;
}

// Label keys: an optional DNS-subdomain prefix and '/', then a name; values may be empty.
const KEY = String.raw`(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?`;
const VALUE = String.raw`(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`);
const EXISTS = new RegExp(`^(${KEY})$`);
const NOT_EXISTS = new RegExp(`^!\\s*(${KEY})$`);
const VALUE_ONLY = new RegExp(`^${VALUE}$`);

/**
 * Parses the label selector syntax kubectl accepts (`-l`): comma-separated requirements
 * `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`. Throws
 * SdkInvalidArgumentError naming the requirement that does not parse.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const requirements = splitRequirements(text).map(parseRequirement);
  return Object.freeze({ requirements: Object.freeze(requirements), matches: (labels: Readonly<Record<string, string>>) => matchesAll(requirements, labels) });
}

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
  if (trimmed.length === 1 && trimmed[0] === '') return [];
  return trimmed;
}

function parseRequirement(part: string): LabelRequirement {
  let m = EQUALITY.exec(part);
  if (m) return { key: m[1] as string, operator: m[2] === '!=' ? 'notin' : 'in', values: [m[3] as string] };
  m = SET.exec(part);
  if (m) {
    const values = (m[3] as string).split(',').map((v) => v.trim());
    if (values.some((v) => !VALUE_ONLY.test(v))) throw invalid(part, 'a value in the set is not a valid label value');
    return { key: m[1] as string, operator: m[2] as 'in' | 'notin', values };
  }
  m = NOT_EXISTS.exec(part);
  if (m) return { key: m[1] as string, operator: 'doesNotExist', values: [] };
  m = EXISTS.exec(part);
  if (m) return { key: m[1] as string, operator: 'exists', values: [] };
  throw invalid(part, 'expected k=v, k!=v, k in (a,b), k notin (a,b), k or !k');
}

function matchesAll(requirements: readonly LabelRequirement[], labels: Readonly<Record<string, string>>): boolean {
  for (const r of requirements) {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    switch (r.operator) {
      case 'exists':
        if (!has) return false;
        break;
      case 'doesNotExist':
        if (has) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(value as string)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(value as string)) return false;
        break;
    }
  }
  return true;
}

function invalid(part: string, problem: string): SdkInvalidArgumentError {
  return new SdkInvalidArgumentError('labelSelector', `${JSON.stringify(part)}: ${problem}`);
}
