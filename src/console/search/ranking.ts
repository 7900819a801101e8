import { kindRank, type EntityKind } from '../entity-kinds.ts';
import type { IndexEntry } from './entry.ts';

/** How a name matched the query, best first. */
export const MATCH_TYPES = ['exact', 'prefix', 'substring', 'fuzzy'] as const;
export type MatchType = (typeof MATCH_TYPES)[number];

/** One candidate result with what its rank depends on. */
export interface Hit {
  readonly entry: IndexEntry;
  /** Index in MATCH_TYPES. */
  readonly cls: number;
  /** Edits (fuzzy); 0 otherwise. */
  readonly distance: number;
  /** Where the query starts in the name (substring); 0 otherwise. */
  readonly at: number;
  /** The substring starts a word of the name (after - . _ / =). */
  readonly wordStart: boolean;
}

/**
 * The ranking, one key after the other: match type (exact > prefix > substring > fuzzy), live
 * before deleted, fewer typos, kind (ENTITY_KINDS order: namespaces, nodes, services,
 * workloads, then pods, containers, labels), a substring at a word start before one inside a
 * word, name, then the older entry. Kind before name lets a search skip a whole kind's
 * dictionary once the best hits are known, and name order lets it stop inside one:
 * dictionaries hand out prefix, substring and typo matches in name order.
 */
export function compareHits(a: Hit, b: Hit): number {
  return (
    a.cls - b.cls ||
    goneRank(a.entry) - goneRank(b.entry) ||
    a.distance - b.distance ||
    kindRank(a.entry.kind) - kindRank(b.entry.kind) ||
    Number(b.wordStart) - Number(a.wordStart) ||
    compareText(a.entry.term.text, b.entry.term.text) ||
    a.entry.seq - b.entry.seq
  );
}

const goneRank = (e: IndexEntry): number => (e.goneAtMs === 0 ? 0 : 1);
const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The best `limit` hits seen so far, kept sorted (limit is small: a binary insert is enough). */
export class TopHits {
  readonly limit: number;
  readonly #hits: Hit[] = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  get full(): boolean {
    return this.#hits.length >= this.limit;
  }

  /** Adds the hit if it ranks among the best; false when it does not (nor would anything ranking after it). */
  offer(hit: Hit): boolean {
    const hits = this.#hits;
    if (hits.length >= this.limit && compareHits(hit, hits[hits.length - 1] as Hit) >= 0) return false;
    let lo = 0;
    let hi = hits.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareHits(hits[mid] as Hit, hit) <= 0) lo = mid + 1;
      else hi = mid;
    }
    hits.splice(lo, 0, hit);
    if (hits.length > this.limit) hits.pop();
    return true;
  }

  /**
   * True when no hit with these leading keys can get in: with `text`, none of that name (or
   * after it); without, none at all. Lets a search skip a kind, a pass or a term without
   * building a hit.
   */
  rejects(cls: number, gone: boolean, distance: number, kind: EntityKind, wordStart: boolean, text?: string): boolean {
    if (this.#hits.length < this.limit) return false;
    const w = this.#hits[this.#hits.length - 1] as Hit;
    const order = cls - w.cls || Number(gone) - goneRank(w.entry) || distance - w.distance || kindRank(kind) - kindRank(w.entry.kind) ||
      Number(w.wordStart) - Number(wordStart);
    if (order !== 0 || text === undefined) return order > 0;
    return compareText(text, w.entry.term.text) > 0;
  }

  hits(): readonly Hit[] {
    return this.#hits;
  }
}

/** What separates the words of a name: Kubernetes names, label keys and label values. */
export const SEPARATORS: readonly string[] = ['-', '.', '_', '/', '=', ':'];
const SEPARATOR_SET = new Set(SEPARATORS);

/** True when position `at` of `text` starts a word (the start, or after a separator). */
export function isWordStart(text: string, at: number): boolean {
  return at === 0 || SEPARATOR_SET.has(text.charAt(at - 1));
}
