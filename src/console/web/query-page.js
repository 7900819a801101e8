// @ts-check
// The query box (the start page, `#/`): POST api/query when the console has a query broker,
// completing keywords from the query grammar and, after a filter word, names from
// api/autocomplete. The result is a table and, for a query with `by`, a bar chart
// (result-chart.js).
import { ApiError, AuthRequired, fetchSuggestions, messageOf, postQuery } from './api.js';
import { Combobox } from './combobox.js';
import { append, byId, fmt, h, highlighted } from './dom.js';
import { isNoValue, resultChart } from './result-chart.js';
import { renderSuggestion } from './search-box.js';
import { state } from './state.js';

/** @typedef {import('./combobox.js').ComboOption} ComboOption */

const AGGREGATIONS = ['count', 'rate', 'p50', 'p90', 'p99', 'avg', 'max'];
const METRICS = ['latency', 'requests', 'errors'];
const DIMENSIONS = ['service', 'pod', 'namespace', 'node', 'deployment', 'container'];
const FILTERS = ['service', 'pod', 'node', 'deployment'];
/** @type {Readonly<Record<string, string>>} */
const ENTITY_WORDS = { namespace: 'ns', service: 'svc', pod: 'po', node: 'no', deployment: 'deploy' };

/**
 * What may come next in `p99 latency by service in namespace shop`: keywords from the grammar,
 * or (after namespace/service/pod/node/deployment as a filter) entity names from autocomplete.
 * @param {string[]} words
 * @returns {{ keywords: string[], entity?: undefined } | { entity: string, keywords?: undefined }}
 */
function expectedAfter(words) {
  const last = words.at(-1);
  const beforeLast = words.at(-2);
  if (words.length === 0) return { keywords: AGGREGATIONS };
  if (words.length === 1) return { keywords: METRICS };
  if (last === 'by') return { keywords: DIMENSIONS };
  if (last === 'in') return { keywords: ['namespace'] };
  const entity = last === undefined ? undefined : ENTITY_WORDS[last];
  if (entity && beforeLast !== 'by') return { entity };
  const used = new Set(words);
  return { keywords: [used.has('by') ? null : 'by', used.has('namespace') ? null : 'in', ...FILTERS.filter((f) => !used.has(f))].filter((k) => k !== null) };
}

/** @type {Combobox | undefined} */
let queryBox;

/**
 * @param {string} text
 * @param {HTMLInputElement} input
 * @returns {Promise<ComboOption[]>}
 */
async function queryOptions(text, input) {
  const upto = text.slice(0, input.selectionStart ?? text.length);
  const words = upto.split(/\s+/).filter((w) => w !== '');
  const partial = /\s$/.test(upto) || upto === '' ? '' : (words.pop() ?? '');
  const next = expectedAfter(words.map((w) => w.toLowerCase()));
  /** @param {string} word */
  const replace = (word) => () => {
    const before = upto.slice(0, upto.length - partial.length);
    input.value = `${before}${word} ${text.slice(upto.length).trimStart()}`;
    const caret = before.length + word.length + 1;
    input.setSelectionRange(caret, caret);
    queryBox?.schedule(0); // offer what comes next
  };
  if (next.keywords) {
    return next.keywords
      .filter((k) => k.startsWith(partial.toLowerCase()) && k !== partial.toLowerCase())
      .map((k) => ({ id: k, render: (li) => append(li, h('span', { class: 'kind' }, 'keyword'), h('span', { class: 'name' }, highlighted(k, [[0, partial.length]]))), pick: replace(k) }));
  }
  const cluster = byId('query-cluster', HTMLSelectElement).value;
  const body = await fetchSuggestions(`q=${encodeURIComponent(partial)}&kind=${next.entity}&limit=8${cluster ? `&cluster=${encodeURIComponent(cluster)}` : ''}`);
  /** @type {Set<string>} */
  const seen = new Set();
  return body.suggestions.filter((s) => s.live && !seen.has(s.name) && seen.add(s.name)).map((s) => ({
    id: s.key,
    render: (li) => renderSuggestion(li, s),
    pick: replace(s.name),
  }));
}

/**
 * Puts the query page into the view (from its template in index.html).
 * @param {HTMLElement} view
 */
export function queryView(view) {
  document.title = 'kubemeta console';
  view.replaceChildren(byId('query-template', HTMLTemplateElement).content.cloneNode(true));
  const select = byId('query-cluster', HTMLSelectElement);
  for (const c of state.clusters) select.append(h('option', { value: c.name }, c.name));
  select.hidden = state.clusters.length < 2;
  const box = new Combobox(byId('query-input', HTMLInputElement), byId('query-listbox', HTMLElement), queryOptions);
  queryBox = box;
  byId('query-input', HTMLInputElement).addEventListener('focus', () => box.schedule(0));
  showQueryAvailability();
  byId('query-form', HTMLFormElement).addEventListener('submit', (e) => {
    e.preventDefault();
    void runQuery();
  });
}

/** Says on the query page (when it is shown) whether this console can run queries. */
export function showQueryAvailability() {
  const note = document.getElementById('query-note');
  if (!note) return;
  if (!state.features.query) {
    note.textContent = 'The query broker is not enabled on this console: queries cannot be run here.';
    note.className = 'note warn';
  } else if (note.classList.contains('warn')) {
    note.textContent = '';
    note.className = 'note';
  }
}

async function runQuery() {
  const note = byId('query-note', HTMLElement);
  const out = byId('query-result', HTMLElement);
  const q = byId('query-input', HTMLInputElement).value.trim();
  if (q === '') return;
  queryBox?.close();
  note.className = 'note';
  note.textContent = 'Running…';
  out.replaceChildren();
  try {
    const r = await postQuery(q, byId('query-cluster', HTMLSelectElement).value || state.clusters[0]?.name);
    note.textContent = `Asked ${r.agentsAsked} of ${r.agentsTotal} agents (${r.agentsAnswered} answered) in ${fmt.format(Math.round(r.tookMs))} ms.`;
    const valueAt = r.columns.length - 1;
    // A group without a value comes named `(no service)`; it is shown apart from real names.
    /**
     * @param {string | number | null} v
     * @param {number} i
     */
    const cell = (v, i) => h('td', { class: i === valueAt ? 'num' : isNoValue(v, r.columns[i]) ? 'no-value' : '' },
      typeof v === 'number' ? fmt.format(v) : v === null ? h('span', { class: 'muted' }, '—') : v);
    out.replaceChildren(r.rows.length === 0 ? h('p', { class: 'muted' }, 'No rows.') : h('div', { class: 'result-layout' },
      h('table', { class: 'result' },
        h('thead', {}, h('tr', {}, r.columns.map((c, i) => h('th', { class: i === valueAt ? 'num' : '' }, c)))),
        h('tbody', {}, r.rows.map((row) => h('tr', {}, row.map(cell))))),
      resultChart(r)));
  } catch (err) {
    if (err instanceof AuthRequired) return;
    if (err instanceof ApiError && err.status === 404 && err.code === 'CONSOLE_NOT_FOUND') {
      state.features.query = false;
      showQueryAvailability();
      return;
    }
    note.className = 'note error';
    note.textContent = messageOf(err);
  }
}
