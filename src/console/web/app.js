// kubemeta web console: a plain browser ES module (no build step, no framework, nothing from
// another origin). It talks only to this console's JSON API (docs/console.md):
//   GET  api/autocomplete   search box and query-box entity names
//   GET  api/entity/…       entity pages (#/entity/<cluster>/<kind>/<uid>)
//   GET  api/cluster        the cluster page (#/cluster/<cluster>, cluster-page.js)
//   GET  api/status         first load (401 → token prompt), optional features
//   GET  api/events         live status (Server-Sent Events read with fetch, so that the bearer
//                           header goes along: EventSource cannot send headers)
//   POST api/query          the query box, when the query broker is enabled
// Everything untrusted reaches the DOM as text nodes (never innerHTML), which also keeps the
// page within its Content-Security-Policy (no inline script or style).
// The cluster page and the query result's chart are type-checked modules of their own
// (cluster-page.js, result-chart.js, on dom.js; tsconfig.web.json).

import { renderClusterPage } from './cluster-page.js';
import { clusterHref } from './dom.js';
import { isNoValue, resultChart } from './result-chart.js';

const TOKEN_KEY = 'kubemeta-console-token';
const SEARCH_DEBOUNCE_MS = 120;

const $ = (id) => document.getElementById(id);
const state = { clusters: [], features: { query: false }, history: new Map(), intervalMs: 1000, events: undefined };

// ---------------------------------------------------------------------------------------------
// DOM helpers

/** Creates an element: h('a', { href: '#' , class: 'x' }, 'text', child…). Strings become text nodes. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  return append(el, ...children);
}

/** Appends children (nested arrays flattened; null, undefined and false skipped). */
function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** `name` with the [start, end) ranges in <mark>. */
function highlighted(name, ranges) {
  const out = [];
  let at = 0;
  for (const [start, end] of ranges ?? []) {
    if (start > at) out.push(name.slice(at, start));
    out.push(h('mark', {}, name.slice(start, end)));
    at = end;
  }
  if (at < name.length) out.push(name.slice(at));
  return out;
}

function entityHref(cluster, kind, uid) {
  return `#/entity/${encodeURIComponent(cluster)}/${encodeURIComponent(kind)}/${encodeURIComponent(uid)}`;
}

const fmt = new Intl.NumberFormat('en');

// ---------------------------------------------------------------------------------------------
// API access with the bearer token

class AuthRequired extends Error {}

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** fetch() against the API: JSON answer, or an Error carrying `status` and the API's error body. */
async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers ?? {}) } });
  if (res.status === 401) {
    showTokenPrompt(sessionStorage.getItem(TOKEN_KEY) ? 'That token was refused.' : '');
    throw new AuthRequired('a token is needed');
  }
  const body = await res.json().catch(() => undefined);
  if (!res.ok) {
    const err = new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
    err.status = res.status;
    err.code = body?.error?.code;
    throw err;
  }
  return body;
}

function showTokenPrompt(message) {
  $('auth').hidden = false;
  $('auth-error').textContent = message;
  $('auth-token').focus();
}

$('auth-form').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('auth-token').value.trim());
  $('auth').hidden = true;
  void start();
});

// ---------------------------------------------------------------------------------------------
// Combobox (WAI-ARIA combobox with a listbox popup, aria-activedescendant focus)

/**
 * Wires `input` (role=combobox) to `listbox`. `load(text, input)` returns options
 * ({ id, render(li), pick() }); typing reloads them after a debounce (a slower, older answer
 * never replaces a newer one). ArrowDown/ArrowUp move, Enter picks, Escape closes (and clears
 * when already closed); a click picks too. Enter with no active option is left to the form.
 */
class Combobox {
  constructor(input, listbox, load) {
    this.input = input;
    this.listbox = listbox;
    this.load = load;
    this.options = [];
    this.active = -1;
    this.seq = 0;
    this.timer = undefined;
    input.addEventListener('input', () => this.schedule());
    input.addEventListener('keydown', (e) => this.onKey(e));
    input.addEventListener('blur', () => setTimeout(() => this.close(), 0));
    // Keep the focus in the input while clicking an option.
    listbox.addEventListener('mousedown', (e) => e.preventDefault());
  }

  schedule(delay = SEARCH_DEBOUNCE_MS) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), delay);
  }

  async refresh() {
    const seq = ++this.seq;
    let options;
    try {
      options = await this.load(this.input.value, this.input);
    } catch (err) {
      if (err instanceof AuthRequired) return;
      options = [{ id: 'error', render: (li) => append(li, h('span', { class: 'error' }, err.message)), pick: undefined }];
    }
    if (seq !== this.seq) return; // a newer keystroke's answer is coming
    this.show(options);
  }

  show(options) {
    this.options = options;
    this.active = -1;
    this.listbox.replaceChildren();
    options.forEach((o, i) => {
      const li = h('li', { role: 'option', id: `${this.listbox.id}-${i}`, 'aria-selected': 'false' });
      o.render(li);
      if (o.pick) li.addEventListener('click', () => this.pick(i));
      else li.classList.add('empty');
      this.listbox.append(li);
    });
    const open = options.length > 0 && document.activeElement === this.input;
    this.listbox.hidden = !open;
    this.input.setAttribute('aria-expanded', String(open));
    this.input.removeAttribute('aria-activedescendant');
  }

  close() {
    this.seq++;
    clearTimeout(this.timer);
    this.listbox.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
    this.active = -1;
  }

  get isOpen() {
    return !this.listbox.hidden;
  }

  move(delta) {
    const n = this.options.length;
    if (n === 0) return;
    const prev = this.listbox.children[this.active];
    prev?.setAttribute('aria-selected', 'false');
    this.active = this.active < 0 ? (delta > 0 ? 0 : n - 1) : (this.active + delta + n) % n;
    const li = this.listbox.children[this.active];
    li.setAttribute('aria-selected', 'true');
    li.scrollIntoView({ block: 'nearest' });
    this.input.setAttribute('aria-activedescendant', li.id);
  }

  pick(i) {
    const o = this.options[i];
    if (!o?.pick) return;
    this.close();
    o.pick();
  }

  onKey(e) {
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        if (!this.isOpen) void this.refresh();
        else this.move(1);
        return;
      case 'ArrowUp':
        e.preventDefault();
        if (this.isOpen) this.move(-1);
        return;
      case 'Enter':
        if (this.isOpen && this.active >= 0) {
          e.preventDefault();
          this.pick(this.active);
        } else {
          this.close();
        }
        return;
      case 'Escape':
        if (this.isOpen) this.close();
        else this.input.value = '';
        e.preventDefault();
        return;
      case 'Tab':
        this.close();
        return;
    }
  }
}

/** One autocomplete suggestion as a listbox option's content. */
function renderSuggestion(li, s) {
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

new Combobox($('search-input'), $('search-listbox'), async (text) => {
  if (text.trim() === '') return [];
  const clusters = clusterOptions(text);
  if (/^\s*clusters?:/i.test(text)) return clusters.length > 0 ? clusters : [{ id: 'none', render: (li) => append(li, 'No such cluster'), pick: undefined }];
  const body = await api(`api/autocomplete?q=${encodeURIComponent(text)}&limit=12`);
  const entities = body.suggestions.map((s) => ({
    id: `${s.cluster}/${s.kind}/${s.key}`,
    render: (li) => renderSuggestion(li, s),
    pick: () => { location.hash = entityHref(s.cluster, s.kind, s.key); },
  }));
  // A cluster named exactly goes first; one matched by prefix after the entities, whose ranking it must not disturb.
  const options = [...clusters.filter((c) => c.exact), ...entities, ...clusters.filter((c) => !c.exact)];
  if (options.length === 0) return [{ id: 'none', render: (li) => append(li, 'No match'), pick: undefined }];
  return options;
});

// ---------------------------------------------------------------------------------------------
// Views (hash routing)

async function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map((p) => decodeURIComponent(p));
  const view = $('view');
  const current = parts[0] === 'cluster' ? '#/cluster' : parts[0] === 'entity' ? undefined : '#/';
  for (const a of document.querySelectorAll('.nav a')) {
    if (a.getAttribute('href') === current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    if (parts[0] === 'entity' && parts.length >= 4) {
      const [, cluster, kind, ...rest] = parts;
      await entityView(view, cluster, kind, rest.join('/'));
    } else if (parts[0] === 'cluster') {
      await clusterView(view, parts[1] || state.clusters[0]?.name);
    } else {
      queryView(view);
    }
  } catch (err) {
    if (err instanceof AuthRequired) return;
    view.replaceChildren(h('h1', {}, 'Not found'), h('p', { class: 'error' }, err.message), h('p', {}, h('a', { href: '#/' }, 'Back to the query page')));
  }
}

/** The cluster page; without a name (the header's link), the first cluster followed. */
async function clusterView(view, cluster) {
  view.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  const o = await api(`api/cluster${cluster ? `?cluster=${encodeURIComponent(cluster)}` : ''}`);
  document.title = `${o.cluster} · cluster · kubemeta console`;
  view.replaceChildren(...renderClusterPage(o, state.clusters.map((c) => c.name)));
}

async function entityView(view, cluster, kind, uid) {
  view.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  const e = await api(`api/entity/${encodeURIComponent(kind)}/${encodeURIComponent(uid)}?cluster=${encodeURIComponent(cluster)}`);
  document.title = `${e.name} · ${e.kind} · kubemeta console`;
  const rel = e.relations;
  const link = (r) => (r ? h('a', { href: entityHref(cluster, r.kind, r.uid), class: r.live ? '' : 'gone' }, r.namespace ? `${r.namespace}/${r.name}` : r.name) : h('span', { class: 'muted' }, 'not known'));
  const sections = [];
  const section = (key, title, ...content) => sections.push(h('section', { 'data-relation': key, 'aria-label': title }, h('h2', {}, title), ...content));

  section('fields', 'Details', h('dl', { class: 'fields' }, [
    h('dt', {}, 'cluster'), h('dd', {}, cluster),
    e.namespace !== undefined ? [h('dt', {}, 'namespace'), h('dd', {}, rel.namespace ? link(rel.namespace) : e.namespace)] : [],
    ...e.fields.map((f) => [h('dt', {}, f.name), h('dd', {}, f.name === 'node' && rel.node ? link(rel.node) : f.value)]),
    h('dt', {}, 'uid'), h('dd', {}, h('code', {}, e.uid)),
  ]));
  if (rel.containers) {
    section('containers', `Containers (${rel.containers.length})`, h('table', {},
      h('thead', {}, h('tr', {}, ['name', 'type', 'state', 'restarts', 'container id'].map((c, i) => h('th', { class: i === 3 ? 'num' : '' }, c)))),
      h('tbody', {}, rel.containers.map((c) => h('tr', {},
        h('td', {}, c.containerId ? h('a', { href: entityHref(cluster, 'container', c.containerId) }, c.name) : c.name),
        h('td', {}, c.type), h('td', {}, c.state, c.reason ? ` (${c.reason})` : ''), h('td', { class: 'num' }, c.restartCount),
        h('td', {}, h('code', {}, c.containerId ? c.containerId.slice(0, 12) : '—')))))));
  }
  if (rel.node !== undefined && e.kind !== 'pod') section('node', 'Node', link(rel.node));
  if (rel.pod !== undefined) section('pod', 'Pod', link(rel.pod));
  if (rel.owners) {
    section('owners', 'Owners', rel.owners.length === 0 ? h('p', { class: 'muted' }, 'none')
      : h('ol', { class: 'owners' }, rel.owners.map((o) => h('li', {}, h('span', { class: 'kind' }, o.kind), ' ', o.ref ? link(o.ref) : o.name))));
  }
  const list = (key, title, refs) => {
    if (!refs) return;
    const more = refs.total > refs.items.length ? h('p', { class: 'muted' }, `… and ${fmt.format(refs.total - refs.items.length)} more`) : null;
    section(key, `${title} (${fmt.format(refs.total)})`, refs.total === 0 ? h('p', { class: 'muted' }, 'none')
      : h('ul', { class: 'refs' }, refs.items.map((r) => h('li', {}, link(r), r.live ? '' : ' (deleted)'))), more);
  };
  list('services', 'Services', rel.services);
  list('workloads', 'Workloads', rel.workloads);
  list('nodes', 'Nodes', rel.nodes);
  list('pods', 'Pods', rel.pods);
  // A pod's processes, as its node's agent reported them to the service (wire-protocol §12).
  if (e.processes) {
    const ps = e.processes;
    const live = ps.items.filter((p) => !p.stopped).length;
    section('processes', `Processes (${fmt.format(live)} running, ${fmt.format(ps.items.length - live)} stopped)`,
      !ps.available ? h('p', { class: 'muted' }, `not available: ${ps.error ?? 'no answer from the service'}`)
        : ps.items.length === 0 ? h('p', { class: 'muted' }, 'none reported')
          : h('table', {},
            h('thead', {}, h('tr', {}, ['command line', 'pid', 'container', 'started', 'stopped', 'upid'].map((c, i) => h('th', { class: i === 1 ? 'num' : '' }, c)))),
            h('tbody', {}, ps.items.map((p) => h('tr', { class: p.stopped ? 'gone' : '' },
              h('td', {}, h('code', {}, p.commandLine || '—')), h('td', { class: 'num' }, p.pid),
              h('td', {}, p.containerId ? h('a', { href: entityHref(cluster, 'container', p.containerId) }, h('code', {}, p.containerId.slice(0, 12))) : '—'),
              h('td', {}, p.started || '—'), h('td', {}, p.stopped || 'running'), h('td', {}, h('code', {}, p.upid)))))));
  }
  const labels = Object.entries(e.labels);
  if (labels.length > 0) {
    section('labels', 'Labels', h('ul', { class: 'chips' }, labels.map(([k, v]) => h('li', {}, h('a', { href: entityHref(cluster, 'label', `${k}=${v}`) }, `${k}=${v}`)))));
  }
  view.replaceChildren(
    h('h1', {}, h('span', { class: 'kind' }, e.kind), e.namespace ? `${e.namespace}/${e.name}` : e.name,
      e.live ? h('span', { class: 'badge ok' }, 'live') : h('span', { class: 'badge bad' }, 'deleted')),
    ...sections,
  );
}

// ---------------------------------------------------------------------------------------------
// Query box

const AGGREGATIONS = ['count', 'rate', 'p50', 'p90', 'p99', 'avg', 'max'];
const METRICS = ['latency', 'requests', 'errors'];
const DIMENSIONS = ['service', 'pod', 'namespace', 'node', 'deployment', 'container'];
const FILTERS = ['service', 'pod', 'node', 'deployment'];
const ENTITY_WORDS = { namespace: 'ns', service: 'svc', pod: 'po', node: 'no', deployment: 'deploy' };

/**
 * What may come next in `p99 latency by service in namespace shop`: keywords from the grammar,
 * or (after namespace/service/pod/node/deployment as a filter) entity names from autocomplete.
 */
function expectedAfter(words) {
  const last = words.at(-1);
  const beforeLast = words.at(-2);
  if (words.length === 0) return { keywords: AGGREGATIONS };
  if (words.length === 1) return { keywords: METRICS };
  if (last === 'by') return { keywords: DIMENSIONS };
  if (last === 'in') return { keywords: ['namespace'] };
  if (ENTITY_WORDS[last] && beforeLast !== 'by') return { entity: ENTITY_WORDS[last] };
  const used = new Set(words);
  return { keywords: [used.has('by') ? null : 'by', used.has('namespace') ? null : 'in', ...FILTERS.filter((f) => !used.has(f))].filter(Boolean) };
}

async function queryOptions(text, input) {
  const upto = text.slice(0, input.selectionStart ?? text.length);
  const words = upto.split(/\s+/).filter((w) => w !== '');
  const partial = /\s$/.test(upto) || upto === '' ? '' : (words.pop() ?? '');
  const next = expectedAfter(words.map((w) => w.toLowerCase()));
  const replace = (word) => () => {
    const before = upto.slice(0, upto.length - partial.length);
    input.value = `${before}${word} ${text.slice(upto.length).trimStart()}`;
    const caret = before.length + word.length + 1;
    input.setSelectionRange(caret, caret);
    queryBox.schedule(0); // offer what comes next
  };
  if (next.keywords) {
    return next.keywords
      .filter((k) => k.startsWith(partial.toLowerCase()) && k !== partial.toLowerCase())
      .map((k) => ({ id: k, render: (li) => append(li, h('span', { class: 'kind' }, 'keyword'), h('span', { class: 'name' }, highlighted(k, [[0, partial.length]]))), pick: replace(k) }));
  }
  const cluster = $('query-cluster').value;
  const body = await api(`api/autocomplete?q=${encodeURIComponent(partial)}&kind=${next.entity}&limit=8${cluster ? `&cluster=${encodeURIComponent(cluster)}` : ''}`);
  const seen = new Set();
  return body.suggestions.filter((s) => s.live && !seen.has(s.name) && seen.add(s.name)).map((s) => ({
    id: s.key,
    render: (li) => renderSuggestion(li, s),
    pick: replace(s.name),
  }));
}

let queryBox;

function queryView(view) {
  document.title = 'kubemeta console';
  view.replaceChildren($('query-template').content.cloneNode(true));
  const select = $('query-cluster');
  for (const c of state.clusters) select.append(h('option', { value: c.name }, c.name));
  select.hidden = state.clusters.length < 2;
  queryBox = new Combobox($('query-input'), $('query-listbox'), queryOptions);
  $('query-input').addEventListener('focus', () => queryBox.schedule(0));
  showQueryAvailability();
  $('query-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void runQuery();
  });
}

function showQueryAvailability() {
  const note = $('query-note');
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
  const note = $('query-note');
  const out = $('query-result');
  const q = $('query-input').value.trim();
  if (q === '') return;
  queryBox.close();
  note.className = 'note';
  note.textContent = 'Running…';
  out.replaceChildren();
  try {
    const r = await api('api/query', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ q, cluster: $('query-cluster').value || state.clusters[0]?.name }),
    });
    note.textContent = `Asked ${r.agentsAsked} of ${r.agentsTotal} agents (${r.agentsAnswered} answered) in ${fmt.format(Math.round(r.tookMs))} ms.`;
    const valueAt = r.columns.length - 1;
    // A group without a value comes named `(no service)`; it is shown apart from real names.
    const cell = (v, i) => h('td', { class: i === valueAt ? 'num' : isNoValue(v, r.columns[i]) ? 'no-value' : '' },
      typeof v === 'number' ? fmt.format(v) : v === null ? h('span', { class: 'muted' }, '—') : v);
    out.replaceChildren(r.rows.length === 0 ? h('p', { class: 'muted' }, 'No rows.') : h('div', { class: 'result-layout' },
      h('table', { class: 'result' },
        h('thead', {}, h('tr', {}, r.columns.map((c, i) => h('th', { class: i === valueAt ? 'num' : '' }, c)))),
        h('tbody', {}, r.rows.map((row) => h('tr', {}, row.map(cell))))),
      resultChart(r)));
  } catch (err) {
    if (err instanceof AuthRequired) return;
    if (err.status === 404 && err.code === 'CONSOLE_NOT_FOUND') {
      state.features.query = false;
      showQueryAvailability();
      return;
    }
    note.className = 'note error';
    note.textContent = err.message;
  }
}

// ---------------------------------------------------------------------------------------------
// Status panel, live over Server-Sent Events

function setConnection(text, live) {
  const el = $('conn');
  el.textContent = text;
  el.className = `conn ${live ? 'live' : 'down'}`;
}

function onStatus(status) {
  state.clusters = status.clusters;
  const hadQuery = state.features.query;
  state.features = status.features ?? { query: false };
  if (hadQuery !== state.features.query) showQueryAvailability();
  if (status.sample) addSample(status.sample);
  renderStatus();
}

function addSample(sample) {
  for (const [name, rate] of Object.entries(sample.updatesPerSecond)) {
    let series = state.history.get(name);
    if (!series) state.history.set(name, (series = []));
    if (series.at(-1)?.atMs === sample.atMs) continue;
    series.push({ atMs: sample.atMs, rate });
    if (series.length > 120) series.shift();
  }
}

function renderStatus() {
  const list = $('status');
  list.replaceChildren(...state.clusters.map((c) => {
    const svc = c.service;
    const metric = (name, value, cls) => [h('dt', {}, name), h('dd', { class: cls }, value)];
    return h('article', { class: 'cluster-card', 'data-cluster': c.name, 'aria-label': `cluster ${c.name}` },
      h('h3', {}, h('a', { href: clusterHref(c.name), title: `the cluster page of ${c.name}` }, c.name),
        c.connected ? h('span', { class: 'badge ok' }, 'connected') : h('span', { class: 'badge bad' }, 'disconnected'),
        c.inSync ? h('span', { class: 'badge ok' }, 'in sync') : h('span', { class: 'badge warn' }, 'catching up')),
      h('dl', { class: 'metrics' },
        metric('head version', fmt.format(c.head), 'head'),
        metric('lag', fmt.format(c.lag), 'lag'),
        metric('entities indexed', fmt.format(c.indexedEntities), 'entities'),
        metric('live entities', fmt.format(c.liveEntities)),
        svc ? [
          metric('service', svc.state),
          metric('subjects', fmt.format(svc.subjects), 'subjects'),
          metric('replays served', fmt.format(svc.replayServed), 'replays'),
          metric('API watches', `${svc.watches.watching}/${svc.watches.total}${svc.watches.errors ? `, ${svc.watches.errors} errors` : ''}`, 'watches'),
        ] : []),
      chart(c.name));
  }));
}

/** The update rate of the last two minutes as an inline SVG area chart. */
function chart(name) {
  const series = state.history.get(name) ?? [];
  const w = 300;
  const hgt = 56;
  const slots = 120;
  const max = Math.max(1, ...series.map((p) => p.rate));
  const x = (i) => (w * (i + slots - series.length)) / (slots - 1);
  const y = (v) => hgt - 2 - ((hgt - 6) * v) / max;
  const el = svg('svg', { class: 'chart', viewBox: `0 0 ${w} ${hgt}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': `updates per second in ${name}, last two minutes` });
  if (series.length > 1) {
    const points = series.map((p, i) => `${x(i).toFixed(1)},${y(p.rate).toFixed(1)}`);
    el.append(svg('polygon', { class: 'area', points: `${x(0).toFixed(1)},${hgt} ${points.join(' ')} ${x(series.length - 1).toFixed(1)},${hgt}` }));
    el.append(svg('polyline', { class: 'line', points: points.join(' ') }));
  }
  const now = series.at(-1)?.rate ?? 0;
  return h('figure', { class: 'chart-figure' }, el, h('figcaption', { class: 'chart-caption' },
    h('span', { class: 'rate' }, `${fmt.format(now)} updates/s`), h('span', {}, `max ${fmt.format(max)} · 2 min`)));
}

/** Reads `api/events` (text/event-stream) with fetch; reconnects after a break. */
async function followEvents() {
  state.events?.abort();
  const ctrl = new AbortController();
  state.events = ctrl;
  while (!ctrl.signal.aborted) {
    try {
      const res = await fetch('api/events', { headers: authHeaders(), signal: ctrl.signal });
      if (res.status === 401) {
        showTokenPrompt('That token was refused.');
        return;
      }
      if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
      setConnection('live', true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          onEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (err) {
      if (ctrl.signal.aborted) return;
    }
    setConnection('reconnecting…', false);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function onEvent(block) {
  let type = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) type = line.slice(6).trim();
    else if (line.startsWith('data:')) data += line.slice(5).trim();
  }
  if (data === '') return;
  const payload = JSON.parse(data);
  if (type === 'history') {
    state.intervalMs = payload.intervalMs;
    for (const s of payload.samples) addSample(s);
  } else if (type === 'status') {
    onStatus(payload);
  }
}

// ---------------------------------------------------------------------------------------------
// Start

async function start() {
  try {
    onStatus(await api('api/status'));
  } catch (err) {
    if (err instanceof AuthRequired) return;
    setConnection('unreachable', false);
  }
  void followEvents();
  await route();
}

window.addEventListener('hashchange', () => void route());
void start();
