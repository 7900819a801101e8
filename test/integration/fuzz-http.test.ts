// Fuzzing the HTTP APIs (issue 8): `kubemeta serve`'s endpoints and the console's JSON API get
// random paths, methods, query strings, headers and bodies from a seeded generator. Every answer
// must be a well-formed HTTP response below 500 (a 503 from /readyz is an answer, not a
// failure), nothing may hang, and both servers must keep working afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startConsoleServer, type ConsoleServer } from '../../src/console/index.ts';
import { ClusterClient } from '../../src/sdk/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import { seededRandom } from '../conformance/workload.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';

const INPUTS = Number(process.env['KUBEMETA_FUZZ_INPUTS'] ?? 1_000);
const SEED = Number(process.env['KUBEMETA_FUZZ_SEED'] ?? 21);

const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const SERVE_PATHS = ['/healthz', '/readyz', '/metrics', '/status', '/', '/status/', '/metrics?x=1', '/%2e%2e/etc/passwd', '/status%00', '/readyz/../status'];
const CONSOLE_PATHS = ['/api/autocomplete', '/api/entities/pod', '/api/entities/svc', '/api/entities/nope', '/api/status', '/api/entities/', '/api/autocomplete/', '/', '/api/%ff', '/api/entity/pod/x', '/api/entity/label/a%3Db', '/api/entity/', '/assets/app.js'];
const PARAMS = ['q', 'kind', 'cluster', 'limit', 'after', 'namespace', 'x'];
const VALUES = ['', 'a', 'pod:', 'svc:front', 'ns/name', '-1', '0', '101', '1e309', 'NaN', '%', '%zz', '🚀', '\u0000', 'a'.repeat(5_000), '[]', '{}', 'kind:kind:kind', '/', '..'];

function fuzzRequest(random: () => number, paths: readonly string[]): { method: string; path: string; headers: Record<string, string>; body?: string } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const method = pick(METHODS);
  const params: string[] = [];
  for (let i = Math.floor(random() * 4); i > 0; i--) params.push(`${pick(PARAMS)}=${encodeURIComponent(pick(VALUES)).replace(/%25/g, random() < 0.2 ? '%' : '%25')}`);
  const path = pick(paths) + (params.length > 0 ? (random() < 0.5 ? '?' : '&') + params.join('&') : '');
  const headers: Record<string, string> = {};
  if (random() < 0.3) headers['authorization'] = pick(['Bearer ', 'Bearer x', 'Basic abc', 'bearer ' + 'k'.repeat(500)]);
  if (random() < 0.2) headers['content-type'] = pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded']);
  if (random() < 0.2) headers['origin'] = 'https://evil.example';
  const body = method !== 'GET' && method !== 'HEAD' && random() < 0.7 ? pick(['{', '{}', '[]', 'null', '"x"', 'x'.repeat(10_000), '{"q":1}']) : undefined;
  return { method, path, headers, ...(body !== undefined ? { body } : {}) };
}

async function fire(base: string, r: ReturnType<typeof fuzzRequest>): Promise<number> {
  const res = await fetch(base + r.path, { method: r.method, headers: r.headers, ...(r.body !== undefined ? { body: r.body } : {}), signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return res.status;
}

describe('fuzzing the HTTP APIs', () => {
  let env: ServeEnv;
  let service: MetadataService;
  let client: ClusterClient;
  let consoleServer: ConsoleServer;

  before(async () => {
    env = await startServeEnv({ seed: 6, nodes: 3, podsPerNode: 3, namespaces: 1 });
    service = await MetadataService.start(env.serveConfig());
    await service.whenReady(AbortSignal.timeout(30_000));
    client = await ClusterClient.connect({ servers: env.nats.url, cluster: 'test' });
    consoleServer = await startConsoleServer({ clusters: [{ name: 'test', client }], token: 't'.repeat(32) });
  });

  after(async () => {
    await consoleServer?.close();
    await client?.close();
    await service?.drain();
    await env?.stop();
  });

  for (const target of ['serve', 'console'] as const) {
    test(`${target}: ${INPUTS} random requests get answers below 500, and it keeps working`, async (t) => {
      const base = target === 'serve' ? (service.httpUrl as string) : consoleServer.url;
      const random = seededRandom(SEED + (target === 'serve' ? 0 : 1));
      const byStatus = new Map<number, number>();
      const failures: string[] = [];
      for (let i = 0; i < INPUTS; i++) {
        const r = fuzzRequest(random, target === 'serve' ? SERVE_PATHS : CONSOLE_PATHS);
        // Mostly the right token, so that the console's validation, not only its auth, is fuzzed.
        if (target === 'console' && random() < 0.7) r.headers['authorization'] = `Bearer ${'t'.repeat(32)}`;
        const status = await fire(base, r);
        byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
        if (status >= 500 && !(status === 503 && r.path.startsWith('/readyz'))) failures.push(`${r.method} ${r.path.slice(0, 120)} → ${status}`);
      }
      t.diagnostic(`${target}: ${[...byStatus].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}`);
      assert.deepEqual(failures.slice(0, 10), [], `${failures.length} answers of 500 or more`);
      // Still working: the real endpoints answer as before.
      if (target === 'serve') {
        assert.equal((await fetch(`${base}/readyz`)).status, 200);
        assert.equal(service.state, 'ready');
      } else {
        const ok = await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${'t'.repeat(32)}` } });
        assert.equal(ok.status, 200);
      }
    });
  }
});
