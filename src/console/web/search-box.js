// @ts-check
// The header's search box: entities from api/autocomplete as you type, and the followed clusters
// whose name starts with the text (from the status, not the index); picking one opens its page.
import { fetchSuggestions } from './api.js';
import { Combobox } from './combobox.js';
import { append, byId, clusterHref, entityHref, h, highlighted } from './dom.js';
import { state } from './state.js';

/** @typedef {import('../index.ts').Suggestion} Suggestion */
/** @typedef {import('./combobox.js').ComboOption} ComboOption */

/**
 * One autocomplete suggestion as a listbox option's content (also the query box's names).
 * @param {HTMLLIElement} li
 * @param {Suggestion} s
 */
export function renderSuggestion(li, s) {
  if (!s.live) li.classList.add('gone');
  append(li,
    h('span', { class: 'kind' }, s.kind),
    h('span', { class: 'name' }, highlighted(s.name, s.highlights)),
    s.namespace ? h('span', { class: 'ns' }, s.namespace) : null,
    s.pod ? h('span', { class: 'ns' }, `pod ${s.pod}`) : null,
    s.count !== undefined ? h('span', { class: 'ns' }, `${s.count} objects`) : null,
    s.live ? null : h('span', { class: 'ns' }, s.gone ?? 'gone'),
    h('span', { class: 'cluster' }, s.cluster),
  );
}

/**
 * Followed clusters whose name starts with the text (or every one for `cluster:` / a prefix of
 * "cluster"), as options that open the cluster page. They come from the status, not the index:
 * `cluster:` is not an index kind, so such a text is not sent to api/autocomplete at all.
 * @param {string} text
 * @returns {ComboOption[]}
 */
function clusterOptions(text) {
  const t = text.trim().toLowerCase();
  const prefixed = /^clusters?:/.test(t);
  const name = prefixed ? t.replace(/^clusters?:/, '') : t;
  const all = prefixed || (t.length >= 3 && 'cluster'.startsWith(t));
  return state.clusters.filter((c) => all || c.name.toLowerCase().startsWith(name)).map((c) => ({
    id: `cluster/${c.name}`,
    exact: c.name.toLowerCase() === name,
    render: (li) => append(li, h('span', { class: 'kind' }, 'cluster'), h('span', { class: 'name' }, highlighted(c.name, all ? [] : [[0, name.length]])), h('span', { class: 'ns' }, 'cluster page')),
    pick: () => { location.hash = clusterHref(c.name); },
  }));
}

/**
 * @param {string} text
 * @returns {Promise<ComboOption[]>}
 */
async function searchOptions(text) {
  if (text.trim() === '') return [];
  const clusters = clusterOptions(text);
  if (/^\s*clusters?:/i.test(text)) return clusters.length > 0 ? clusters : [{ id: 'none', render: (li) => append(li, 'No such cluster'), pick: undefined }];
  const body = await fetchSuggestions(`q=${encodeURIComponent(text)}&limit=12`);
  /** @type {ComboOption[]} */
  const entities = body.suggestions.map((s) => ({
    id: `${s.cluster}/${s.kind}/${s.key}`,
    render: (li) => renderSuggestion(li, s),
    pick: () => { location.hash = entityHref(s.cluster, s.kind, s.key); },
  }));
  // A cluster named exactly goes first; one matched by prefix after the entities, whose ranking it must not disturb.
  const options = [...clusters.filter((c) => c.exact), ...entities, ...clusters.filter((c) => !c.exact)];
  if (options.length === 0) return [{ id: 'none', render: (li) => append(li, 'No match'), pick: undefined }];
  return options;
}

/** Wires the header's search box. */
export function startSearchBox() {
  new Combobox(byId('search-input', HTMLInputElement), byId('search-listbox', HTMLElement), searchOptions);
}
