// @ts-check
// The query box's chart: the result of `p99 latency by service …` as horizontal bars beside the
// table, drawn as plain SVG (no chart library: one bar per row is a few rectangles and labels,
// and the page loads nothing from elsewhere).
import { fmt, h, svg } from './dom.js';

/**
 * What the chart reads of a POST api/query answer: the `by` dimensions, then the value column.
 * @typedef {{ columns: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null>> }} QueryTable
 */

/** Bars drawn at most; rows come largest first, so these are the largest groups. */
export const MAX_BARS = 25;

const WIDTH = 420;
const LABEL_WIDTH = 160;
const VALUE_WIDTH = 64;
const ROW_HEIGHT = 20;
const BAR_HEIGHT = 13;
const LABEL_CHARS = 23;

/**
 * Whether a cell is the API's name for a group without a value, `(no <dimension>)`: the pods of
 * no service under `by service` (docs/console.md, POST /api/query). Kubernetes names hold no
 * parentheses or spaces, so a real name never looks like it.
 * @param {string | number | null | undefined} value
 * @param {string | undefined} column
 */
export function isNoValue(value, column) {
  return column !== undefined && value === `(no ${column})`;
}

/**
 * A bar per group (its `by` values joined by " · "), its length the value (the last column);
 * groups with no value (null: no data) are left out. Undefined when there is nothing to compare:
 * a query without `by`, or no numeric value.
 * @param {QueryTable} result
 * @returns {HTMLElement | undefined}
 */
export function resultChart(result) {
  const dims = result.columns.length - 1;
  const metric = result.columns[dims] ?? 'value';
  if (dims < 1) return undefined;
  const numeric = result.rows.filter((r) => typeof r[dims] === 'number' && Number.isFinite(r[dims]));
  if (numeric.length === 0) return undefined;
  const shown = numeric.slice(0, MAX_BARS);
  const max = Math.max(0, ...shown.map((r) => /** @type {number} */ (r[dims])));
  const barMax = WIDTH - LABEL_WIDTH - 6 - VALUE_WIDTH;
  const height = shown.length * ROW_HEIGHT + 6;
  const by = result.columns.slice(0, dims).join(', ');
  // Namespaces are left out of every label or of none, so that the bars read alike.
  const bare = shown.some((r) => r.slice(0, dims).map(String).join(' · ').length > LABEL_CHARS);
  const chart = svg('svg', { class: 'bar-chart', viewBox: `0 0 ${WIDTH} ${height}`, role: 'img', 'aria-label': `${metric} by ${by}` });
  shown.forEach((row, i) => {
    const value = Math.max(0, /** @type {number} */ (row[dims]));
    const values = row.slice(0, dims).map((v) => String(v));
    const label = values.join(' · ');
    const noValue = row.slice(0, dims).some((v, j) => isNoValue(v, result.columns[j]));
    const y = 3 + i * ROW_HEIGHT;
    const length = max > 0 ? (barMax * value) / max : 0;
    chart.append(svg('g', { class: noValue ? 'row no-value' : 'row' },
      svg('title', {}, `${label}: ${fmt.format(value)}`),
      svg('text', { class: 'label', x: LABEL_WIDTH, y: y + BAR_HEIGHT - 2, 'text-anchor': 'end' }, shorten(values, bare)),
      svg('rect', { class: 'bar', x: LABEL_WIDTH + 6, y, width: Math.max(length, 1).toFixed(1), height: BAR_HEIGHT, rx: 2 }),
      svg('text', { class: 'value', x: (LABEL_WIDTH + 10 + length).toFixed(1), y: y + BAR_HEIGHT - 2 }, fmt.format(value))));
  });
  const note = numeric.length > shown.length ? ` · the largest ${shown.length} of ${numeric.length}` : '';
  return h('figure', { class: 'result-chart' }, chart, h('figcaption', { class: 'chart-caption' }, `${metric} by ${by}${note}`));
}

/**
 * A label that fits the label column; the bar's tooltip has the whole name. `bare`: the values
 * lose their namespace (`shop/checkout` → `checkout`; a query is often filtered to one namespace
 * anyway). Still too long, they lose their start, keeping the end that tells pods apart
 * (`…-7d9f8b6c5d-x8kqz`).
 * @param {string[]} values
 * @param {boolean} bare
 */
function shorten(values, bare) {
  const label = values.map((v) => (bare && !v.startsWith('(') ? v.slice(v.lastIndexOf('/') + 1) : v)).join(' · ');
  return label.length <= LABEL_CHARS ? label : `…${label.slice(-(LABEL_CHARS - 1))}`;
}
