// @ts-check
// The cluster page (`#/cluster/<name>`, from GET api/cluster): objects by kind, network ranges,
// nodes and namespaces. app.js fetches the overview (with the token and its 401 handling) and
// puts what this returns into the view.
import { clusterHref, entityHref, fmt, h } from './dom.js';

/** @typedef {import('../views/cluster-view.ts').ClusterOverview} ClusterOverview */
/** @typedef {import('../views/cluster-view.ts').NodeReadiness} NodeReadiness */
/** @typedef {import('../views/network-ranges-view.ts').NetworkRangesView} NetworkRangesView */

/** How each count is labelled, in the API's order (the console's kind order). */
const KIND_LABELS = /** @type {const} */ ({
  namespace: 'namespaces', node: 'nodes', service: 'services', deployment: 'Deployments', statefulset: 'StatefulSets', daemonset: 'DaemonSets',
  cronjob: 'CronJobs', job: 'Jobs', replicaset: 'ReplicaSets', pod: 'pods', container: 'containers',
});

/** @type {Record<NodeReadiness, [string, string]>} */
const READINESS = { ready: ['ready', 'ok'], notReady: ['not ready', 'bad'], unknown: ['unknown', 'warn'] };

/**
 * The page's heading and sections.
 * @param {ClusterOverview} o
 * @param {readonly string[]} clusters every cluster the console follows (links to the others)
 * @returns {HTMLElement[]}
 */
export function renderClusterPage(o, clusters) {
  const others = clusters.filter((c) => c !== o.cluster);
  return [
    h('h1', {}, h('span', { class: 'kind' }, 'cluster'), o.cluster),
    others.length > 0 ? h('p', { class: 'muted' }, 'Other clusters: ', others.map((c, i) => [i > 0 ? ', ' : '', h('a', { href: clusterHref(c) }, c)])) : null,
    section('counts', 'Objects', countsList(o)),
    section('network-ranges', 'Network ranges', networkRanges(o.networkRanges)),
    section('nodes', `Nodes (${fmt.format(o.nodes.total)})`, nodesTable(o), more(o.nodes.total, o.nodes.items.length, 'nodes')),
    section('namespaces', `Namespaces (${fmt.format(o.namespaces.total)})`, namespacesTable(o), more(o.namespaces.total, o.namespaces.items.length, 'namespaces')),
  ].filter(/** @returns {e is HTMLElement} */ (e) => e !== null);
}

/**
 * @param {string} key
 * @param {string} title
 * @param {...(Node | null)} content
 */
function section(key, title, ...content) {
  return h('section', { 'data-section': key, 'aria-label': title }, h('h2', {}, title), content);
}

/** @param {ClusterOverview} o */
function countsList(o) {
  const entries = /** @type {Array<[keyof typeof KIND_LABELS, number]>} */ (Object.entries(o.counts));
  return h('dl', { class: 'counts' },
    entries.map(([kind, n]) => h('div', { class: n === 0 ? 'count muted' : 'count', 'data-kind': kind },
      h('dt', {}, KIND_LABELS[kind] ?? kind), h('dd', {}, fmt.format(n)))),
    o.retained > 0 ? h('div', { class: 'count muted', 'data-kind': 'retained' }, h('dt', {}, 'retained (deleted)'), h('dd', {}, fmt.format(o.retained))) : null);
}

/**
 * Network ranges come from the SDK's networkRanges() (issue 16 part 1); a console whose SDK does
 * not have it yet says so instead of showing an empty table.
 * @param {NetworkRangesView} r
 */
function networkRanges(r) {
  if (!r.available) return h('p', { class: 'muted', 'data-state': 'unavailable' }, `Not available: ${r.reason}.`);
  if (r.groups.length === 0) return h('p', { class: 'muted', 'data-state': 'none' }, 'None known yet: the metadata service has not published any.');
  return h('div', { 'data-state': 'known' },
    h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'range'), h('th', {}, 'CIDRs'), h('th', {}, 'source'))),
      h('tbody', {}, r.groups.map((g) => h('tr', {}, h('td', {}, g.name), h('td', {}, g.cidrs.map((c) => h('code', { class: 'cidr' }, c))), h('td', {}, g.source ?? ''))))),
    r.omitted > 0 ? h('p', { class: 'muted' }, `… and ${fmt.format(r.omitted)} more`) : null);
}

/** @param {ClusterOverview} o */
function nodesTable(o) {
  if (o.nodes.total === 0) return h('p', { class: 'muted' }, 'none');
  return h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, 'name'), h('th', {}, 'status'), h('th', { class: 'num' }, 'pods'), h('th', {}, 'pod CIDRs'), h('th', {}, 'internal IP'))),
    h('tbody', {}, o.nodes.items.map((n) => {
      const [text, cls] = READINESS[n.ready];
      return h('tr', {},
        h('td', {}, h('a', { href: entityHref(o.cluster, 'node', n.uid) }, n.name)),
        h('td', {}, h('span', { class: `badge ${cls}` }, text)),
        h('td', { class: 'num' }, fmt.format(n.pods)),
        h('td', {}, n.podCidrs.length === 0 ? h('span', { class: 'muted' }, '—') : n.podCidrs.map((c) => h('code', { class: 'cidr' }, c))),
        h('td', {}, n.internalIp || '—'));
    })));
}

/** @param {ClusterOverview} o */
function namespacesTable(o) {
  if (o.namespaces.total === 0) return h('p', { class: 'muted' }, 'none');
  return h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, 'name'), h('th', { class: 'num' }, 'pods'), h('th', { class: 'num' }, 'services'), h('th', { class: 'num' }, 'workloads'))),
    h('tbody', {}, o.namespaces.items.map((n) => h('tr', {},
      h('td', {}, h('a', { href: entityHref(o.cluster, 'namespace', n.uid) }, n.name)),
      h('td', { class: 'num' }, fmt.format(n.pods)),
      h('td', { class: 'num' }, fmt.format(n.services)),
      h('td', { class: 'num' }, fmt.format(n.workloads))))));
}

/**
 * @param {number} total
 * @param {number} shown
 * @param {string} what
 */
function more(total, shown, what) {
  return total > shown ? h('p', { class: 'muted' }, `… and ${fmt.format(total - shown)} more ${what}: search for one by name`) : null;
}
