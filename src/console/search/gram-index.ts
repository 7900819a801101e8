/**
 * Trigram posting lists over a dictionary's terms, for substring search: a query of three or
 * more characters is found among the terms listed under its rarest trigram (each candidate is
 * then checked with `includes`), a two-character query among the terms listed under the
 * trigrams that start with it. Each term is indexed with an end marker (`\u0003`), so that
 * `zq\u0003` covers a two-character query at the very end of a name.
 *
 * Lists are append-only: a term that dies leaves its id behind, and its id may be reused by a
 * new term. Callers check every candidate (alive, really contains the query), report stale
 * ids through `prune`, and a list is rewritten when more than half of it is stale. So removal
 * costs nothing on the update path and the lists stay within twice their live size.
 */
/** The end marker's code: a trigram ending in it covers a name's last two characters. */
const END = 3;

/**
 * A trigram as a small integer: 7 bits a character (names are ASCII; any other character
 * counts as 127, which only makes a list hold a few more candidates to check).
 */
export type GramKey = number;

const code = (c: number): number => (c < 127 ? c : 127);
const key3 = (a: number, b: number, c: number): GramKey => (code(a) << 14) | (code(b) << 7) | code(c);
const pairOf = (gram: GramKey): number => gram >> 7;

/** Does `text` (indexed with the end marker) have the trigram? */
export function hasGram(text: string, gram: GramKey): boolean {
  const n = text.length;
  for (let i = 0; i + 2 <= n; i++) {
    if (key3(text.charCodeAt(i), text.charCodeAt(i + 1), i + 2 < n ? text.charCodeAt(i + 2) : END) === gram) return true;
  }
  return false;
}

/** A growable list of int32 ids: 4 bytes an id (a JS array of numbers takes 8). */
export class IdList {
  ids: Int32Array;
  length = 0;

  constructor(capacity = 2) {
    this.ids = new Int32Array(capacity);
  }

  get last(): number {
    return this.length === 0 ? -1 : (this.ids[this.length - 1] as number);
  }

  push(id: number): void {
    if (this.length === this.ids.length) {
      const grown = new Int32Array(this.ids.length * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    this.ids[this.length++] = id;
  }
}

export class GramIndex {
  readonly #lists = new Map<GramKey, IdList>();
  /** Two-character prefix (the trigram key without its last character) → the trigrams that start with it. */
  readonly #byPair = new Map<number, Set<GramKey>>();
  #postings = 0;
  /** Ids the lists have room for (what they take in memory). */
  #capacity = 0;

  /** Number of ids held in all lists (stale ones included). */
  get postings(): number {
    return this.#postings;
  }

  get grams(): number {
    return this.#lists.size;
  }

  /** Lists `id` under every distinct trigram of `text` (with the end marker). */
  add(id: number, text: string): void {
    const n = text.length;
    for (let i = 0; i + 2 <= n; i++) {
      const a = text.charCodeAt(i);
      const b = text.charCodeAt(i + 1);
      const gram = key3(a, b, i + 2 < n ? text.charCodeAt(i + 2) : END);
      let list = this.#lists.get(gram);
      if (!list) {
        this.#lists.set(gram, (list = new IdList()));
        this.#capacity += list.ids.length;
        const pair = pairOf(gram);
        let grams = this.#byPair.get(pair);
        if (!grams) this.#byPair.set(pair, (grams = new Set()));
        grams.add(gram);
      }
      // A repeated trigram in one text ("aaa…") is listed once: the last id is this one.
      if (list.last === id) continue;
      const room = list.ids.length;
      list.push(id);
      this.#capacity += list.ids.length - room;
      this.#postings++;
    }
  }

  /**
   * The lists to scan for a query of `length` ≥ 2: for ≥ 3 characters the shortest list of
   * its trigrams (empty when a trigram is unknown: no term contains the query), for 2
   * characters every list of a trigram starting with it. Each comes with its trigram.
   */
  candidates(query: string): Array<readonly [GramKey, IdList]> {
    if (query.length === 2) {
      const grams = this.#byPair.get(pairOf(key3(query.charCodeAt(0), query.charCodeAt(1), 0)));
      return grams ? [...grams].map((g) => [g, this.#lists.get(g) as IdList] as const) : [];
    }
    let best: readonly [GramKey, IdList] | undefined;
    for (let i = 0; i + 3 <= query.length; i++) {
      const gram = key3(query.charCodeAt(i), query.charCodeAt(i + 1), query.charCodeAt(i + 2));
      const list = this.#lists.get(gram);
      if (!list) return [];
      if (!best || list.length < best[1].length) best = [gram, list];
    }
    return best ? [best] : [];
  }

  /**
   * Rewrites the list of `gram` keeping only ids for which `keep(id)` holds, each once. Called
   * when a scan found more than half of the list stale.
   */
  prune(gram: GramKey, keep: (id: number) => boolean): void {
    const list = this.#lists.get(gram);
    if (!list) return;
    const seen = new Set<number>();
    const kept = new IdList(Math.max(2, list.length >> 1));
    for (let k = 0; k < list.length; k++) {
      const id = list.ids[k] as number;
      if (!seen.has(id) && keep(id)) {
        seen.add(id);
        kept.push(id);
      }
    }
    this.#postings -= list.length - kept.length;
    this.#capacity -= list.ids.length - (kept.length === 0 ? 0 : kept.ids.length);
    if (kept.length === 0) {
      this.#lists.delete(gram);
      const pair = pairOf(gram);
      const grams = this.#byPair.get(pair);
      grams?.delete(gram);
      if (grams?.size === 0) this.#byPair.delete(pair);
    } else {
      this.#lists.set(gram, kept);
    }
  }

  /**
   * Rough heap bytes: 4 per id of list capacity, and per list its Map entry, key, IdList and
   * Int32Array (about 210 bytes on 64-bit V8 without pointer compression, Node's default).
   */
  estimateBytes(): number {
    return this.#capacity * 4 + this.#lists.size * 210 + this.#byPair.size * 120;
  }
}
