import { parseLabelSelector, type QueryFilter } from '../sdk/index.ts';
import { QueryParseError } from './errors.ts';

/**
 * The telemetry query language of the query box (docs/agents.md):
 *
 *   <aggregation> <measure> [by <dimension>[, <dimension>…]] [filter…] [last <n>s|m|h]
 *
 *   p99 latency by service in namespace shop
 *   rate errors by pod deployment checkout last 15m
 *   count requests by node where label tier=api
 *
 * Filters (in any order, optionally joined by `and`, each at most once): `[in] namespace X`,
 * `service X`, `pod X` (name or uid), `node X`, `deployment X`, `container X`,
 * `where label k=v[,k2!=v2]`. Keywords are case-insensitive; names are taken as written.
 */
export const AGGREGATIONS = ['count', 'rate', 'p50', 'p90', 'p99', 'avg', 'max'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];
export const MEASURES = ['latency', 'requests', 'errors'] as const;
export type Measure = (typeof MEASURES)[number];
export const DIMENSIONS = ['service', 'pod', 'namespace', 'node', 'deployment', 'container'] as const;
export type Dimension = (typeof DIMENSIONS)[number];
const FILTER_WORDS = ['namespace', 'service', 'pod', 'node', 'deployment', 'container'] as const;
type FilterWord = (typeof FILTER_WORDS)[number];

/** Aggregations that read the latency of each row (the others count rows). */
export const LATENCY_AGGREGATIONS: ReadonlySet<Aggregation> = new Set(['p50', 'p90', 'p99', 'avg', 'max']);

/** What rows a query is about; every given field narrows them (intersection). */
export interface TelemetryFilter {
  readonly namespace?: string;
  readonly service?: string;
  /** A pod name (or uid). */
  readonly pod?: string;
  readonly node?: string;
  readonly deployment?: string;
  readonly container?: string;
  /** A label selector on pod labels (kubectl syntax). */
  readonly labelSelector?: string;
}

export interface TelemetryQuery {
  readonly aggregation: Aggregation;
  readonly measure: Measure;
  readonly groupBy: readonly Dimension[];
  readonly filter: TelemetryFilter;
  /** The `last` window (default 5 minutes). */
  readonly windowMs: number;
}

export const DEFAULT_WINDOW_MS = 5 * 60_000;
const MAX_WINDOW_MS = 24 * 3_600_000;
export const MAX_QUERY_LENGTH = 500;

interface Token {
  readonly text: string;
  readonly at: number;
}

/** Parses query text; throws QueryParseError with the offending token's position. */
export function parseTelemetryQuery(text: string): TelemetryQuery {
  if (typeof text !== 'string') throw new QueryParseError('the query must be a string', 0);
  if (text.length > MAX_QUERY_LENGTH) throw new QueryParseError(`the query is longer than ${MAX_QUERY_LENGTH} characters`, MAX_QUERY_LENGTH);
  return new Parser(text).parse();
}

/** The part of a filter that routing understands (containers are filtered by the agents only). */
export function toQueryFilter(filter: TelemetryFilter): QueryFilter {
  const { container: _container, ...routed } = filter;
  return routed;
}

/** The query in canonical text form (for logs and the answer). */
export function formatTelemetryQuery(q: TelemetryQuery): string {
  const parts: string[] = [q.aggregation, q.measure];
  if (q.groupBy.length > 0) parts.push('by', q.groupBy.join(', '));
  const f = q.filter;
  for (const word of FILTER_WORDS) if (f[word] !== undefined) parts.push(word, f[word] as string);
  if (f.labelSelector !== undefined) parts.push('where label', f.labelSelector);
  parts.push('last', formatWindow(q.windowMs));
  return parts.join(' ');
}

function formatWindow(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

class Parser {
  readonly #text: string;
  readonly #tokens: Token[];
  #i = 0;
  readonly #filter: Record<string, string> = {};
  readonly #groupBy: Dimension[] = [];
  #windowMs: number | undefined;

  constructor(text: string) {
    this.#text = text;
    this.#tokens = tokenize(text);
  }

  parse(): TelemetryQuery {
    const aggregation = this.#oneOf(AGGREGATIONS, 'aggregation', 'an empty query');
    const measureToken = this.#peek();
    const measure = this.#oneOf(MEASURES, 'measure', `'${aggregation}'`);
    if (LATENCY_AGGREGATIONS.has(aggregation) && measure !== 'latency') {
      throw new QueryParseError(
        `'${aggregation}' applies to latency only, not '${measure}' at ${measureToken?.at ?? 0}; ${measure} takes count or rate`,
        measureToken?.at ?? 0,
        ['latency'],
      );
    }
    while (this.#peek()) this.#clause();
    return Object.freeze({
      aggregation,
      measure,
      groupBy: Object.freeze([...this.#groupBy]),
      filter: Object.freeze({ ...this.#filter }) as TelemetryFilter,
      windowMs: this.#windowMs ?? DEFAULT_WINDOW_MS,
    });
  }

  #clause(): void {
    const t = this.#next() as Token;
    const word = t.text.toLowerCase();
    if (word === 'and') return;
    if (word === 'by') return this.#by(t);
    if (word === 'last') return this.#last(t);
    if (word === 'where') return this.#where(t);
    if (word === 'in') {
      const next = this.#peek();
      if (!next || !isFilterWord(next.text.toLowerCase())) throw this.#expected(next, `after 'in'`, [...FILTER_WORDS]);
      return this.#clause();
    }
    if (isFilterWord(word)) return this.#setFilter(word, t, this.#name(t, `a ${word} name`));
    throw new QueryParseError(
      `unexpected '${t.text}' at ${t.at}; expected by, in, ${FILTER_WORDS.join(', ')}, where label or last`,
      t.at,
      ['by', 'in', ...FILTER_WORDS, 'where', 'last'],
    );
  }

  #by(by: Token): void {
    if (this.#groupBy.length > 0) throw new QueryParseError(`'by' given twice at ${by.at}; list the dimensions once: by service, pod`, by.at);
    for (;;) {
      const t = this.#peek();
      const dim = t?.text.toLowerCase();
      if (!t || !isDimension(dim)) throw this.#expected(t, `a dimension after '${this.#groupBy.length === 0 ? 'by' : ','}'`, [...DIMENSIONS], 'dimension');
      if (this.#groupBy.includes(dim)) throw new QueryParseError(`dimension '${dim}' listed twice at ${t.at}`, t.at);
      this.#groupBy.push(dim);
      this.#i++;
      if (this.#peek()?.text !== ',') return;
      this.#i++;
    }
  }

  #last(last: Token): void {
    if (this.#windowMs !== undefined) throw new QueryParseError(`'last' given twice at ${last.at}`, last.at);
    const t = this.#peek();
    const m = t ? /^(\d{1,6})(s|m|h)$/i.exec(t.text) : null;
    if (!t || !m) throw this.#expected(t, `a window after 'last' such as 30s, 5m or 1h`, ['30s', '5m', '1h'], 'window');
    const ms = Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[(m[2] as string).toLowerCase() as 's' | 'm' | 'h'];
    if (ms < 1_000 || ms > MAX_WINDOW_MS) throw new QueryParseError(`window '${t.text}' at ${t.at} is out of range; use 1s to 24h`, t.at);
    this.#windowMs = ms;
    this.#i++;
  }

  #where(where: Token): void {
    const label = this.#peek();
    if (!label || label.text.toLowerCase() !== 'label') throw this.#expected(label, `'label' after 'where'`, ['label']);
    this.#i++;
    if (this.#filter['labelSelector'] !== undefined) throw new QueryParseError(`'where label' given twice at ${where.at}; separate requirements with commas: where label a=b,c!=d`, where.at);
    const requirements: string[] = [];
    for (;;) {
      const t = this.#peek();
      if (!t || !/^[^=!,\s]+(==|=|!=)[^=!,\s]*$/.test(t.text)) throw this.#expected(t, `a label requirement such as app=web or tier!=db`, ['key=value', 'key!=value'], 'label requirement');
      try {
        parseLabelSelector(t.text);
      } catch (err) {
        throw new QueryParseError(`label requirement '${t.text}' at ${t.at} is not valid: ${(err as Error).message}`, t.at);
      }
      requirements.push(t.text);
      this.#i++;
      const comma = this.#peek();
      if (comma?.text !== ',' || !/=/.test(this.#tokens[this.#i + 1]?.text ?? '')) break;
      this.#i++;
    }
    this.#filter['labelSelector'] = requirements.join(',');
  }

  #setFilter(word: FilterWord, t: Token, value: string): void {
    if (this.#filter[word] !== undefined) throw new QueryParseError(`${word} given twice at ${t.at}; a query filters on one ${word}`, t.at);
    this.#filter[word] = value;
  }

  #name(after: Token, what: string): string {
    const t = this.#peek();
    if (!t || t.text === ',' || !/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(t.text)) throw this.#expected(t, `${what} after '${after.text}'`, [], 'name');
    this.#i++;
    return t.text;
  }

  #oneOf<T extends string>(allowed: readonly T[], what: string, after: string): T {
    const t = this.#peek();
    const word = t?.text.toLowerCase();
    if (t && (allowed as readonly string[]).includes(word as string)) {
      this.#i++;
      return word as T;
    }
    if (!t) throw new QueryParseError(`${after === 'an empty query' ? 'empty query' : `missing ${what} after ${after}`} at ${this.#text.length}; expected ${allowed.join('|')}`, this.#text.length, allowed);
    throw new QueryParseError(`unknown ${what} '${t.text}' at ${t.at}; expected ${allowed.join('|')}${suggest(t.text, allowed)}`, t.at, allowed);
  }

  #expected(t: Token | undefined, what: string, expected: readonly string[], noun = 'token'): QueryParseError {
    const at = t?.at ?? this.#text.length;
    return new QueryParseError(t ? `unexpected ${noun} '${t.text}' at ${at}; expected ${what}` : `missing ${what} at ${at}`, at, expected);
  }

  #peek(): Token | undefined {
    return this.#tokens[this.#i];
  }

  #next(): Token | undefined {
    return this.#tokens[this.#i++];
  }
}

/** Words and commas, each with its offset in the text. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (const m of text.matchAll(/,|[^\s,]+/g)) tokens.push({ text: m[0], at: m.index });
  return tokens;
}

function isFilterWord(word: string): word is FilterWord {
  return (FILTER_WORDS as readonly string[]).includes(word);
}

function isDimension(word: string | undefined): word is Dimension {
  return word !== undefined && (DIMENSIONS as readonly string[]).includes(word);
}

/** "; did you mean X?" for a word one or two edits from an allowed one. */
function suggest(word: string, allowed: readonly string[]): string {
  const w = word.toLowerCase();
  const best = allowed.map((a) => [a, editDistance(w, a)] as const).sort((a, b) => a[1] - b[1])[0];
  return best && best[1] <= 2 ? `; did you mean '${best[0]}'?` : '';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length] as number;
}
