// The index's search against a brute-force reference on random names: every match class and
// typo distance must agree, and a small limit must return the head of the full ranking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, Rng } from '../../core/index.ts';
import { AutocompleteIndex, type EntityInput, type Suggestion } from './autocomplete-index.ts';
import { maxTypos } from './edit-distance.ts';

/** Floats in [0, 1) from core's generator on mulberry32 (the sequence these cases were written with). */
function rng(seed: number): () => number {
  const r = new Rng(seed, 'mulberry32');
  return () => r.float();
}

const WORDS = ['api', 'apu', 'cart', 'card', 'care', 'web', 'weeb', 'ab', 'ba', 'a', 'checkout', 'chekout', 'order'];
const KINDS: Array<EntityInput['kind']> = ['pod', 'service', 'deployment'];

function randomName(r: () => number): string {
  const parts: string[] = [];
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) parts.push(WORDS[Math.floor(r() * WORDS.length)] as string);
  if (r() < 0.5) parts.push(Array.from({ length: 1 + Math.floor(r() * 3) }, () => 'abc'[Math.floor(r() * 3)]).join(''));
  return parts.join('-');
}

/** Plain OSA distance (full matrix): d[i][j] is the distance between a[0, i) and b[0, j). */
function osaMatrix(a: string, b: string): number[][] {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((d[i - 1] as number[])[j]! + 1, (d[i] as number[])[j - 1]! + 1, (d[i - 1] as number[])[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, (d[i - 2] as number[])[j - 2]! + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return d;
}

/** What the reference says about one name: match class and distance, or undefined. */
function reference(q: string, name: string): { match: string; distance: number } | undefined {
  if (name === q) return { match: 'exact', distance: 0 };
  if (name.startsWith(q)) return { match: 'prefix', distance: 0 };
  if (q.length >= 2 && name.indexOf(q) > 0) return { match: 'substring', distance: 0 };
  const typos = maxTypos(q.length);
  if (typos === 0) return undefined;
  // The distance to each prefix of the name is one row of the matrix: take the smallest.
  const d = osaMatrix(name, q);
  const best = Math.min(...d.map((row) => row[q.length] as number));
  return best <= typos ? { match: 'fuzzy', distance: best } : undefined;
}

const key = (s: Suggestion): string => `${s.kind}/${s.key} ${s.match} ${s.distance}`;

test('every match the brute-force reference finds, the index finds, with the same class and distance', () => {
  const r = rng(7);
  const clock = new ManualClock(1_000);
  const index = new AutocompleteIndex({ clock, retentionMs: 10 });
  let entities: EntityInput[] = [];
  let created = 0;
  const feed = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const e: EntityInput = { kind: KINDS[Math.floor(r() * KINDS.length)] as EntityInput['kind'], key: `k${created++}`, name: randomName(r), namespace: 'ns' };
      entities.push(e);
      index.upsert('c', e);
    }
  };
  const check = (queries: number): void => {
    for (let n = 0; n < queries; n++) {
      const source = entities[Math.floor(r() * entities.length)] as EntityInput;
      let q = source.name.slice(0, 2 + Math.floor(r() * Math.max(1, source.name.length - 1)));
      // a typo now and then: swap, drop or change a character
      const at = Math.floor(r() * q.length);
      const roll = r();
      if (roll < 0.2 && at + 1 < q.length) q = q.slice(0, at) + q[at + 1] + q[at] + q.slice(at + 2);
      else if (roll < 0.4) q = q.slice(0, at) + q.slice(at + 1);
      else if (roll < 0.6) q = q.slice(0, at) + 'x' + q.slice(at + 1);
      if (q === '') continue;
      const expected = entities.flatMap((e) => {
        const m = reference(q, e.name);
        return m ? [`${e.kind}/${e.key} ${m.match} ${m.distance}`] : [];
      }).sort();
      const all = index.search({ q, limit: 100_000 }).suggestions;
      assert.deepEqual(all.map(key).sort(), expected, `query ${JSON.stringify(q)}`);
      const head = index.search({ q, limit: 7 }).suggestions;
      assert.deepEqual(head.map(key), all.slice(0, 7).map(key), `query ${JSON.stringify(q)}: a small limit returns the head of the ranking`);
    }
  };
  feed(1_200);
  check(100);
  // Forget a quarter (dead terms stay in the sorted array until the next merge), then add
  // some again under new keys, and a few new ones that stay pending (unsorted).
  const doomed = entities.filter(() => r() < 0.25);
  for (const e of doomed) index.upsert('c', { ...e, deleted: true });
  clock.advance(11);
  index.sweep();
  entities = entities.filter((e) => !doomed.includes(e));
  for (const e of doomed.slice(0, 50)) {
    const again = { ...e, key: `again-${e.key}` };
    entities.push(again);
    index.upsert('c', again);
  }
  feed(100);
  check(100);
});

test('results come in ranking order: class, then distance, then name length', () => {
  const r = rng(11);
  const index = new AutocompleteIndex();
  for (let i = 0; i < 500; i++) index.upsert('c', { kind: 'pod', key: `k${i}`, name: randomName(r), namespace: 'ns' });
  const order = ['exact', 'prefix', 'substring', 'fuzzy'];
  for (const q of ['cart', 'chekcout', 'api', 'weeb-c', 'ab', 'carx']) {
    const s = index.search({ q, limit: 1_000 }).suggestions;
    for (let i = 1; i < s.length; i++) {
      const a = s[i - 1] as Suggestion;
      const b = s[i] as Suggestion;
      const ka = [order.indexOf(a.match), a.distance];
      const kb = [order.indexOf(b.match), b.distance];
      assert.ok(ka[0]! < kb[0]! || (ka[0] === kb[0] && ka[1]! <= kb[1]!), `${q}: ${a.name} (${a.match} ${a.distance}) before ${b.name} (${b.match} ${b.distance})`);
    }
  }
});
