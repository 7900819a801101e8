// @ts-check
// The page's access to this console's JSON API (docs/console.md), with the bearer token the user
// entered: one function per route, typed with the API's own TypeScript types, so a field renamed
// in the API fails the page's typecheck (tsconfig.web.json) rather than in a browser.
// GET api/events (the live status) is read by status-panel.js, with authHeaders().
import { byId } from './dom.js';

/** @typedef {import('../index.ts').AutocompleteResult} AutocompleteResult */
/** @typedef {import('../index.ts').ClusterOverview} ClusterOverview */
/** @typedef {import('../index.ts').ConsoleStatus} ConsoleStatus */
/** @typedef {import('../index.ts').EntityDetail} EntityDetail */
/** @typedef {import('../../telemetry/index.ts').QueryResult} QueryResult */

const TOKEN_KEY = 'kubemeta-console-token';

/** The API answered 401: the token prompt is shown, the caller's work ends quietly. */
export class AuthRequired extends Error {}

/** An API error answer: its HTTP status and the API's error code (docs/errors.md). */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {number} status
   * @param {string | undefined} code
   */
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** @returns {Record<string, string>} */
export function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * fetch() against the API: the JSON answer, or an ApiError carrying the status and the API's
 * error body. The type parameter is the route's answer type (one per exported function below).
 * @template T
 * @param {string} path
 * @param {RequestInit & { headers?: Record<string, string> }} [init]
 * @returns {Promise<T>}
 */
async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers ?? {}) } });
  if (res.status === 401) {
    showTokenPrompt(sessionStorage.getItem(TOKEN_KEY) ? 'That token was refused.' : '');
    throw new AuthRequired('a token is needed');
  }
  /** @type {{ error?: { message?: string, code?: string } } | undefined} */
  const body = await res.json().catch(() => undefined);
  if (!res.ok) throw new ApiError(body?.error?.message ?? `${res.status} ${res.statusText}`, res.status, body?.error?.code);
  return /** @type {T} */ (body);
}

/** @returns {Promise<ConsoleStatus>} */
export function fetchStatus() {
  return api('api/status');
}

/**
 * @param {string} params the query string (`q=…&limit=…`, encoded by the caller)
 * @returns {Promise<AutocompleteResult>}
 */
export function fetchSuggestions(params) {
  return api(`api/autocomplete?${params}`);
}

/**
 * @param {string} cluster
 * @param {string} kind
 * @param {string} uid
 * @returns {Promise<EntityDetail>}
 */
export function fetchEntity(cluster, kind, uid) {
  return api(`api/entity/${encodeURIComponent(kind)}/${encodeURIComponent(uid)}?cluster=${encodeURIComponent(cluster)}`);
}

/**
 * @param {string | undefined} cluster undefined: the console's only (or first) cluster
 * @returns {Promise<ClusterOverview>}
 */
export function fetchCluster(cluster) {
  return api(`api/cluster${cluster ? `?cluster=${encodeURIComponent(cluster)}` : ''}`);
}

/**
 * @param {string} q
 * @param {string | undefined} cluster
 * @returns {Promise<QueryResult>}
 */
export function postQuery(q, cluster) {
  return api('api/query', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ q, cluster }),
  });
}

/** @param {string} message */
export function showTokenPrompt(message) {
  byId('auth', HTMLElement).hidden = false;
  byId('auth-error', HTMLElement).textContent = message;
  byId('auth-token', HTMLInputElement).focus();
}

/**
 * Keeps the token the user enters (in this tab's sessionStorage), hides the prompt and calls
 * `connect`.
 * @param {() => void} connect
 */
export function onTokenEntered(connect) {
  byId('auth-form', HTMLFormElement).addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, byId('auth-token', HTMLInputElement).value.trim());
    byId('auth', HTMLElement).hidden = true;
    connect();
  });
}

/**
 * An error's message for the page (anything thrown that is not an Error as its text).
 * @param {unknown} err
 */
export function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}
