import { Counter, Gauge, Registry } from 'prom-client';

/**
 * What clients cost the simulated control plane: requests by verb and kind, open watches,
 * LIST objects and bytes, watch events and bytes, watches dropped, 410s, CPU.
 *
 * The hot paths (every watch event, every LIST page) only add to plain numbers; prom-client
 * reads them in its collect() callbacks when /metrics is scraped. The registry is this
 * object's own, never prom-client's global one, so several sims in one process do not clash.
 */
export interface LoadStats {
  requests: Record<string, Record<string, number>>;
  openWatches: number;
  watchesStarted: number;
  listObjects: number;
  listBytes: number;
  watchEvents: number;
  watchBookmarks: number;
  watchBytes: number;
  watchesClosed: Record<WatchCloseReason, number>;
  gone410: number;
  faultsInjected: number;
  processCpuSeconds: number;
}

export type WatchCloseReason = 'slow' | 'fault' | 'timeout' | 'client' | 'shutdown';

export class LoadCounters {
  readonly registry = new Registry();
  /** requests[verb][kind]; kind is '' for discovery and other non-resource requests. */
  readonly #requests = new Map<string, Map<string, number>>();
  readonly #closed: Record<WatchCloseReason, number> = { slow: 0, fault: 0, timeout: 0, client: 0, shutdown: 0 };
  openWatches = 0;
  watchesStarted = 0;
  listObjects = 0;
  listBytes = 0;
  watchEvents = 0;
  watchBookmarks = 0;
  watchBytes = 0;
  gone410 = 0;
  faultsInjected = 0;

  constructor() {
    this.#registerMetrics();
  }

  request(verb: string, kind: string): void {
    let byKind = this.#requests.get(verb);
    if (!byKind) this.#requests.set(verb, (byKind = new Map()));
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  }

  requests(verb: string, kind?: string): number {
    const byKind = this.#requests.get(verb);
    if (!byKind) return 0;
    if (kind !== undefined) return byKind.get(kind) ?? 0;
    let total = 0;
    for (const n of byKind.values()) total += n;
    return total;
  }

  watchClosed(reason: WatchCloseReason): void {
    this.#closed[reason]++;
  }

  snapshot(): LoadStats {
    const requests: Record<string, Record<string, number>> = {};
    for (const [verb, byKind] of this.#requests) requests[verb] = Object.fromEntries(byKind);
    return {
      requests,
      openWatches: this.openWatches,
      watchesStarted: this.watchesStarted,
      listObjects: this.listObjects,
      listBytes: this.listBytes,
      watchEvents: this.watchEvents,
      watchBookmarks: this.watchBookmarks,
      watchBytes: this.watchBytes,
      watchesClosed: { ...this.#closed },
      gone410: this.gone410,
      faultsInjected: this.faultsInjected,
      processCpuSeconds: cpuSeconds(),
    };
  }

  /** Prometheus text exposition of the counters. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  #registerMetrics(): void {
    const registers = [this.registry];
    const counters = this;
    new Counter({
      name: 'kubemeta_sim_requests_total',
      help: 'API requests served by the sim, by verb and kind (kind is empty for discovery).',
      labelNames: ['verb', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const [verb, byKind] of counters.#requests) for (const [kind, n] of byKind) this.inc({ verb, kind }, n);
      },
    });
    const total = (metricName: string, help: string, read: () => number): void => {
      new Counter({ name: metricName, help, registers, collect() { this.reset(); this.inc(read()); } });
    };
    total('kubemeta_sim_list_objects_total', 'Objects served in LIST responses.', () => counters.listObjects);
    total('kubemeta_sim_list_bytes_total', 'Bytes of LIST response bodies.', () => counters.listBytes);
    total('kubemeta_sim_watch_events_total', 'Watch events sent (bookmarks excluded).', () => counters.watchEvents);
    total('kubemeta_sim_watch_bookmarks_total', 'Watch BOOKMARK events sent.', () => counters.watchBookmarks);
    total('kubemeta_sim_watch_bytes_total', 'Bytes sent on watch streams.', () => counters.watchBytes);
    total('kubemeta_sim_watches_started_total', 'Watch requests accepted.', () => counters.watchesStarted);
    total('kubemeta_sim_gone_total', '410 Gone answers (expired resourceVersion or continue token).', () => counters.gone410);
    total('kubemeta_sim_faults_injected_total', 'Requests or events changed by fault injection.', () => counters.faultsInjected);
    total('kubemeta_sim_process_cpu_seconds_total', 'CPU time (user + system) of the sim process.', cpuSeconds);
    new Counter({
      name: 'kubemeta_sim_watches_closed_total',
      help: 'Watches that ended, by reason: slow (dropped, the client did not read), fault (injected), timeout, client (closed by the client), shutdown.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(counters.#closed)) this.inc({ reason }, n);
      },
    });
    new Gauge({ name: 'kubemeta_sim_open_watches', help: 'Watches open now.', registers, collect() { this.set(counters.openWatches); } });
  }
}

function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}
