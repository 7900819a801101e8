import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** Updates applied per second per cluster over one sampling interval. */
export interface RateSample {
  /** End of the interval (ms since the epoch). */
  readonly atMs: number;
  readonly updatesPerSecond: Readonly<Record<string, number>>;
}

/** A followed cluster as the sampler reads it: a counter of updates applied, only ever growing. */
export interface SampledCluster {
  readonly name: string;
  applied(): number;
}

export interface EventsHubOptions {
  /** The body of /api/status, sent with every event. */
  readonly status: () => object;
  readonly clusters: readonly SampledCluster[];
  /** Sampling and event interval (the console's default: 1000 ms). */
  readonly intervalMs: number;
  /** Samples kept and sent to a new stream first (default 120: two minutes at 1 s). */
  readonly historySize?: number;
  /** Injected time (tests). */
  readonly now?: () => number;
}

/**
 * A stream that has this many bytes unsent is skipped until it drains: a stalled browser tab
 * costs at most this much memory, and it gets the next event once it reads again.
 */
const MAX_BUFFERED_BYTES = 64 * 1024;

/**
 * `GET /api/events`: the console's status as Server-Sent Events. One sampler per console (not per
 * stream) reads each cluster's applied-updates counter every interval, keeps the last
 * `historySize` rates, and sends every open stream a `status` event: the /api/status body plus
 * `sample` (the newest rates). A new stream first gets `history` (`{ intervalMs, samples }`), so a
 * page draws its charts at once, then the current status.
 *
 * Auth is the other /api/ routes' bearer header. Browsers' EventSource cannot send headers, so
 * the web page reads this stream with fetch() instead; a token in the URL (`?token=`) would end
 * up in proxy logs and browser history, so it is not accepted.
 *
 * Streams end when the app closes (preClose: otherwise the server would wait for them forever)
 * or when `close()` is called.
 */
export class EventsHub {
  readonly #options: EventsHubOptions;
  readonly #now: () => number;
  readonly #historySize: number;
  readonly #streams = new Set<ServerResponse>();
  readonly #samples: RateSample[] = [];
  #last: { atMs: number; applied: Map<string, number> } | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: EventsHubOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#historySize = options.historySize ?? 120;
    this.#read();
    this.#timer = setInterval(() => this.tick(), options.intervalMs);
    this.#timer.unref(); // sampling alone never keeps a process alive
  }

  /** Open streams. */
  get streams(): number {
    return this.#streams.size;
  }

  /** The rates kept, oldest first. */
  history(): RateSample[] {
    return [...this.#samples];
  }

  register(app: FastifyInstance): void {
    app.addHook('preClose', async () => this.#endStreams());
    app.get('/api/events', (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      // Headers set by earlier hooks (CORS) are on the reply object, which hijack bypasses.
      const earlier = Object.entries(reply.getHeaders()).filter((e): e is [string, string | number | string[]] => e[1] !== undefined);
      res.writeHead(200, {
        ...Object.fromEntries(earlier),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-accel-buffering': 'no', // a reverse proxy must not hold the events back
      });
      this.#streams.add(res);
      res.on('close', () => this.#streams.delete(res));
      req.raw.on('close', () => this.#streams.delete(res));
      res.write(`retry: 2000\n\n`);
      res.write(frame('history', { intervalMs: this.#options.intervalMs, samples: this.#samples }));
      res.write(frame('status', { ...this.#options.status(), sample: this.#samples.at(-1) ?? null }));
    });
  }

  /** Takes a sample and sends a status event to every stream (the timer calls it; tests may too). */
  tick(): void {
    const previous = this.#last;
    const current = this.#read();
    if (previous) {
      const seconds = Math.max(0.001, (current.atMs - previous.atMs) / 1000);
      const rates: Record<string, number> = {};
      for (const [name, applied] of current.applied) {
        const delta = applied - (previous.applied.get(name) ?? applied);
        // A counter that went back (a client replaced) is a new start, not a negative rate.
        rates[name] = delta < 0 ? 0 : Math.round((delta / seconds) * 10) / 10;
      }
      this.#samples.push({ atMs: current.atMs, updatesPerSecond: rates });
      if (this.#samples.length > this.#historySize) this.#samples.shift();
    }
    if (this.#streams.size === 0) return;
    const event = frame('status', { ...this.#options.status(), sample: this.#samples.at(-1) ?? null });
    for (const res of this.#streams) {
      if (res.writableLength > MAX_BUFFERED_BYTES) continue;
      res.write(event);
    }
  }

  /** Stops sampling and ends every stream. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#endStreams();
  }

  #read(): { atMs: number; applied: Map<string, number> } {
    this.#last = { atMs: this.#now(), applied: new Map(this.#options.clusters.map((c) => [c.name, c.applied()])) };
    return this.#last;
  }

  #endStreams(): void {
    for (const res of this.#streams) res.end();
    this.#streams.clear();
  }
}

function frame(event: string, data: unknown): string {
  // JSON never contains a raw newline, so one `data:` line carries the whole event.
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
