import { prefixDistance, type FuzzyPlan } from './edit-distance.ts';
import type { IndexEntry } from './entry.ts';
import { Term } from './entry.ts';
import { GramIndex, hasGram } from './gram-index.ts';
import { TrieWalk } from './trie-walk.ts';

/** New terms wait unsorted (and are scanned linearly) until there are this many. */
const PENDING_LIMIT = 256;

const byText = (a: Term, b: Term): number => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0);

/**
 * The distinct names of one entity kind, for prefix, substring and typo-tolerant lookup.
 *
 * - `sorted` holds the terms in code-unit order: a prefix is a binary search and a range, and
 *   the typo search walks it as an implicit trie (terms sharing a prefix are adjacent).
 * - New terms go to `pending` (scanned linearly) and are merged in batches, so an update never
 *   moves the big array; dead terms stay in `sorted` (skipped) until the next merge drops them.
 * - `grams` lists term ids by trigram for substring search (gram-index.ts).
 * Every lookup sees every term added before it: changes apply synchronously.
 */
export class TermDictionary {
  readonly #byText = new Map<string, Term>();
  #sorted: Term[] = [];
  #pending: Term[] = [];
  #deadInSorted = 0;
  readonly #byId: Array<Term | undefined> = [];
  readonly #freeIds: number[] = [];
  readonly #grams = new GramIndex();
  #goneEntries = 0;
  /** Entries filed under some term. */
  #filed = 0;

  get terms(): number {
    return this.#byText.size;
  }

  /** Entries filed here that are no longer live (a search skips its "gone" pass without them). */
  get goneEntries(): number {
    return this.#goneEntries;
  }

  /** Files `entry` under `text` (lowercased name). */
  add(entry: IndexEntry, text: string): void {
    let term = this.#byText.get(text);
    if (!term) {
      const id = this.#freeIds.pop() ?? this.#byId.length;
      term = new Term(text, id);
      this.#byId[id] = term;
      this.#byText.set(text, term);
      this.#pending.push(term);
      this.#grams.add(id, text);
    }
    term.add(entry);
    this.#filed++;
    if (entry.goneAtMs === 0) term.live++;
    else this.#goneEntries++;
  }

  /** Marks a filed entry gone at `goneAtMs`, or live again with 0. */
  setGone(entry: IndexEntry, goneAtMs: number): void {
    const wasLive = entry.goneAtMs === 0;
    entry.goneAtMs = goneAtMs;
    if (wasLive === (goneAtMs === 0)) return;
    entry.term.live += wasLive ? -1 : 1;
    this.#goneEntries += wasLive ? 1 : -1;
  }

  /** Takes `entry` out of its term; the term dies when it was the last. */
  remove(entry: IndexEntry): void {
    const term = entry.term;
    if (term.slots[entry.slot] !== entry) return;
    if (entry.goneAtMs === 0) term.live--;
    else this.#goneEntries--;
    this.#filed--;
    if (!term.remove(entry) || term.dead) return;
    term.dead = true;
    this.#byText.delete(term.text);
    this.#byId[term.id] = undefined;
    this.#freeIds.push(term.id);
    this.#deadInSorted++; // counted also while pending: the merge drops it either way
  }

  exact(text: string): Term | undefined {
    return this.#byText.get(text);
  }

  /**
   * Calls `visit` for every term starting with `prefix`: first the pending ones (in no
   * order), then the sorted ones in name order until `visit` returns false.
   */
  prefix(prefix: string, visit: (term: Term) => boolean): void {
    this.#settleIfDue();
    for (const t of this.#pending) if (!t.dead && t.text.startsWith(prefix)) visit(t);
    const s = this.#sorted;
    for (let i = lowerBound(s, prefix); i < s.length; i++) {
      const t = s[i] as Term;
      if (!t.text.startsWith(prefix)) return;
      if (!t.dead && !visit(t)) return;
    }
  }

  /**
   * Calls `visit` once with each term containing `query` (2+ characters) and the first
   * position, in no particular order. `mark` is a number no earlier call used.
   */
  substring(query: string, mark: number, visit: (term: Term, at: number) => void): void {
    for (const [gram, list] of this.#grams.candidates(query)) {
      let stale = 0;
      const ids = list.ids;
      for (let k = 0; k < list.length; k++) {
        const term = this.#byId[ids[k] as number];
        const at = term === undefined ? -1 : term.text.indexOf(query);
        if (at >= 0) {
          if ((term as Term).mark === mark) continue;
          (term as Term).mark = mark;
          visit(term as Term, at);
        } else if (term === undefined || !hasGram(term.text, gram)) {
          stale++;
        }
      }
      if (stale > 16 && stale * 2 > list.length) {
        this.#grams.prune(gram, (id) => {
          const t = this.#byId[id];
          return t !== undefined && hasGram(t.text, gram);
        });
      }
    }
  }

  /** How many candidates `substring(query)` would check (the rarest trigram's list). */
  substringCandidates(query: string): number {
    let n = 0;
    for (const [, list] of this.#grams.candidates(query)) n += list.length;
    return n;
  }

  /**
   * Like `substring`, but by scanning the names: pending ones first, then the sorted ones in
   * name order until `visit` returns false. For common substrings, whose trigram lists are
   * long while the best few matches come early in name order.
   */
  scanContaining(query: string, mark: number, visit: (term: Term, at: number) => boolean): void {
    this.#settleIfDue();
    for (const t of this.#pending) {
      const at = t.dead || t.mark === mark ? -1 : t.text.indexOf(query);
      if (at >= 0) visit(t, at);
    }
    for (const t of this.#sorted) {
      if (t.dead || t.mark === mark) continue;
      const at = t.text.indexOf(query);
      if (at >= 0 && !visit(t, at)) return;
    }
  }

  /**
   * Calls `visit` with each term whose closest prefix is exactly `distance` edits from the
   * query (1 ≤ distance ≤ the plan's maxDistance, see edit-distance.ts): first the sorted ones
   * in name order until `visit` returns false, then the pending ones. The walk spends the
   * plan's node budget (shared by the calls of one search).
   */
  fuzzy(plan: FuzzyPlan, distance: number, visit: (term: Term) => boolean): void {
    this.#settleIfDue();
    new TrieWalk(this.#sorted, plan, distance, visit).run();
    for (const t of this.#pending) if (!t.dead && prefixDistance(plan.query, t.text, plan.maxDistance, plan.rows) === distance) visit(t);
  }

  /** Terms in name order until `visit` returns false. */
  browse(visit: (term: Term) => boolean): void {
    this.settle();
    for (const t of this.#sorted) if (!t.dead && !visit(t)) return;
  }

  /** Terms in name order starting after `afterText` (exclusive) or at it (inclusive). */
  browseFrom(afterText: string, inclusive: boolean, visit: (term: Term) => boolean): void {
    this.settle();
    const s = this.#sorted;
    let i = lowerBound(s, afterText);
    if (!inclusive) while (i < s.length && (s[i] as Term).text === afterText) i++;
    for (; i < s.length; i++) if (!(s[i] as Term).dead && !visit(s[i] as Term)) return;
  }

  /** Merges pending terms into the sorted array and drops dead ones. */
  settle(): void {
    if (this.#pending.length === 0 && this.#deadInSorted === 0) return;
    const pending = this.#pending.filter((t) => !t.dead).sort(byText);
    const old = this.#sorted;
    const out: Term[] = new Array(old.length + pending.length);
    let n = 0;
    let i = 0;
    let j = 0;
    while (i < old.length || j < pending.length) {
      const a = old[i];
      if (a !== undefined && a.dead) {
        i++;
        continue;
      }
      const b = pending[j];
      if (b === undefined || (a !== undefined && a.text <= b.text)) {
        out[n++] = a as Term;
        i++;
      } else {
        out[n++] = b;
        j++;
      }
    }
    out.length = n;
    this.#sorted = out;
    this.#pending = [];
    this.#deadInSorted = 0;
  }

  /** Rough heap bytes of the dictionary itself (terms, their slot arrays, arrays, grams). */
  estimateBytes(): number {
    // Per term: the Term object (80), its one-slot array (56), its Map entry (~42), its places
    // in `sorted` and `byId` (16); each further entry of a term adds a slot (8, with slack ~12).
    const terms = this.#byText.size;
    return this.#grams.estimateBytes() + terms * 194 + Math.max(0, this.#filed - terms) * 12 + this.#pending.length * 8;
  }

  stats(): { terms: number; postings: number; grams: number } {
    return { terms: this.#byText.size, postings: this.#grams.postings, grams: this.#grams.grams };
  }

  #settleIfDue(): void {
    if (this.#pending.length > PENDING_LIMIT || (this.#deadInSorted > 1024 && this.#deadInSorted * 4 > this.#sorted.length)) this.settle();
  }
}

/** First index whose text is ≥ `text`. */
function lowerBound(s: readonly Term[], text: string): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((s[mid] as Term).text < text) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
