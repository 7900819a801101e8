/**
 * Fixed log-scale latency buckets shared by every agent and the broker. Because the bucket
 * bounds are the same everywhere, partial histograms merge by adding counts, and a quantile of
 * the merged histogram is exactly the quantile over all rows up to one bucket's width — unlike
 * averaging per-agent p99s, which is simply wrong. Fixed buckets trade a few KB per group for
 * that exactness (a t-digest merges approximately; HDR histograms do the same as this).
 *
 * Bucket 0 holds [0, MIN_MS); bucket i ≥ 1 holds [MIN_MS·G^(i-1), MIN_MS·G^i); the last one
 * also takes everything above MAX_MS. With G = 1.02 a bucket is 2 % wide, so the value
 * reported for it (the geometric middle) is within 1 % of any row in it.
 */
export const HISTOGRAM_MIN_MS = 0.01;
export const HISTOGRAM_GROWTH = 1.02;
export const HISTOGRAM_MAX_MS = 3_600_000;
const LOG_G = Math.log(HISTOGRAM_GROWTH);
/** Number of buckets (about 1,000). */
export const HISTOGRAM_BUCKETS = 2 + Math.ceil(Math.log(HISTOGRAM_MAX_MS / HISTOGRAM_MIN_MS) / LOG_G);

/** The bucket of a latency in ms (NaN and negatives count as 0). */
export function bucketOf(ms: number): number {
  if (!(ms >= HISTOGRAM_MIN_MS)) return 0;
  const i = 1 + Math.floor(Math.log(ms / HISTOGRAM_MIN_MS) / LOG_G);
  return i < HISTOGRAM_BUCKETS ? i : HISTOGRAM_BUCKETS - 1;
}

/** [lower, upper) of a bucket in ms; the last bucket's upper bound is Infinity. */
export function bucketBounds(i: number): readonly [number, number] {
  if (i <= 0) return [0, HISTOGRAM_MIN_MS];
  const lower = HISTOGRAM_MIN_MS * HISTOGRAM_GROWTH ** (i - 1);
  return [lower, i >= HISTOGRAM_BUCKETS - 1 ? Number.POSITIVE_INFINITY : HISTOGRAM_MIN_MS * HISTOGRAM_GROWTH ** i];
}

/** The value reported for a bucket: its geometric middle (0 for bucket 0, the lower bound for the last). */
export function bucketValue(i: number): number {
  const [lower, upper] = bucketBounds(i);
  if (i <= 0) return 0;
  return Number.isFinite(upper) ? Math.sqrt(lower * upper) : lower;
}

/**
 * The nearest-rank quantile `q` (0 < q ≤ 1) of a dense histogram holding `total` rows: the
 * bucket holding the row of rank ceil(q·total), reported by bucketValue. NaN when empty.
 */
export function histogramQuantile(counts: ArrayLike<number>, total: number, q: number): number {
  const bucket = quantileBucket(counts, total, q);
  return bucket < 0 ? Number.NaN : bucketValue(bucket);
}

/** The bucket index behind histogramQuantile, or -1 when empty. */
export function quantileBucket(counts: ArrayLike<number>, total: number, q: number): number {
  if (total <= 0) return -1;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] as number;
    if (seen >= rank) return i;
  }
  return counts.length - 1;
}

/** A new dense histogram (all zero). */
export function newHistogram(): Uint32Array {
  return new Uint32Array(HISTOGRAM_BUCKETS);
}

/** Sparse form for the wire: [bucket, count, bucket, count, …] of the non-empty buckets. */
export function toSparse(counts: Uint32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < counts.length; i++) if (counts[i] !== 0) out.push(i, counts[i] as number);
  return out;
}

/** Adds a sparse histogram into a dense one; false when the pairs are malformed. */
export function addSparse(into: Uint32Array, sparse: readonly number[]): boolean {
  if (sparse.length % 2 !== 0) return false;
  for (let k = 0; k < sparse.length; k += 2) {
    const i = sparse[k] as number;
    const n = sparse[k + 1] as number;
    if (!Number.isInteger(i) || i < 0 || i >= into.length || !Number.isInteger(n) || n < 0) return false;
    into[i] = (into[i] as number) + n;
  }
  return true;
}
