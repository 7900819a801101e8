// The LIST half of the physical floor of an initial sync (bench/sync-floor.ts): download and
// JSON.parse the same paginated LISTs `kubemeta serve` makes — the same kinds, one pager per
// kind running concurrently as serve's reflectors do, the same page size — and nothing else:
// no rate limiter, no projection, no store, no publishing. Runs in its own process (as serve
// does), so the simulated API server in the bench process does not share its event loop.
//
//   BENCH_LIST_FLOOR='<json: ListFloorConfig>' node --import tsx bench/lib/list-floor.ts
// Prints one line of JSON (ListFloorResult) on stdout and exits.
import http from 'node:http';

export interface ListFloorConfig {
  /** The API server, e.g. http://127.0.0.1:38211 (plain HTTP: the sim). */
  server: string;
  /** Collection paths, e.g. /api/v1/pods. */
  paths: string[];
  pageSize: number;
}

export interface ListFloorResult {
  /** Wall time from the first request to the last page parsed. */
  ms: number;
  pages: number;
  objects: number;
  /** Response body bytes. */
  bytes: number;
  /** Time spent in JSON.parse (summed over the pages; it runs on the one thread). */
  parseMs: number;
  /** CPU of this process during the download (user + system). */
  cpuSeconds: number;
}

const config = JSON.parse(process.env['BENCH_LIST_FLOOR'] ?? '{}') as ListFloorConfig;
const agent = new http.Agent({ keepAlive: true });
const totals = { pages: 0, objects: 0, bytes: 0, parseMs: 0 };

function get(url: URL): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`GET ${url.pathname}: HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** One kind, page after page, as src/source/pager.ts does it. */
async function listAll(path: string): Promise<void> {
  let continueToken: string | undefined;
  do {
    const url = new URL(config.server + path);
    url.searchParams.set('limit', String(config.pageSize));
    if (continueToken) url.searchParams.set('continue', continueToken);
    const body = await get(url);
    const t = performance.now();
    const list = JSON.parse(body.toString('utf8')) as { items: unknown[]; metadata?: { continue?: string } };
    totals.parseMs += performance.now() - t;
    totals.pages++;
    totals.objects += list.items.length;
    totals.bytes += body.length;
    continueToken = list.metadata?.continue || undefined;
  } while (continueToken);
}

const cpu = process.cpuUsage();
const started = performance.now();
await Promise.all(config.paths.map(listAll));
const ms = performance.now() - started;
const used = process.cpuUsage(cpu);
const result: ListFloorResult = {
  ms: Math.round(ms),
  pages: totals.pages,
  objects: totals.objects,
  bytes: totals.bytes,
  parseMs: Math.round(totals.parseMs),
  cpuSeconds: Math.round((used.user + used.system) / 1e4) / 100,
};
agent.destroy();
process.stdout.write(JSON.stringify(result) + '\n');
