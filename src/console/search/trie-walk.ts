import { osaRow, type FuzzyPlan } from './edit-distance.ts';
import type { Term } from './entry.ts';

/**
 * One typo search over a dictionary's sorted terms, walked as an implicit trie: terms that
 * share a prefix are adjacent, so a trie node is a range [lo, hi) and its children are found by
 * binary search on the next character. Each node extends the DP by one row (osaRow); a subtree
 * is dropped as soon as its row exceeds the bound, and emitted whole as soon as no longer
 * prefix can get closer. Matches at exactly `distance` are handed to `visit` in name order
 * until it returns false.
 */
export class TrieWalk {
  readonly #s: readonly Term[];
  readonly #plan: FuzzyPlan;
  readonly #distance: number;
  readonly #visit: (term: Term) => boolean;
  readonly #m: number;
  #stopped = false;

  constructor(sorted: readonly Term[], plan: FuzzyPlan, distance: number, visit: (term: Term) => boolean) {
    this.#s = sorted;
    this.#plan = plan;
    this.#distance = distance;
    this.#visit = visit;
    this.#m = plan.query.length;
  }

  run(): void {
    this.#walk(0, this.#s.length, 0, this.#m, 0);
  }

  /** Every term in [lo, hi) starts with the same `depth` characters; rows[depth] is their row, `best` their smallest distance so far. */
  #walk(lo: number, hi: number, depth: number, best: number, rowMin: number): void {
    const max = this.#plan.maxDistance;
    if (best <= max && rowMin >= best) {
      if (best === this.#distance) this.#emit(lo, hi);
      return;
    }
    if (rowMin > max || depth >= this.#m + max) return;
    if (hi - lo === 1) return this.#single(lo, depth, best);
    const s = this.#s;
    let a = lo;
    while (a < hi && (s[a] as Term).text.length === depth) a++;
    if (a > lo && best === this.#distance) this.#emit(lo, a);
    // A child whose character occurs nowhere near this depth in the query gets the same row as
    // any other such child: when that row is out of bounds, only the few characters of the
    // query's band need a look (a Levenshtein automaton's trick), not every child.
    const rows = this.#plan.rows;
    if (hi - a > 16 && osaRow(this.#plan.query, rows[depth] as Int32Array, rows[depth] as Int32Array, this.#plan.scratch, -2, -2, depth + 1, max) > max) {
      for (const c of this.#plan.bandChars[depth] as number[]) {
        if (this.#stopped || a >= hi) return;
        const from = lowerBoundAt(s, a, hi, depth, c);
        const to = upperBoundAt(s, from, hi, depth, c);
        if (from < to) this.#child(from, to, depth, best);
        a = to;
      }
      return;
    }
    while (a < hi && !this.#stopped) {
      const b = upperBoundAt(s, a, hi, depth, (s[a] as Term).text.charCodeAt(depth));
      this.#child(a, b, depth, best);
      a = b;
    }
  }

  /** [a, b): the terms whose character at `depth` is the same: one child node. */
  #child(a: number, b: number, depth: number, best: number): void {
    if (--this.#plan.nodesLeft < 0) {
      this.#stopped = true;
      return;
    }
    const min = this.#row((this.#s[a] as Term).text, depth);
    const last = (this.#plan.rows[depth + 1] as Int32Array)[this.#m] as number;
    this.#walk(a, b, depth + 1, last < best ? last : best, min);
  }

  /** One term left below this node: follow its characters without searching for children. */
  #single(i: number, depth: number, best: number): void {
    const text = (this.#s[i] as Term).text;
    const max = this.#plan.maxDistance;
    for (let d = depth; d < text.length && d < this.#m + max; d++) {
      if (--this.#plan.nodesLeft < 0) {
        this.#stopped = true;
        return;
      }
      const min = this.#row(text, d);
      const last = (this.#plan.rows[d + 1] as Int32Array)[this.#m] as number;
      if (last < best) best = last;
      if (best <= max && min >= best) break;
      if (min > max) return;
    }
    if (best === this.#distance) this.#emit(i, i + 1);
  }

  /** Computes rows[depth + 1] for `text`'s character at `depth`; returns the row's minimum. */
  #row(text: string, depth: number): number {
    const rows = this.#plan.rows;
    return osaRow(
      this.#plan.query, rows[depth === 0 ? 0 : depth - 1] as Int32Array, rows[depth] as Int32Array, rows[depth + 1] as Int32Array,
      text.charCodeAt(depth), depth >= 1 ? text.charCodeAt(depth - 1) : -1, depth + 1, this.#plan.maxDistance,
    );
  }

  #emit(lo: number, hi: number): void {
    for (let i = lo; i < hi && !this.#stopped; i++) {
      const t = this.#s[i] as Term;
      if (!t.dead && !this.#visit(t)) this.#stopped = true;
    }
  }
}

/** In [lo, hi), where every text is longer than `depth` and sorted by its char there: the first index at or past char `c`. */
function lowerBoundAt(s: readonly Term[], lo: number, hi: number, depth: number, c: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((s[mid] as Term).text.charCodeAt(depth) < c) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Likewise: the first index past char `c` (a linear step for short ranges). */
function upperBoundAt(s: readonly Term[], lo: number, hi: number, depth: number, c: number): number {
  if (hi - lo <= 8) {
    while (lo < hi && (s[lo] as Term).text.charCodeAt(depth) <= c) lo++;
    return lo;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((s[mid] as Term).text.charCodeAt(depth) <= c) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
