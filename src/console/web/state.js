// @ts-check
// What the page knows between views: the followed clusters and the console's optional features
// (from api/status and every api/events status), and each cluster's recent update rates.

/** @typedef {import('../index.ts').ClusterStatusReport} ClusterStatusReport */

/** One point of a cluster's update-rate chart. */
/** @typedef {{ atMs: number, rate: number }} RatePoint */

/**
 * @type {{
 *   clusters: ClusterStatusReport[],
 *   features: { query: boolean },
 *   history: Map<string, RatePoint[]>,
 *   intervalMs: number,
 *   events: AbortController | undefined,
 * }}
 */
export const state = { clusters: [], features: { query: false }, history: new Map(), intervalMs: 1000, events: undefined };
