import { existsSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

/**
 * The web console: static files from `console/web/` (plain HTML, CSS and browser ES modules:
 * no build step, nothing from a CDN), read once when the routes are registered and served from
 * memory.
 * Hand-written rather than @fastify/static: a few fixed files need no directory serving,
 * ranges or ETags, and one dependency fewer.
 *
 * The page is public (it holds no data); its API calls carry the bearer token the user enters.
 * The Content-Security-Policy allows only the page's own files and API: no inline script or
 * style, no other origin, no framing.
 */
export const WEB_FILES: Readonly<Record<string, { readonly file: string; readonly type: string }>> = Object.freeze({
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/assets/api.js': { file: 'api.js', type: 'text/javascript; charset=utf-8' },
  '/assets/state.js': { file: 'state.js', type: 'text/javascript; charset=utf-8' },
  '/assets/dom.js': { file: 'dom.js', type: 'text/javascript; charset=utf-8' },
  '/assets/combobox.js': { file: 'combobox.js', type: 'text/javascript; charset=utf-8' },
  '/assets/search-box.js': { file: 'search-box.js', type: 'text/javascript; charset=utf-8' },
  '/assets/query-page.js': { file: 'query-page.js', type: 'text/javascript; charset=utf-8' },
  '/assets/result-chart.js': { file: 'result-chart.js', type: 'text/javascript; charset=utf-8' },
  '/assets/entity-page.js': { file: 'entity-page.js', type: 'text/javascript; charset=utf-8' },
  '/assets/cluster-page.js': { file: 'cluster-page.js', type: 'text/javascript; charset=utf-8' },
  '/assets/status-panel.js': { file: 'status-panel.js', type: 'text/javascript; charset=utf-8' },
  '/assets/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/assets/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
});

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function registerWebRoutes(app: FastifyInstance): void {
  // console/web/, a sibling of this module's folder; in the bundled CLI (dist/kubemeta.mjs,
  // scripts/build.mjs) this module is part of the bundle and the page is at console/web/ beside it.
  const here = new URL('../web/', import.meta.url);
  const dir = existsSync(new URL('index.html', here)) ? here : new URL('./console/web/', import.meta.url);
  for (const [path, { file, type }] of Object.entries(WEB_FILES)) {
    const body = readFileSync(new URL(file, dir));
    app.get(path, async (_req, reply) =>
      reply
        .type(type)
        .header('content-security-policy', CONTENT_SECURITY_POLICY)
        .header('referrer-policy', 'no-referrer')
        .send(body));
  }
}
