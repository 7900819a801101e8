import { Backoff, isAbortError, silentLogger, systemClock, toError, type BackoffOptions, type Clock, type Logger, type ObjectEventType } from '../core/index.ts';
import type { KubeApiClient } from './api-client.ts';
import { classifyError, SourceError } from './errors.ts';
import { collectionPath, type WatchedKind, type WatchedKindName } from './kinds.ts';
import type { RawObject, WatchEvent } from './objects.ts';
import { listPages } from './pager.ts';
import { readWatchEvents } from './watch-stream.ts';

/**
 * Where a reflector delivers what it sees. Every call is awaited before the next one, so a
 * slow sink slows the reflector down (backpressure) instead of buffering the API server's
 * stream in memory.
 */
export interface ReflectorSink {
  /** A LIST begins: every object of the kind follows in pages, then `listDone`. */
  listStart(kind: WatchedKindName): Promise<void>;
  listPage(kind: WatchedKindName, items: readonly RawObject[]): Promise<void>;
  /**
   * The LIST is complete at `resourceVersion`. Objects the sink knew of that were not listed
   * no longer exist: after a relist (410 Gone) the sink publishes their deletions (docs/design.md §6).
   */
  listDone(kind: WatchedKindName, resourceVersion: string): Promise<void>;
  event(kind: WatchedKindName, type: ObjectEventType, object: RawObject): Promise<void>;
  /** Nothing changed up to `resourceVersion`; the sink may store it as the resume position. */
  bookmark(kind: WatchedKindName, resourceVersion: string): Promise<void>;
}

export type ReflectorPhase = 'idle' | 'listing' | 'watching' | 'backoff' | 'stopped' | 'unsupported';

/**
 * How the last initial list was made: a streaming list (`watch-list`: one WATCH with
 * sendInitialEvents, each object its own event, KEP-3157) or paginated LISTs (`list`, the
 * fallback for servers that refuse WatchList).
 */
export type ListMode = 'watch-list' | 'list';

export interface ReflectorStats {
  readonly kind: string;
  readonly phase: ReflectorPhase;
  /** The resume position: the last resourceVersion fully delivered to the sink. */
  readonly resourceVersion: string | undefined;
  /** True once a LIST has completed (or the reflector resumed from a stored position). */
  readonly synced: boolean;
  readonly lists: number;
  readonly relists: number;
  /** How the last initial list was made (undefined: none yet, e.g. resumed from the store). */
  readonly listMode: ListMode | undefined;
  readonly pages: number;
  readonly objectsListed: number;
  /** Objects the running LIST has delivered and the server says remain (progress). */
  readonly listProgress: { readonly objects: number; readonly remaining: number | undefined } | undefined;
  readonly events: number;
  readonly bookmarks: number;
  readonly watchRestarts: number;
  readonly idleRestarts: number;
  readonly errors: number;
  readonly lastError: string | undefined;
}

export interface ReflectorOptions {
  client: KubeApiClient;
  kind: WatchedKind;
  sink: ReflectorSink;
  /** Watch only this namespace. */
  namespace?: string;
  /** A stored resourceVersion: watch from it instead of listing (a restart does not relist). */
  resumeFrom?: string;
  /**
   * Page size of a paginated LIST, and how many objects of a WatchList's initial events are
   * handed to the sink at once.
   */
  pageSize?: number;
  /**
   * Make the initial list as a WatchList stream (default true); a server that refuses it
   * (older than 1.27, or the feature off) gets paginated LISTs instead, for the rest of this
   * reflector's life.
   */
  watchList?: boolean;
  /** Server-side watch timeout, randomized in [min, max] so watches do not all end together. */
  watchTimeoutSeconds?: { min: number; max: number };
  /** A watch silent for this long (no event, no bookmark) is restarted (docs/design.md §10). */
  idleTimeoutMs?: number;
  backoff?: BackoffOptions;
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
}

/**
 * One LIST+WATCH loop for one kind (client-go's Reflector). It lists in pages, then watches
 * from the list's resourceVersion with bookmarks; on a dropped or silent watch it resumes
 * from the last resourceVersion; on 410 Gone it lists again and lets the sink publish only
 * the differences; on any other error it backs off with jitter and retries. It never stops
 * by itself except when the server does not serve the kind at all.
 */
/** An answer that means "this server does not do WatchList" (not a transient failure). */
function isRefusal(err: unknown): boolean {
  const status = err instanceof SourceError ? err.httpStatus : undefined;
  return status === 400 || status === 422 || status === 405 || status === 501;
}

export class Reflector {
  readonly kind: WatchedKind;
  readonly #options: Required<Pick<ReflectorOptions, 'pageSize' | 'idleTimeoutMs' | 'watchTimeoutSeconds'>> & ReflectorOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  readonly #random: () => number;
  /** False once the server refused a WatchList: later lists are paginated. */
  #watchListUsable: boolean;
  #stats: { -readonly [K in keyof ReflectorStats]: ReflectorStats[K] };

  constructor(options: ReflectorOptions) {
    this.kind = options.kind;
    this.#options = { pageSize: 500, idleTimeoutMs: 5 * 60_000, watchTimeoutSeconds: { min: 300, max: 600 }, ...options };
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.logger ?? silentLogger).child({ kind: options.kind.kind });
    this.#backoff = new Backoff({ initialMs: 500, maxMs: 30_000, ...options.backoff });
    this.#random = options.random ?? Math.random;
    this.#watchListUsable = options.watchList ?? true;
    this.#stats = {
      kind: options.kind.kind,
      phase: 'idle',
      resourceVersion: options.resumeFrom,
      synced: options.resumeFrom !== undefined,
      lists: 0,
      relists: 0,
      listMode: undefined,
      pages: 0,
      objectsListed: 0,
      listProgress: undefined,
      events: 0,
      bookmarks: 0,
      watchRestarts: 0,
      idleRestarts: 0,
      errors: 0,
      lastError: undefined,
    };
  }

  stats(): ReflectorStats {
    return { ...this.#stats };
  }

  /**
   * Runs until `signal` aborts (resolves) or the kind is not served (rejects with a
   * SourceError of class 'unsupported'; the caller may fall back, e.g. to Endpoints).
   */
  async run(signal: AbortSignal): Promise<void> {
    try {
      while (!signal.aborted) {
        try {
          if (this.#stats.resourceVersion === undefined) {
            // A WatchList goes on as the watch once its initial events are in.
            if (this.#watchListUsable && (await this.#watchList(signal))) continue;
            await this.#list(signal);
          }
          await this.#watch(signal);
        } catch (err) {
          if (signal.aborted || isAbortError(err)) break;
          await this.#recover(err, signal);
        }
      }
    } catch (err) {
      if (!(signal.aborted || isAbortError(err))) throw err;
    } finally {
      if (this.#stats.phase !== 'unsupported') this.#stats.phase = 'stopped';
    }
  }

  async #list(signal: AbortSignal): Promise<void> {
    const s = this.#stats;
    s.phase = 'listing';
    s.lists++;
    s.listMode = 'list';
    s.listProgress = { objects: 0, remaining: undefined };
    const path = collectionPath(this.kind, this.#options.namespace);
    await this.#options.sink.listStart(this.kind.kind);
    let rv: string | undefined;
    for await (const page of listPages(this.#options.client, path, { pageSize: this.#options.pageSize, signal })) {
      rv = page.resourceVersion;
      await this.#options.sink.listPage(this.kind.kind, page.items);
      s.pages++;
      s.objectsListed += page.items.length;
      s.listProgress = { objects: s.listProgress.objects + page.items.length, remaining: page.remaining };
    }
    await this.#listDone(rv as string);
  }

  async #listDone(rv: string): Promise<void> {
    const s = this.#stats;
    await this.#options.sink.listDone(this.kind.kind, rv);
    s.resourceVersion = rv;
    s.synced = true;
    s.listProgress = undefined;
    this.#log.info({ resourceVersion: rv, objects: s.objectsListed, listMode: s.listMode }, 'list complete');
  }

  /**
   * The initial list as a WatchList (KEP-3157): one WATCH with `sendInitialEvents=true`, whose
   * synthetic ADDED events are the current state, one object per event (no page of hundreds of
   * megabytes, no continue requests), ended by a BOOKMARK annotated
   * `k8s.io/initial-events-end`; the same stream then goes on as the watch. Returns false when
   * the server refuses it (a 4xx on the request, as servers without WatchList answer
   * `resourceVersionMatch` on a watch, or a plain bookmark before the end marker, which means
   * the parameter was ignored): the caller lists with pages, now and from then on.
   */
  async #watchList(signal: AbortSignal): Promise<boolean> {
    const s = this.#stats;
    const path = collectionPath(this.kind, this.#options.namespace);
    const what = `WATCH ${path} (WatchList)`;
    s.phase = 'listing';
    let body;
    try {
      body = await this.#options.client.openStream(
        path,
        { watch: true, sendInitialEvents: true, allowWatchBookmarks: true, resourceVersionMatch: 'NotOlderThan', timeoutSeconds: this.#timeoutSeconds() },
        signal,
      );
    } catch (err) {
      if (!isRefusal(err)) throw err;
      this.#refuseWatchList(toError(err).message);
      return false;
    }
    s.lists++;
    s.listMode = 'watch-list';
    s.listProgress = { objects: 0, remaining: undefined };
    await this.#options.sink.listStart(this.kind.kind);
    const pageSize = this.#options.pageSize;
    let page: RawObject[] = [];
    const flush = async (): Promise<void> => {
      if (page.length === 0) return;
      const items = page;
      page = [];
      await this.#options.sink.listPage(this.kind.kind, items);
      s.pages++;
      s.objectsListed += items.length;
      s.listProgress = { objects: (s.listProgress?.objects ?? 0) + items.length, remaining: undefined };
    };
    const events = readWatchEvents(body, { idleTimeoutMs: this.#options.idleTimeoutMs, what });
    for await (const event of events) {
      if (event.type === 'BOOKMARK') {
        if (!event.initialEventsEnd) {
          await events.return(undefined);
          this.#refuseWatchList('a bookmark came before the initial-events-end bookmark (the server ignored sendInitialEvents)');
          return false;
        }
        await flush();
        await this.#listDone(event.resourceVersion);
        s.phase = 'watching';
        this.#backoff.reset();
        await this.#consume(events, signal, this.#clock.now());
        return true;
      }
      if (event.type === 'DELETED') {
        throw new SourceError('SOURCE_WATCH_LIST_INVALID', `${what}: a DELETED event among the initial events; listing again`, { errorClass: 'retriable' });
      }
      page.push(event.object);
      if (page.length >= pageSize) await flush();
    }
    // The stream ended before the initial events did (timeout, dropped connection): list again.
    throw new SourceError('SOURCE_WATCH_LIST_INCOMPLETE', `${what}: the stream ended before the initial-events-end bookmark; listing again`, { errorClass: 'retriable' });
  }

  #refuseWatchList(reason: string): void {
    this.#watchListUsable = false;
    this.#log.info({ reason }, 'the API server does not serve WatchList; listing with pages instead');
  }

  #timeoutSeconds(): number {
    const { min, max } = this.#options.watchTimeoutSeconds;
    return Math.round(min + (max - min) * this.#random());
  }

  async #watch(signal: AbortSignal): Promise<void> {
    const s = this.#stats;
    s.phase = 'watching';
    const path = collectionPath(this.kind, this.#options.namespace);
    const startedAt = this.#clock.now();
    const body = await this.#options.client.openStream(
      path,
      { watch: true, allowWatchBookmarks: true, resourceVersion: s.resourceVersion, timeoutSeconds: this.#timeoutSeconds() },
      signal,
    );
    const what = `WATCH ${path} from resourceVersion ${s.resourceVersion}`;
    await this.#consume(readWatchEvents(body, { idleTimeoutMs: this.#options.idleTimeoutMs, what }), signal, startedAt);
  }

  /** Delivers watch events until the server ends the stream (then the caller watches again). */
  async #consume(events: AsyncGenerator<WatchEvent>, signal: AbortSignal, startedAt: number): Promise<void> {
    const s = this.#stats;
    let delivered = 0;
    for await (const event of events) {
      if (event.type === 'BOOKMARK') {
        await this.#options.sink.bookmark(this.kind.kind, event.resourceVersion);
        s.bookmarks++;
        s.resourceVersion = event.resourceVersion;
      } else {
        await this.#options.sink.event(this.kind.kind, event.type, event.object);
        s.events++;
        const rv = event.object.metadata?.resourceVersion;
        if (typeof rv === 'string' && rv !== '') s.resourceVersion = rv;
      }
      if (delivered++ === 0) this.#backoff.reset();
    }
    // The server ended the watch (timeoutSeconds): resume at once, unless it keeps ending
    // watches immediately, which would turn this loop into a request storm.
    s.watchRestarts++;
    if (delivered === 0 && this.#clock.now() - startedAt < 1_000) await this.#sleep(this.#backoff.next(), signal);
  }

  async #recover(err: unknown, signal: AbortSignal): Promise<void> {
    const s = this.#stats;
    const error = toError(err);
    s.errors++;
    s.lastError = error.message;
    const errorClass = classifyError(err);
    if (error instanceof SourceError && error.code === 'SOURCE_WATCH_IDLE') s.idleRestarts++;
    if (errorClass === 'forbidden' && this.kind.optional) {
      // An optional kind (WatchedKind.optional) we may not read: going on without it beats a
      // sync that never completes because a ClusterRole lacks one resource.
      s.phase = 'unsupported';
      this.#log.warn({ err: error }, `not allowed to list and watch ${this.kind.plural}.${this.kind.group}; going on without this optional kind (grant list and watch on it to use it)`);
      throw error;
    }
    switch (errorClass) {
      case 'expired':
        this.#log.warn({ err: error, resourceVersion: s.resourceVersion }, 'resourceVersion expired; listing again');
        s.resourceVersion = undefined;
        s.relists++;
        // A short pause so a server that answers 410 to everything is not hammered.
        await this.#sleep(Math.min(1_000, this.#backoff.next()), signal);
        return;
      case 'unsupported':
        s.phase = 'unsupported';
        this.#log.warn({ err: error }, 'the API server does not serve this kind');
        throw error;
      case 'forbidden':
      case 'retriable': {
        const retryAfterMs = error instanceof SourceError && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : 0;
        const delay = Math.max(retryAfterMs, this.#backoff.next());
        const level = errorClass === 'forbidden' || this.#backoff.attempt > 3 ? 'error' : 'warn';
        this.#log[level]({ err: error, delayMs: delay, resourceVersion: s.resourceVersion }, 'list/watch failed; retrying');
        s.watchRestarts++;
        await this.#sleep(delay, signal);
        return;
      }
    }
  }

  async #sleep(ms: number, signal: AbortSignal): Promise<void> {
    const previous = this.#stats.phase;
    this.#stats.phase = 'backoff';
    await this.#clock.sleep(ms, signal);
    this.#stats.phase = previous;
  }
}
