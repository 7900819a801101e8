// @ts-check
// An entity's page (`#/entity/<cluster>/<kind>/<uid>`, from GET api/entity): its details and
// every related object as a link. app.js fetches the detail and puts what this returns into the
// view.
import { entityHref, fmt, h } from './dom.js';

/** @typedef {import('../index.ts').EntityDetail} EntityDetail */
/** @typedef {import('../index.ts').EntityRef} EntityRef */
/** @typedef {import('../index.ts').RefList} RefList */
/** @typedef {import('./dom.js').Children} Children */

/**
 * The page's heading and sections.
 * @param {EntityDetail} e
 * @param {string} cluster
 * @returns {HTMLElement[]}
 */
export function renderEntityPage(e, cluster) {
  const rel = e.relations;
  /** @param {EntityRef | null | undefined} r */
  const link = (r) => (r ? h('a', { href: entityHref(cluster, r.kind, r.uid), class: r.live ? '' : 'gone' }, r.namespace ? `${r.namespace}/${r.name}` : r.name) : h('span', { class: 'muted' }, 'not known'));
  /** @type {HTMLElement[]} */
  const sections = [];
  /**
   * @param {string} key
   * @param {string} title
   * @param {...Children} content
   */
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
  /**
   * @param {string} key
   * @param {string} title
   * @param {RefList | undefined} refs
   */
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
  return [
    h('h1', {}, h('span', { class: 'kind' }, e.kind), e.namespace ? `${e.namespace}/${e.name}` : e.name,
      e.live ? h('span', { class: 'badge ok' }, 'live') : h('span', { class: 'badge bad' }, 'deleted')),
    ...sections,
  ];
}
