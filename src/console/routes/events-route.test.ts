// The console's live status stream (GET /api/events), its web page routes, and the console
// mounted on an app it does not own (as `kubemeta serve --console` does), over real HTTP on
// 127.0.0.1: Server-Sent Events need a socket that stays open, which inject() cannot show.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import Fastify from 'fastify';
import { waitFor } from '../../core/index.ts';
import { pod } from '../../testing/index.ts';
import { buildConsoleApp, registerConsole, type ConsoleApp } from './api.ts';
import { FakeClusterClient } from '../../../test/helpers/fake-cluster-client.ts';

const TOKEN = 'events-token-0123456789abcdef';

interface SseEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** Opens /api/events and collects its events until `close()`. */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const ctrl = new AbortController();
  const res = await fetch(url, { headers, signal: ctrl.signal });
  const events: SseEvent[] = [];
  let ended = false;
  const reading = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
        }
      }
    } catch {
      // aborted by close()
    }
    ended = true;
  })();
  return { res, events, ended: () => ended, reading, close: () => ctrl.abort() };
}

describe('GET /api/events and the web page', () => {
  const client = new FakeClusterClient();
  let api: ConsoleApp;
  let base: string;

  before(async () => {
    client.apply(pod({ uid: 'p0', name: 'first', namespace: 'shop' }));
    api = buildConsoleApp({ clusters: [{ name: 'prod', client }], token: TOKEN, sampleIntervalMs: 50 });
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    const address = api.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  after(async () => {
    await api?.close();
  });

  test('answers text/event-stream: history first, then a status event with the /api/status body', async () => {
    const stream = await openStream(`${base}/api/events`, { authorization: `Bearer ${TOKEN}` });
    try {
      assert.equal(stream.res.status, 200);
      assert.equal(stream.res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      assert.equal(stream.res.headers.get('cache-control'), 'no-store');
      await waitFor(() => stream.events.length >= 2, { what: 'the first two events', timeoutMs: 5_000 });
      assert.equal(stream.events[0]?.event, 'history');
      assert.equal(stream.events[0]?.data['intervalMs'], 50);
      assert.ok(Array.isArray(stream.events[0]?.data['samples']));
      const first = stream.events[1] as SseEvent;
      assert.equal(first.event, 'status');
      const clusters = first.data['clusters'] as Array<Record<string, unknown>>;
      assert.equal(clusters[0]?.['name'], 'prod');
      assert.equal(clusters[0]?.['head'], client.head);
      assert.deepEqual(first.data['features'], { query: false });
    } finally {
      stream.close();
    }
  });

  test('status events follow every interval with the head and the update rate', async () => {
    const stream = await openStream(`${base}/api/events`, { authorization: `Bearer ${TOKEN}` });
    try {
      const headBefore = client.head;
      for (let i = 0; i < 20; i++) client.apply(pod({ uid: `r${i}`, name: `rate-${i}`, namespace: 'shop' }));
      await waitFor(() => stream.events.some((e) => {
        const c = (e.data['clusters'] as Array<Record<string, unknown>> | undefined)?.[0];
        const sample = e.data['sample'] as { updatesPerSecond: Record<string, number> } | null | undefined;
        return e.event === 'status' && c?.['head'] === headBefore + 20 && (sample?.updatesPerSecond['prod'] ?? 0) > 0;
      }), { what: 'a status event with the new head and a positive update rate', timeoutMs: 5_000 });
    } finally {
      stream.close();
    }
  });

  test('needs the bearer token like every /api/ route (not in the URL)', async () => {
    const none = await fetch(`${base}/api/events`);
    assert.equal(none.status, 401);
    const inUrl = await fetch(`${base}/api/events?token=${TOKEN}`);
    assert.equal(inUrl.status, 401);
    await inUrl.body?.cancel();
    await none.body?.cancel();
  });

  test('serves the page, its module and stylesheet under a strict Content-Security-Policy; no token needed', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await page.text();
    assert.match(html, /<script type="module" src="assets\/app.js"><\/script>/);
    assert.doesNotMatch(html, /<script>|style="/, 'no inline script or style');
    for (const [path, type] of [['/assets/app.js', /^text\/javascript/], ['/assets/style.css', /^text\/css/], ['/assets/favicon.svg', /^image\/svg\+xml/]] as const) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', type, path);
      await res.body?.cancel();
    }
    // Every module the page imports is served (a file added to web/ but not to WEB_FILES is a 404 in the browser).
    const pending = ['app.js'];
    const seen = new Set<string>();
    while (pending.length > 0) {
      const file = pending.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const res = await fetch(`${base}/assets/${file}`);
      assert.equal(res.status, 200, `/assets/${file}`);
      assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/, file);
      for (const m of (await res.text()).matchAll(/^import .* from '\.\/([\w-]+\.js)';$/gm)) pending.push(m[1] as string);
    }
    // …and every module in web/ is one the page imports.
    const modules = readdirSync(new URL('../web/', import.meta.url)).filter((f) => f.endsWith('.js'));
    assert.deepEqual([...seen].sort(), modules.sort());
  });

  test('closing the app ends the open streams instead of waiting for them', async () => {
    const own = buildConsoleApp({ clusters: [{ name: 'prod', client }], sampleIntervalMs: 50 });
    await own.app.listen({ host: '127.0.0.1', port: 0 });
    const address = own.app.server.address();
    const stream = await openStream(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/events`);
    await waitFor(() => stream.events.length >= 2, { what: 'the stream to start', timeoutMs: 5_000 });
    const started = Date.now();
    await own.close();
    await stream.reading;
    assert.ok(stream.ended());
    assert.ok(Date.now() - started < 3_000, `closed in ${Date.now() - started} ms`);
  });
});

describe('registerConsole on an app the console does not own', () => {
  test('its routes, auth and headers apply to the console only', async () => {
    const client = new FakeClusterClient();
    client.apply(pod({ uid: 'p1', name: 'mounted-pod', namespace: 'shop' }));
    const app = Fastify({ routerOptions: { maxParamLength: 600 } });
    app.get('/healthz', async () => ({ ok: true }));
    const mounted = await registerConsole(app, { clusters: [{ name: 'prod', client }], token: TOKEN });
    try {
      const health = await app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(health.statusCode, 200, 'the owner’s routes need no console token');
      assert.equal(health.headers['cache-control'], undefined, 'the console’s headers stay on its routes');
      assert.equal((await app.inject({ method: 'GET', url: '/api/status' })).statusCode, 401);
      const entity = await app.inject({ method: 'GET', url: '/api/entity/pod/p1', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(entity.statusCode, 200);
      assert.equal((entity.json() as { name: string }).name, 'mounted-pod');
      assert.equal((await app.inject({ method: 'GET', url: '/' })).statusCode, 200);
      assert.equal(mounted.status().clusters[0]?.name, 'prod');
    } finally {
      await mounted.close();
      await app.close();
    }
  });
});
