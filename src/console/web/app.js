// @ts-check
// kubemeta web console: plain browser ES modules (no build step, no framework, nothing from
// another origin), each type-checked with JSDoc against the DOM and the API's own TypeScript
// types (tsconfig.web.json). This one starts the page and routes `#/…` to the views:
//   #/                                 the query box (query-page.js)
//   #/entity/<cluster>/<kind>/<uid>    an entity's page (entity-page.js)
//   #/cluster/<cluster>                a cluster's page (cluster-page.js)
// The page talks only to this console's JSON API (docs/console.md), through api.js (one
// function per route, with the bearer token) and status-panel.js (api/events). The header's
// search box is search-box.js, the shared state state.js, the DOM helpers dom.js.
// Everything untrusted reaches the DOM as text nodes (never innerHTML), which also keeps the
// page within its Content-Security-Policy (no inline script or style).

import { AuthRequired, fetchCluster, fetchEntity, fetchStatus, messageOf, onTokenEntered } from './api.js';
import { renderClusterPage } from './cluster-page.js';
import { byId, h } from './dom.js';
import { renderEntityPage } from './entity-page.js';
import { queryView } from './query-page.js';
import { startSearchBox } from './search-box.js';
import { state } from './state.js';
import { followEvents, onStatus, setConnection } from './status-panel.js';

onTokenEntered(() => void start());
startSearchBox();

async function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map((p) => decodeURIComponent(p));
  const view = byId('view', HTMLElement);
  const current = parts[0] === 'cluster' ? '#/cluster' : parts[0] === 'entity' ? undefined : '#/';
  for (const a of document.querySelectorAll('.nav a')) {
    if (a.getAttribute('href') === current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    const [page, cluster, kind, ...rest] = parts;
    if (page === 'entity' && cluster !== undefined && kind !== undefined && rest.length > 0) {
      await entityView(view, cluster, kind, rest.join('/'));
    } else if (page === 'cluster') {
      await clusterView(view, cluster || state.clusters[0]?.name);
    } else {
      queryView(view);
    }
  } catch (err) {
    if (err instanceof AuthRequired) return;
    view.replaceChildren(h('h1', {}, 'Not found'), h('p', { class: 'error' }, messageOf(err)), h('p', {}, h('a', { href: '#/' }, 'Back to the query page')));
  }
}

/**
 * The cluster page; without a name (the header's link), the first cluster followed.
 * @param {HTMLElement} view
 * @param {string | undefined} cluster
 */
async function clusterView(view, cluster) {
  view.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  const o = await fetchCluster(cluster);
  document.title = `${o.cluster} · cluster · kubemeta console`;
  view.replaceChildren(...renderClusterPage(o, state.clusters.map((c) => c.name)));
}

/**
 * @param {HTMLElement} view
 * @param {string} cluster
 * @param {string} kind
 * @param {string} uid
 */
async function entityView(view, cluster, kind, uid) {
  view.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  const e = await fetchEntity(cluster, kind, uid);
  document.title = `${e.name} · ${e.kind} · kubemeta console`;
  view.replaceChildren(...renderEntityPage(e, cluster));
}

async function start() {
  try {
    onStatus(await fetchStatus());
  } catch (err) {
    if (err instanceof AuthRequired) return;
    setConnection('unreachable', false);
  }
  void followEvents();
  await route();
}

window.addEventListener('hashchange', () => void route());
void start();
