import { alignedRanges, FuzzyPlan, maxTypos } from './edit-distance.ts';
import { kindRank, type EntityKind } from '../entity-kinds.ts';
import type { ClusterSlot, IndexEntry, Term } from './entry.ts';
import { MATCH_TYPES, SEPARATORS, TopHits, type Hit, type MatchType } from './ranking.ts';
import type { TermDictionary } from './term-dictionary.ts';

/** What a search looks in and for. `text` is lowercased; the kinds are in rank order. */
export interface SearchPlan {
  readonly text: string;
  readonly kinds: readonly EntityKind[];
  /** undefined: every cluster. */
  readonly clusters: ReadonlySet<ClusterSlot> | undefined;
  readonly namespace: string | undefined;
  readonly limit: number;
}

export interface RankedHit {
  readonly entry: IndexEntry;
  readonly match: MatchType;
  readonly distance: number;
  readonly highlights: Array<[number, number]>;
}

const EXACT = 0;
const PREFIX = 1;
const SUBSTRING = 2;
const FUZZY = 3;
const PASSES = [false, true] as const; // live entries, then the ones gone but retained

/**
 * Runs one search over the kinds' dictionaries in ranking order (ranking.ts): match class by
 * class, live entries before gone ones, typo distance by distance, kind by kind. It skips every
 * step whose best possible hit could not get among the best `limit` found so far, and inside
 * a kind it stops at the first refused hit where the dictionary hands matches out in name
 * order (prefixes, typos). So a search costs about `limit` hits, not the number of matches.
 * `nextMark` returns a number no earlier call returned (dedupes terms within a step).
 */
export function runSearch(dicts: ReadonlyMap<EntityKind, TermDictionary>, plan: SearchPlan, nextMark: () => number): RankedHit[] {
  if (plan.text === '') return browse(dicts, plan);
  const top = new TopHits(plan.limit);
  const q = plan.text;
  const steps = (cls: number, distance: number, fn: (dict: TermDictionary, gone: boolean, kind: EntityKind) => void): void => {
    for (const gone of PASSES) {
      for (const kind of plan.kinds) {
        const dict = dicts.get(kind);
        if (dict && (!gone || dict.goneEntries > 0) && !top.rejects(cls, gone, distance, kind, cls === SUBSTRING)) fn(dict, gone, kind);
      }
    }
  };
  const offer = (term: Term, gone: boolean, cls: number, distance: number, at: number, wordStart: boolean): boolean =>
    offerTerm(top, plan, term, gone, cls, distance, at, wordStart);
  steps(EXACT, 0, (dict, gone) => {
    const term = dict.exact(q);
    if (term) offer(term, gone, EXACT, 0, 0, false);
  });
  steps(PREFIX, 0, (dict, gone) => dict.prefix(q, (term) => term.text === q || offer(term, gone, PREFIX, 0, 0, false)));
  if (q.length >= 2) {
    const wordStarts = SEPARATORS.map((sep) => sep + q);
    steps(SUBSTRING, 0, (dict, gone, kind) => substringStep(dict, q, wordStarts, nextMark(), top, kind, gone, offer));
  }
  const typos = maxTypos(q.length);
  const fuzzy = typos > 0 ? new FuzzyPlan(q, typos, FUZZY_NODE_BUDGET) : undefined;
  for (let distance = 1; fuzzy && distance <= typos; distance++) {
    // A name that contains the query matched above.
    steps(FUZZY, distance, (dict, gone) => dict.fuzzy(fuzzy, distance, (term) => term.text.includes(q) || offer(term, gone, FUZZY, distance, 0, false)));
  }
  return top.hits().map((h) => rank(h, q, typos));
}

/**
 * Trie nodes one search's typo matching may visit (about 0.15 µs each: ~0.6 ms). Typical
 * queries need a few hundred; two typos in a long name full of random hashes
 * (`app-12-7c5ddbdf54-x8k`) can reach tens of thousands, and then the rest of the typo matches
 * is not looked for. Exact, prefix and substring matches are never cut.
 */
const FUZZY_NODE_BUDGET = 4_000;

/** Past this many trigram candidates, a substring is looked for by scanning names in order. */
const SCAN_ABOVE = 8_192;

/**
 * Substring matches of one kind: first where the query starts a word (`-api` in
 * `cart-api-…`: the query behind each separator, a longer and rarer text), then inside words.
 * Both come in name order within their group; the second is skipped when the first filled
 * the results, and for a common substring it scans names in order and stops early.
 */
function substringStep(
  dict: TermDictionary, q: string, wordStarts: readonly string[], mark: number, top: TopHits, kind: EntityKind, gone: boolean,
  offer: (term: Term, gone: boolean, cls: number, distance: number, at: number, wordStart: boolean) => boolean,
): void {
  const atWordStart = (term: Term, at: number): void => { if (!term.text.startsWith(q)) offer(term, gone, SUBSTRING, 0, at + 1, true); };
  for (const text of wordStarts) dict.substring(text, mark, atWordStart);
  if (top.rejects(SUBSTRING, gone, 0, kind, false)) return;
  // Position 0 is a prefix match; terms seen above carry the mark and are skipped.
  const inside = (term: Term, at: number): boolean => at === 0 || offer(term, gone, SUBSTRING, 0, at, false);
  if (dict.substringCandidates(q) <= SCAN_ABOVE) dict.substring(q, mark, inside);
  else dict.scanContaining(q, mark, inside);
}

/**
 * Offers the term's entries of one pass (live or gone) that pass the filters, in creation
 * order. Returns false when one was refused: every later entry of the term, and every term
 * after it in name order, ranks lower.
 */
function offerTerm(top: TopHits, plan: SearchPlan, term: Term, gone: boolean, cls: number, distance: number, at: number, wordStart: boolean): boolean {
  if ((gone ? term.size - term.live : term.live) === 0) return true;
  const first = term.slots.find((e) => e !== undefined);
  if (first && top.rejects(cls, gone, distance, first.kind, wordStart, term.text)) return false;
  for (const entry of term.slots) {
    if (entry === undefined || (entry.goneAtMs !== 0) !== gone || !passes(plan, entry)) continue;
    if (!top.offer({ entry, cls, distance, at, wordStart })) return false;
  }
  return true;
}

function passes(plan: SearchPlan, e: IndexEntry): boolean {
  return (plan.clusters === undefined || plan.clusters.has(e.cluster)) && (plan.namespace === undefined || e.namespace === plan.namespace);
}

function rank(h: Hit, q: string, typos: number): RankedHit {
  const len = h.entry.name.length;
  let highlights: Array<[number, number]>;
  if (h.cls === EXACT) highlights = [[0, len]];
  else if (h.cls === PREFIX) highlights = [[0, q.length]];
  else if (h.cls === SUBSTRING) highlights = [[h.at, h.at + q.length]];
  else highlights = alignedRanges(q, h.entry.name, typos);
  return { entry: h.entry, match: MATCH_TYPES[h.cls] as MatchType, distance: h.distance, highlights };
}

/**
 * An empty text lists what the filters select, in ranking order: live entities first, then by
 * kind and name (every name is a prefix match of the empty text).
 */
function browse(dicts: ReadonlyMap<EntityKind, TermDictionary>, plan: SearchPlan): RankedHit[] {
  const out: RankedHit[] = [];
  const kinds = [...plan.kinds].sort((a, b) => kindRank(a) - kindRank(b));
  for (const gone of PASSES) {
    for (const kind of kinds) {
      if (out.length >= plan.limit) return out;
      dicts.get(kind)?.browse((term) => {
        for (const entry of term.slots) {
          if (entry === undefined || (entry.goneAtMs !== 0) !== gone || !passes(plan, entry)) continue;
          out.push({ entry, match: 'prefix', distance: 0, highlights: [] });
          if (out.length >= plan.limit) return false;
        }
        return true;
      });
    }
  }
  return out;
}
