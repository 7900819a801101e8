// @ts-check
// DOM helpers for every module of the console's page (all type-checked: tsconfig.web.json).
// Untrusted text reaches the DOM only as text nodes (never innerHTML), which also keeps the page
// within its Content-Security-Policy.

/** @typedef {Node | string | number | null | undefined | false} Child */
/** @typedef {Child | Children[]} Children */
/** @typedef {Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>} Attributes */

/**
 * Creates an element: h('a', { href: '#', class: 'x' }, 'text', child…). Strings and numbers
 * become text nodes; `on…` attributes add listeners; null, undefined and false are skipped.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attributes} [attrs]
 * @param {...Children} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  return append(el, ...children);
}

/**
 * Appends children (nested arrays flattened; null, undefined and false skipped).
 * @template {Element} E
 * @param {E} el
 * @param {...Children} children
 * @returns {E}
 */
export function append(el, ...children) {
  for (const c of children) {
    if (Array.isArray(c)) append(el, ...c);
    else if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Creates an SVG element with attributes and children (strings become text nodes).
 * @template {keyof SVGElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number>} [attrs]
 * @param {...Children} children
 * @returns {SVGElementTagNameMap[K]}
 */
export function svg(tag, attrs = {}, ...children) {
  const el = /** @type {SVGElementTagNameMap[K]} */ (document.createElementNS(SVG_NS, tag));
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return append(el, ...children);
}

/**
 * The page's address of an entity (`#/entity/<cluster>/<kind>/<uid>`).
 * @param {string} cluster
 * @param {string} kind
 * @param {string} uid
 */
export function entityHref(cluster, kind, uid) {
  return `#/entity/${encodeURIComponent(cluster)}/${encodeURIComponent(kind)}/${encodeURIComponent(uid)}`;
}

/**
 * The page's address of a cluster's page (`#/cluster/<cluster>`).
 * @param {string} cluster
 */
export function clusterHref(cluster) {
  return `#/cluster/${encodeURIComponent(cluster)}`;
}

export const fmt = new Intl.NumberFormat('en');

/**
 * The page's element with this id, checked to be of the type the caller uses it as (a missing or
 * renamed element in index.html fails here, naming it, instead of as a property of null).
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T, prototype: T }} type
 * @returns {T}
 */
export function byId(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return el;
}

/**
 * `name` with the [start, end) ranges in <mark>.
 * @param {string} name
 * @param {ReadonlyArray<readonly [number, number]> | undefined} ranges
 * @returns {Array<Node | string>}
 */
export function highlighted(name, ranges) {
  /** @type {Array<Node | string>} */
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
