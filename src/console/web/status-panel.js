// @ts-check
// The status panel (right) and the header's connection badge, live from GET api/events: Server-
// Sent Events read with fetch, so that the bearer header goes along (EventSource cannot send
// headers). Per cluster the head version, lag, entities indexed and (inside `serve`) the
// service's figures, with a chart of updates applied per second over the last two minutes.
import { authHeaders, showTokenPrompt } from './api.js';
import { byId, clusterHref, fmt, h, svg } from './dom.js';
import { showQueryAvailability } from './query-page.js';
import { state } from './state.js';

/** @typedef {import('../index.ts').ConsoleStatus} ConsoleStatus */
/** @typedef {import('../index.ts').RateSample} RateSample */
/** @typedef {import('./dom.js').Children} Children */

/**
 * A `status` event: the api/status body plus the newest rates (events-route.ts).
 * @typedef {ConsoleStatus & { sample?: RateSample }} StatusEvent
 */

/**
 * A `history` event, the first of a stream: the rates kept so far.
 * @typedef {{ intervalMs: number, samples: RateSample[] }} HistoryEvent
 */

/**
 * @param {string} text
 * @param {boolean} live
 */
export function setConnection(text, live) {
  const el = byId('conn', HTMLElement);
  el.textContent = text;
  el.className = `conn ${live ? 'live' : 'down'}`;
}

/**
 * Takes a status (api/status or an event): the clusters and features every view reads.
 * @param {StatusEvent} status
 */
export function onStatus(status) {
  state.clusters = status.clusters;
  const hadQuery = state.features.query;
  state.features = status.features ?? { query: false };
  if (hadQuery !== state.features.query) showQueryAvailability();
  if (status.sample) addSample(status.sample);
  renderStatus();
}

/** @param {RateSample} sample */
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
  const list = byId('status', HTMLElement);
  list.replaceChildren(...state.clusters.map((c) => {
    const svc = c.service;
    /**
     * @param {string} name
     * @param {Children} value
     * @param {string} [cls]
     */
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

/**
 * The update rate of the last two minutes as an inline SVG area chart.
 * @param {string} name
 */
function chart(name) {
  const series = state.history.get(name) ?? [];
  const w = 300;
  const hgt = 56;
  const slots = 120;
  const max = Math.max(1, ...series.map((p) => p.rate));
  /** @param {number} i */
  const x = (i) => (w * (i + slots - series.length)) / (slots - 1);
  /** @param {number} v */
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
export async function followEvents() {
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
    } catch {
      if (ctrl.signal.aborted) return;
    }
    setConnection('reconnecting…', false);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** @param {string} block one event's lines */
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
    const history = /** @type {HistoryEvent} */ (payload);
    state.intervalMs = history.intervalMs;
    for (const s of history.samples) addSample(s);
  } else if (type === 'status') {
    onStatus(/** @type {StatusEvent} */ (payload));
  }
}
