import { addSparse, histogramQuantile, newHistogram } from './latency-histogram.ts';
import type { Aggregation, Measure, TelemetryQuery } from './query-language.ts';

/** A group's key: one value per `by` dimension (null: the row has none, e.g. a pod without a service). */
export type GroupKey = ReadonlyArray<string | null>;

/**
 * What one agent knows of one group, in a form that merges exactly: counts and sums add, max
 * takes the larger, histograms add bucket by bucket (latency-histogram.ts). Every aggregation
 * of the language is computed from the merged partial, never from per-agent results.
 */
export interface GroupPartial {
  readonly key: GroupKey;
  count: number;
  /** Rows with a status code ≥ 500. */
  errors: number;
  /** Sum of latencies, ms. */
  sum: number;
  /** Largest latency, ms (0 when count is 0). */
  max: number;
  /** Dense latency histogram; only when the aggregation is a percentile. */
  hist: Uint32Array | undefined;
  /**
   * For `rate`: the sum of each agent's rows per second over the part of the window it holds
   * rows for (set by the broker). Rates add up across agents; dividing the merged count by the
   * whole window would understate agents that started, or whose ring begins, inside it.
   */
  rate?: number;
}

export function newPartial(key: GroupKey, withHistogram: boolean): GroupPartial {
  return { key, count: 0, errors: 0, sum: 0, max: 0, hist: withHistogram ? newHistogram() : undefined };
}

/** Adds `from` into `into` (same key). */
export function mergePartial(into: GroupPartial, from: { count: number; errors: number; sum: number; max: number; hist?: Uint32Array | readonly number[] | undefined }): void {
  into.count += from.count;
  into.errors += from.errors;
  into.sum += from.sum;
  if (from.max > into.max) into.max = from.max;
  if (into.hist && from.hist) {
    if (from.hist instanceof Uint32Array) for (let i = 0; i < from.hist.length; i++) into.hist[i] = (into.hist[i] as number) + (from.hist[i] as number);
    else addSparse(into.hist, from.hist);
  }
}

/** True when the aggregation needs the histogram. */
export function needsHistogram(aggregation: Aggregation): boolean {
  return aggregation === 'p50' || aggregation === 'p90' || aggregation === 'p99';
}

const QUANTILE: Readonly<Record<string, number>> = { p50: 0.5, p90: 0.9, p99: 0.99 };

/** The aggregation's value of a merged group; `windowMs` turns counts into rates. */
export function finalValue(q: Pick<TelemetryQuery, 'aggregation' | 'measure' | 'windowMs'>, g: GroupPartial): number {
  const rows = q.measure === 'errors' ? g.errors : g.count;
  switch (q.aggregation) {
    case 'count':
      return rows;
    case 'rate':
      return round(g.rate ?? rows / (q.windowMs / 1000), 4);
    case 'avg':
      return g.count === 0 ? Number.NaN : round(g.sum / g.count, 3);
    case 'max':
      return round(g.max, 3);
    default:
      return round(histogramQuantile(g.hist ?? newHistogram(), g.count, QUANTILE[q.aggregation] as number), 3);
  }
}

/** The result column of the value: `p99_latency_ms`, `rate_requests_per_s`, `count_errors`. */
export function valueColumn(aggregation: Aggregation, measure: Measure): string {
  if (aggregation === 'count') return `count_${measure}`;
  if (aggregation === 'rate') return `rate_${measure}_per_s`;
  return `${aggregation}_${measure}_ms`;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
