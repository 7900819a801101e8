// The LIST half of the physical floor of an initial sync (bench/lib/sync-floor.ts): download and
// JSON.parse the same LISTs `kubemeta serve` makes — the same kinds, one pager (or one WatchList
// stream, mode 'watchList') per kind running concurrently as serve's reflectors do, the same
// page size — and nothing else:
// no rate limiter, no projection, no store, no publishing. Runs in its own process (as serve
// does), apart from the simulated API server (its own process in serve-sync) and serve.
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
  /**
   * 'pages': paginated LISTs (the default). 'watchList': one streaming list per kind (KEP-3157:
   * a watch with sendInitialEvents, each object its own JSON line, up to the bookmark that ends
   * the initial events), as serve reads a server that offers it.
   */
  mode?: 'pages' | 'watchList';
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

/** One kind as a WatchList: JSON lines, parsed one by one, until the initial-events-end bookmark. */
function watchListAll(path: string): Promise<void> {
  const url = new URL(config.server + path);
  for (const [k, v] of Object.entries({ watch: '1', sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: 'true' })) url.searchParams.set(k, v);
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { accept: 'application/json' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`GET ${url.pathname} (WatchList): HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      let rest: Buffer | undefined;
      res.on('data', (chunk: Buffer) => {
        totals.bytes += chunk.length;
        const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
        let start = 0;
        for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
          const t = performance.now();
          const event = JSON.parse(buf.toString('utf8', start, nl)) as { type: string; object: { metadata?: { annotations?: Record<string, string> } } };
          totals.parseMs += performance.now() - t;
          start = nl + 1;
          if (event.type === 'ADDED') totals.objects++;
          else if (event.type === 'BOOKMARK' && event.object.metadata?.annotations?.['k8s.io/initial-events-end'] === 'true') {
            totals.pages++;
            req.destroy();
            resolve();
            return;
          }
        }
        rest = start < buf.length ? buf.subarray(start) : undefined;
      });
      res.on('end', () => reject(new Error(`GET ${url.pathname} (WatchList): ended before the initial-events-end bookmark`)));
      res.on('error', () => undefined);
    });
    req.on('error', (err) => {
      if (!req.destroyed) reject(err);
    });
  });
}

const cpu = process.cpuUsage();
const started = performance.now();
await Promise.all(config.paths.map(config.mode === 'watchList' ? watchListAll : listAll));
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
