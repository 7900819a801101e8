/**
 * Bounded edit distance for typo-tolerant autocomplete: the optimal string alignment distance
 * (Levenshtein plus transposition of two adjacent characters, "Damerau" as most spell checkers
 * use it) between the query and a *prefix* of a name, so that `chekcout` finds
 * `checkout-api-7c5ddbdf54-x8kqz` while it is being typed.
 *
 * Written here rather than taken from npm: the distance libraries (fastest-levenshtein, leven,
 * js-levenshtein, damerau-levenshtein) compute one full-string distance without a bound, without
 * prefix matching and without an alignment to highlight; fuse.js scores by bitap over a linear
 * scan (too slow at 600,000 names for a 5 ms p99); mnemonist's PassjoinIndex/SymSpell index whole
 * strings for one fixed distance and knows no prefixes. The index walks its sorted names as a
 * trie and extends one DP row per trie node (osaRow), which is the part no library offers.
 */

/** How many typos a query of `length` characters may contain: 0 below 4, 1 up to 7, then 2. */
export function maxTypos(length: number): number {
  if (length < 4) return 0;
  return length < 8 ? 1 : 2;
}

/**
 * Extends the DP by one name character: `cur` gets the row for name prefix length `depth`
 * (≥ 1) whose last character is `c`, from the rows of depth − 1 (`prev`) and depth − 2
 * (`prev2`, used for transpositions; `cPrev` is the name character before `c`, −1 at depth 1).
 * Rows have query.length + 1 cells; cell j is the distance between query[0, j) and the name
 * prefix. Only the band |j − depth| ≤ bound is computed (Ukkonen's cut-off: cells outside it
 * exceed the bound); they and every value above the bound read as bound + 1. Returns the row's
 * minimum (no longer name prefix can get below it).
 */
export function osaRow(query: string, prev2: Int32Array, prev: Int32Array, cur: Int32Array, c: number, cPrev: number, depth: number, bound: number): number {
  const m = query.length;
  const big = bound + 1;
  cur[0] = depth < big ? depth : big;
  let min = cur[0] as number;
  const lo = depth - bound > 1 ? depth - bound : 1;
  const hi = depth + bound < m ? depth + bound : m;
  if (lo > hi) {
    cur[m] = big;
    return big;
  }
  if (lo > 1) cur[lo - 1] = big;
  let qPrev = lo >= 2 ? query.charCodeAt(lo - 2) : -1;
  for (let j = lo; j <= hi; j++) {
    const q = query.charCodeAt(j - 1);
    let v = (prev[j] as number) + 1;
    const ins = (cur[j - 1] as number) + 1;
    if (ins < v) v = ins;
    const sub = (prev[j - 1] as number) + (q === c ? 0 : 1);
    if (sub < v) v = sub;
    if (depth >= 2 && j >= 2 && q === cPrev && qPrev === c) {
      const tr = (prev2[j - 2] as number) + 1;
      if (tr < v) v = tr;
    }
    if (v > big) v = big;
    cur[j] = v;
    if (v < min) min = v;
    qPrev = q;
  }
  if (hi < m) {
    cur[hi + 1] = big;
    cur[m] = big;
  }
  return min;
}

/**
 * DP rows reused from one search to the next (searches run one at a time on the event loop):
 * `depths` rows plus a scratch row, each with room for the query, row 0 set to [0, 1, …, m].
 * Typed arrays are costly to allocate, and a search needs one per name prefix length.
 */
let pool: Int32Array[] = [];
function pooledRows(query: string, depths: number): Int32Array[] {
  const width = query.length + 1;
  if (pool.length < depths + 1 || (pool[0] as Int32Array).length < width) {
    const size = Math.max(width, pool[0]?.length ?? 0, 33);
    pool = Array.from({ length: Math.max(depths + 1, pool.length) }, () => new Int32Array(size));
  }
  const first = pool[0] as Int32Array;
  for (let j = 0; j < width; j++) first[j] = j;
  return pool.slice(0, depths + 1);
}

/** Fresh DP rows for a query: row 0 is [0, 1, …, m]; `depths` rows in all. */
export function newRows(query: string, depths: number): Int32Array[] {
  const rows: Int32Array[] = [];
  for (let i = 0; i < depths; i++) rows.push(new Int32Array(query.length + 1));
  const first = rows[0] as Int32Array;
  for (let j = 0; j <= query.length; j++) first[j] = j;
  return rows;
}

/**
 * What one search's typo matching shares across dictionaries and distances: the query, its
 * bound, DP rows (one per name prefix length), the query characters each depth can match,
 * and the node budget left.
 */
export class FuzzyPlan {
  readonly query: string;
  readonly maxDistance: number;
  readonly rows: Int32Array[];
  readonly scratch: Int32Array;
  /** bandChars[depth]: the query characters a name character at depth + 1 can match or transpose with, ascending. */
  readonly bandChars: readonly number[][];
  /** Trie nodes the walks may still visit. */
  nodesLeft: number;

  constructor(query: string, maxDistance: number, nodeBudget: number) {
    this.query = query;
    this.maxDistance = maxDistance;
    this.rows = pooledRows(query, query.length + maxDistance + 2);
    this.scratch = this.rows[this.rows.length - 1] as Int32Array;
    const chars: number[][] = [];
    for (let depth = 0; depth <= query.length + maxDistance; depth++) {
      const out: number[] = [];
      for (let i = Math.max(0, depth - maxDistance - 1); i < Math.min(query.length, depth + 1 + maxDistance); i++) {
        const c = query.charCodeAt(i);
        if (!out.includes(c)) out.push(c);
      }
      chars.push(out.sort((x, y) => x - y));
    }
    this.bandChars = chars;
    this.nodesLeft = nodeBudget;
  }
}

/**
 * The smallest OSA distance between `query` and any prefix of `text`, if it is at most
 * `maxDistance`; otherwise −1. Stops as soon as no longer prefix can get within the bound.
 */
export function prefixDistance(query: string, text: string, maxDistance: number, rows: Int32Array[] = newRows(query, 3)): number {
  const m = query.length;
  let best = m <= maxDistance ? m : Number.POSITIVE_INFINITY;
  const limit = Math.min(text.length, m + maxDistance);
  for (let i = 1; i <= limit; i++) {
    const cur = rows[i % 3] as Int32Array;
    const min = osaRow(query, rows[(i + 1) % 3] as Int32Array, rows[(i + 2) % 3] as Int32Array, cur, text.charCodeAt(i - 1), i >= 2 ? text.charCodeAt(i - 2) : -1, i, maxDistance);
    const last = cur[m] as number;
    if (last < best) best = last;
    if (min > maxDistance || min >= best) break;
  }
  // rows[0] must stay [0..m] for the next call that reuses the rows.
  const first = rows[0] as Int32Array;
  for (let j = 0; j <= m; j++) first[j] = j;
  return best <= maxDistance ? best : -1;
}

/**
 * Which characters of `name` the query matched under the best alignment with a prefix of the
 * name (within `maxDistance`): [start, end) ranges of equal characters, for highlighting.
 * Builds the full DP matrix of one name (called only for the few results returned), in the
 * pooled rows.
 */
export function alignedRanges(query: string, name: string, maxDistance: number): Array<[number, number]> {
  const m = query.length;
  const n = Math.min(name.length, m + maxDistance);
  const lower = name.toLowerCase();
  const d = pooledRows(query, n + 1);
  for (let i = 1; i <= n; i++) {
    osaRow(query, d[i - 2] ?? (d[0] as Int32Array), d[i - 1] as Int32Array, d[i] as Int32Array, lower.charCodeAt(i - 1), i >= 2 ? lower.charCodeAt(i - 2) : -1, i, m + n);
  }
  let end = 0;
  for (let i = 1; i <= n; i++) if ((d[i] as Int32Array)[m] as number < ((d[end] as Int32Array)[m] as number)) end = i;
  const matched: number[] = [];
  let i = end;
  let j = m;
  while (i > 0 && j > 0) {
    const here = (d[i] as Int32Array)[j] as number;
    const qc = query.charCodeAt(j - 1);
    const nc = lower.charCodeAt(i - 1);
    if (qc === nc && here === ((d[i - 1] as Int32Array)[j - 1] as number)) {
      matched.push(i - 1);
      i--; j--;
    } else if (i >= 2 && j >= 2 && qc === lower.charCodeAt(i - 2) && query.charCodeAt(j - 2) === nc && here === ((d[i - 2] as Int32Array)[j - 2] as number) + 1) {
      matched.push(i - 1, i - 2);
      i -= 2; j -= 2;
    } else if (here === ((d[i - 1] as Int32Array)[j - 1] as number) + 1) {
      i--; j--;
    } else if (here === ((d[i - 1] as Int32Array)[j] as number) + 1) {
      i--;
    } else {
      j--;
    }
  }
  return toRanges(matched);
}

/** Sorted, merged [start, end) ranges from a list of positions. */
function toRanges(positions: number[]): Array<[number, number]> {
  positions.sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (const p of positions) {
    const last = out[out.length - 1];
    if (last && last[1] === p) last[1] = p + 1;
    else out.push([p, p + 1]);
  }
  return out;
}
