import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finalValue, mergePartial, newPartial, valueColumn, type GroupPartial } from './aggregate.ts';
import { HISTOGRAM_BUCKETS, bucketBounds, bucketOf, histogramQuantile, newHistogram, quantileBucket, toSparse } from './latency-histogram.ts';
import { Rng } from '../core/index.ts';

/** A partial over some latencies, as one agent would build it. */
function partialOf(latencies: readonly number[], errorsEvery = 7): GroupPartial {
  const p = newPartial(['g'], true);
  latencies.forEach((ms, i) => {
    p.count++;
    if (i % errorsEvery === 0) p.errors++;
    p.sum += ms;
    if (ms > p.max) p.max = ms;
    p.hist![bucketOf(ms)]! += 1;
  });
  return p;
}

/** Latencies of a mix of services: lognormal around a few medians, some outliers, zeros. */
function latencies(r: Rng, n: number): number[] {
  const medians = [0.3, 4, 40, 900];
  return Array.from({ length: n }, () => {
    const u = r.float();
    if (u < 0.01) return 0;
    if (u < 0.02) return 10_000 + r.float() * 5_000_000; // beyond the last bound: the overflow bucket
    return (medians[r.between(0, medians.length - 1)] as number) * Math.exp(0.8 * r.normal());
  });
}

test('buckets cover every latency and are at most 2 % wide', () => {
  assert.ok(HISTOGRAM_BUCKETS > 900 && HISTOGRAM_BUCKETS < 1200, `${HISTOGRAM_BUCKETS} buckets`);
  for (const ms of [0, 0.009, 0.01, 0.5, 1, 17.3, 999.9, 60_000, 3_599_999]) {
    const [lower, upper] = bucketBounds(bucketOf(ms));
    assert.ok(ms >= lower && ms < upper, `${ms} in [${lower}, ${upper})`);
    if (bucketOf(ms) > 0) assert.ok(upper / lower < 1.0201);
  }
  assert.equal(bucketOf(1e12), HISTOGRAM_BUCKETS - 1);
  assert.equal(bucketOf(Number.NaN), 0);
  assert.ok(Number.isNaN(histogramQuantile(newHistogram(), 0, 0.99)));
});

test('p50/p90/p99 of merged partials equal the quantiles over all rows, within one bucket (seeded property)', () => {
  const r = new Rng(20240611, 'mulberry32');
  for (let trial = 0; trial < 150; trial++) {
    const all = latencies(r, r.between(1, 4_000));
    // Split the rows over 1–30 agents at random (some get none).
    const agents = r.between(1, 30);
    const parts: number[][] = Array.from({ length: agents }, () => []);
    for (const ms of all) parts[r.between(0, agents - 1)]!.push(ms);
    const merged = newPartial(['g'], true);
    for (const [i, part] of parts.entries()) {
      const p = partialOf(part);
      // Half of them travel sparse, as on the wire.
      mergePartial(merged, i % 2 === 0 ? p : { ...p, hist: toSparse(p.hist!) });
    }
    const whole = partialOf(all);
    assert.deepEqual(merged.hist, whole.hist, `trial ${trial}: the merged histogram is the histogram of all rows`);
    assert.equal(merged.count, all.length);
    assert.equal(merged.max, Math.max(...all));
    assert.ok(Math.abs(merged.sum - whole.sum) <= 1e-6 * Math.max(1, whole.sum));
    const sorted = [...all].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] as number;
      const bucket = quantileBucket(merged.hist!, merged.count, q);
      const [lower, upper] = bucketBounds(bucket);
      assert.ok(exact >= lower && exact < upper, `trial ${trial} p${q * 100}: exact ${exact} in bucket [${lower}, ${upper})`);
      const estimate = finalValue({ aggregation: `p${q * 100}` as 'p50', measure: 'latency', windowMs: 60_000 }, merged);
      if (bucket > 0 && bucket < HISTOGRAM_BUCKETS - 1) assert.ok(Math.abs(estimate - exact) <= exact * 0.0101 + 0.001, `trial ${trial}: ${estimate} ≈ ${exact}`);
    }
  }
});

test('count, rate, avg and max come from the merged sums', () => {
  const a = partialOf([10, 20, 30], 2); // errors at 0 and 2
  const b = partialOf([40], 2);
  const g = newPartial(['g'], false);
  mergePartial(g, a);
  mergePartial(g, b);
  const w = { windowMs: 10_000 };
  assert.equal(finalValue({ ...w, aggregation: 'count', measure: 'requests' }, g), 4);
  assert.equal(finalValue({ ...w, aggregation: 'count', measure: 'errors' }, g), 3);
  assert.equal(finalValue({ ...w, aggregation: 'rate', measure: 'requests' }, g), 0.4);
  assert.equal(finalValue({ ...w, aggregation: 'rate', measure: 'errors' }, g), 0.3);
  assert.equal(finalValue({ ...w, aggregation: 'avg', measure: 'latency' }, g), 25);
  assert.equal(finalValue({ ...w, aggregation: 'max', measure: 'latency' }, g), 40);
  assert.equal(valueColumn('p99', 'latency'), 'p99_latency_ms');
  assert.equal(valueColumn('rate', 'errors'), 'rate_errors_per_s');
  assert.equal(valueColumn('count', 'requests'), 'count_requests');
});
