import type { ServerResponse } from 'node:http';
import type { Clock, ObjectEventType } from '../../core/index.ts';
import type { ClusterModel } from '../model/cluster-model.ts';
import { SimApiError } from '../model/errors.ts';
import type { DropMode, SimFaults } from './faults.ts';
import { BodyWriter, statusObject } from './http-io.ts';
import { parseResourceVersion } from './list.ts';
import type { LoadCounters, WatchCloseReason } from './load-counters.ts';
import { representationKey, singleJson, watchContentTypeOf, type Negotiated } from './media.ts';
import type { ModelEvent, StoredObject } from '../model/objects.ts';
import { encodeJsonObject, encodeStored } from './protobuf/protobuf-codec.ts';
import { watchFrame } from './protobuf/protobuf-wire.ts';
import { apiVersionOf, type ResourceInfo } from '../model/resources.ts';
import { isTrue } from './routing.ts';
import type { ObjectFilter } from './selectors.ts';

/**
 * WATCH streams: newline-delimited `{"type":...,"object":...}` events built from each record's
 * cached JSON, or, when the client negotiated protobuf, length-prefixed WatchEvent frames built
 * from each record's cached protobuf bytes (protobuf-wire.ts).
 *
 * The hub subscribes to the model once and fans each committed event out to the watchers of
 * its kind, synchronously: a live watcher has been handed every event up to the model's
 * resourceVersion, so a BOOKMARK carrying that resourceVersion never precedes an event it
 * covers. It never writes to the model.
 *
 * A watcher starts in `init`: it sends its initial events (synthetic ADDED for the current
 * state when resourceVersion is unset or "0", the model's history after N otherwise) with
 * backpressure, while live events queue up to `maxPendingEvents`; then it turns `live`.
 * A live watcher whose socket buffer grows past `maxBufferBytes`, or an init watcher whose
 * queue overflows, is closed and counted as slow: the real API server drops unresponsive
 * watchers the same way, and clients resume from their last resourceVersion.
 *
 * Selectors apply as in the real watch cache: an object that stops matching is sent as
 * DELETED (its previous state at the new resourceVersion), one that starts matching as ADDED.
 * The previous state comes from a shadow map the hub keeps per kind while selective watchers
 * exist. For events replayed from history the previous state may be unknown: then a matching
 * object is sent as MODIFIED and a non-matching one as DELETED (harmless if the client never
 * had it).
 */
export interface WatchHubOptions {
  readonly model: ClusterModel;
  readonly counters: LoadCounters;
  readonly faults: SimFaults;
  readonly clock: Clock;
  /** Interval of BOOKMARK events for `allowWatchBookmarks=true` (real API server: about 60 s). */
  readonly bookmarkIntervalMs: number;
  /** Watches without `timeoutSeconds` end after a random time in [max, 2·max), as real ones do. */
  readonly maxWatchTimeoutMs: number;
  /** Bytes a watcher may have buffered unsent before it is closed as slow. */
  readonly maxBufferBytes: number;
  /** Live events a watcher may queue while it sends its initial events. */
  readonly maxPendingEvents: number;
}

export interface WatchRequest {
  readonly info: ResourceInfo;
  readonly filter: ObjectFilter;
  readonly query: URLSearchParams;
  readonly negotiated: Negotiated;
}

/** A rendered event: a JSON line or a protobuf frame. */
type Frame = string | Buffer;

type Prev = StoredObject | undefined | 'unknown';
/** One event on its way to the watchers; `lines` caches its rendering per event type and representation. */
interface Pending {
  readonly event: ModelEvent;
  readonly prev: Prev;
  lines?: Map<string, Frame>;
}

export class WatchHub {
  readonly #options: WatchHubOptions;
  readonly #byKind = new Map<string, Set<Watcher>>();
  readonly #shadows = new Map<string, { map: Map<string, StoredObject>; users: number }>();
  readonly #unsubscribe: () => void;

  constructor(options: WatchHubOptions) {
    this.#options = options;
    this.#unsubscribe = options.model.subscribe((event) => this.#onEvent(event));
  }

  get open(): number {
    let n = 0;
    for (const set of this.#byKind.values()) n += set.size;
    return n;
  }

  /** Opens a watch on `res` (or answers it with an ERROR event when its resourceVersion expired). */
  start(res: ServerResponse, request: WatchRequest): void {
    const o = this.#options;
    const kind = request.info.kind;
    const rvParam = request.query.get('resourceVersion') ?? '';
    const sinceRv = rvParam === '' ? 0 : parseResourceVersion(rvParam);
    const initialEvents = request.query.get('sendInitialEvents');
    if (initialEvents !== null && (!isTrue(request.query.get('allowWatchBookmarks')) || request.query.get('resourceVersionMatch') !== 'NotOlderThan')) {
      throw new SimApiError('Invalid', 'sendInitialEvents requires allowWatchBookmarks=true and resourceVersionMatch=NotOlderThan');
    }
    const sendInitial = initialEvents === null ? sinceRv === 0 : isTrue(initialEvents);
    if (o.faults.takeExpire('watch')) {
      o.counters.faultsInjected++;
      return this.#expired(res, request, sinceRv);
    }
    // resourceVersion unset or "0" with sendInitialEvents=false: start now, without initial events.
    const fromNow = !sendInitial && sinceRv === 0;
    const history = sendInitial || fromNow ? [] : o.model.eventsSince(kind, sinceRv);
    if (history === 'expired') return this.#expired(res, request, sinceRv);
    const snapshot = sendInitial ? o.model.list(kind, { namespace: request.filter.namespace, nodeName: request.filter.nodeName }) : undefined;
    const minRv = sendInitial ? 0 : fromNow ? o.model.resourceVersion : sinceRv;
    const watcher = new Watcher(this, o, request, res, minRv, this.#timeoutMs(request.query));
    this.#add(watcher);
    res.writeHead(200, { 'Content-Type': watchContentTypeOf(request.negotiated), 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const initial: Pending[] = snapshot
      ? snapshot.items.map((stored): Pending => ({ event: { type: 'ADDED', stored }, prev: undefined }))
      : replayWithPrev(history);
    void watcher.run(initial, snapshot && initialEvents !== null ? snapshot.resourceVersion : undefined);
  }

  /** Closes every open watch (fault injection); returns how many. */
  dropAll(mode: DropMode, reason: WatchCloseReason = 'fault'): number {
    const all = [...this.#byKind.values()].flatMap((set) => [...set]);
    for (const w of all) w.close(reason, mode);
    return all.length;
  }

  /** Ends every watch and stops listening to the model. */
  close(): void {
    this.dropAll('end', 'shutdown');
    this.#unsubscribe();
  }

  remove(watcher: Watcher): void {
    this.#byKind.get(watcher.kind)?.delete(watcher);
    if (watcher.selective) {
      const shadow = this.#shadows.get(watcher.kind);
      if (shadow && --shadow.users === 0) this.#shadows.delete(watcher.kind);
    }
  }

  #add(watcher: Watcher): void {
    let set = this.#byKind.get(watcher.kind);
    if (!set) this.#byKind.set(watcher.kind, (set = new Set()));
    set.add(watcher);
    if (!watcher.selective) return;
    let shadow = this.#shadows.get(watcher.kind);
    if (!shadow) {
      const map = new Map(this.#options.model.list(watcher.kind).items.map((s) => [s.key, s]));
      this.#shadows.set(watcher.kind, (shadow = { map, users: 0 }));
    }
    shadow.users++;
  }

  #onEvent(event: ModelEvent): void {
    const kind = event.stored.kind;
    const shadow = this.#shadows.get(kind);
    const prev = shadow?.map.get(event.stored.key);
    const watchers = this.#byKind.get(kind);
    if (watchers && watchers.size > 0) {
      const pending: Pending = { event, prev };
      for (const w of watchers) w.offer(pending);
    }
    if (shadow) {
      if (event.type === 'DELETED') shadow.map.delete(event.stored.key);
      else shadow.map.set(event.stored.key, event.stored);
    }
  }

  /** Answers a watch from an expired resourceVersion: one ERROR event with a 410 Status, then the end. */
  #expired(res: ServerResponse, request: WatchRequest, sinceRv: number): void {
    const o = this.#options;
    o.counters.gone410++;
    const message = `too old resource version: ${sinceRv} (${o.model.oldestResumableRv(request.info.kind)})`;
    const status = statusObject({ code: 410, reason: 'Expired', message });
    delete status['details'];
    const frame = request.negotiated.encoding === 'protobuf' ? watchFrame('ERROR', encodeJsonObject(status)) : `{"type":"ERROR","object":${JSON.stringify(status)}}\n`;
    o.counters.watchBytes += Buffer.byteLength(frame);
    res.writeHead(200, { 'Content-Type': watchContentTypeOf(request.negotiated), 'Cache-Control': 'no-cache, private' });
    res.end(frame);
  }

  #timeoutMs(query: URLSearchParams): number {
    const raw = query.get('timeoutSeconds');
    if (raw !== null && raw !== '') {
      if (!/^\d+$/.test(raw)) throw new SimApiError('BadRequest', `timeoutSeconds must be a non-negative integer, got ${JSON.stringify(raw)}`);
      if (Number(raw) > 0) return Number(raw) * 1000;
    }
    const max = this.#options.maxWatchTimeoutMs;
    return max + Math.floor(Math.random() * max);
  }
}

/** History events with the previous state of each object where the history itself shows it. */
function replayWithPrev(history: readonly ModelEvent[]): Pending[] {
  const seen = new Map<string, StoredObject | undefined>();
  return history.map((event) => {
    const prev: Prev = seen.has(event.stored.key) ? seen.get(event.stored.key) : event.type === 'ADDED' ? undefined : 'unknown';
    seen.set(event.stored.key, event.type === 'DELETED' ? undefined : event.stored);
    return { event, prev };
  });
}

class Watcher {
  readonly kind: string;
  readonly selective: boolean;
  readonly #hub: WatchHub;
  readonly #options: WatchHubOptions;
  readonly #request: WatchRequest;
  readonly #res: ServerResponse;
  readonly #reprKey: string;
  readonly #minRv: number;
  #state: 'init' | 'live' | 'closed' = 'init';
  #pending: Pending[] = [];
  #timers: NodeJS.Timeout[] = [];

  constructor(hub: WatchHub, o: WatchHubOptions, request: WatchRequest, res: ServerResponse, minRv: number, timeoutMs: number) {
    this.kind = request.info.kind;
    this.selective = request.filter.selective;
    this.#hub = hub;
    this.#options = o;
    this.#request = request;
    this.#res = res;
    this.#reprKey = representationKey(request.negotiated);
    this.#minRv = minRv;
    o.counters.openWatches++;
    o.counters.watchesStarted++;
    res.on('close', () => this.close('client', 'end'));
    this.#timers.push(setTimeout(() => this.close('timeout', 'end'), timeoutMs));
    if (isTrue(request.query.get('allowWatchBookmarks')) && request.negotiated.representation.as !== 'table') {
      this.#timers.push(setInterval(() => this.#bookmark(), o.bookmarkIntervalMs));
    }
  }

  /** Sends the initial events with backpressure, then the events queued meanwhile, then goes live. */
  async run(initial: readonly Pending[], initialEventsEndRv: number | undefined): Promise<void> {
    // Initial events are coalesced into large writes; live events are written one by one.
    const writer = new BodyWriter(this.#res);
    const send = (line: Frame | undefined): Promise<boolean> | boolean => (line === undefined || this.#state !== 'init' ? this.#state === 'init' : writer.add(line));
    try {
      for (const p of initial) {
        const sent = send(this.#line(p));
        if (sent !== true && !(await sent)) return;
      }
      if (initialEventsEndRv !== undefined) {
        const sent = send(this.#bookmarkLine(initialEventsEndRv, true));
        if (sent !== true && !(await sent)) return;
      }
      for (;;) {
        const batch = this.#pending;
        this.#pending = [];
        for (const p of batch) {
          const sent = send(this.#line(p));
          if (sent !== true && !(await sent)) return;
        }
        const flushed = this.#state === 'init' && writer.flush();
        if (flushed !== true && !(await flushed)) return;
        // Nothing can be queued between this check and going live: both happen in one turn.
        if (this.#pending.length === 0) break;
      }
      this.#state = 'live';
    } finally {
      this.#options.counters.watchBytes += writer.bytes;
    }
  }

  /** Called by the hub, synchronously, for each committed event of this watcher's kind. */
  offer(p: Pending): void {
    if (this.#state === 'live') {
      const line = this.#line(p);
      if (line !== undefined) this.#write(line);
    }
    else if (this.#state === 'init') {
      if (this.#pending.length >= this.#options.maxPendingEvents) this.close('slow', 'reset');
      else this.#pending.push(p);
    }
  }

  close(reason: WatchCloseReason, mode: DropMode): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    for (const t of this.#timers) clearTimeout(t);
    this.#pending = [];
    this.#hub.remove(this);
    this.#options.counters.openWatches--;
    this.#options.counters.watchClosed(reason);
    if (mode === 'reset') this.#res.destroy();
    else this.#res.end();
  }

  /** The frame to send for `p`, if it concerns this watcher (and no fault drops it); counts the event. */
  #line(p: Pending): Frame | undefined {
    if (p.event.stored.rv <= this.#minRv) return undefined;
    const decided = decide(this.#request.filter, p);
    if (!decided) return undefined;
    if (this.#options.faults.takeEventDrop(this.kind)) {
      this.#options.counters.faultsInjected++;
      return undefined;
    }
    const key = `${decided.type}${decided.stored === p.event.stored ? '' : '~'}${this.#reprKey}`;
    let line = p.lines?.get(key);
    if (line === undefined) {
      const n = this.#request.negotiated;
      line =
        n.encoding === 'protobuf'
          ? watchFrame(decided.type, encodeStored(decided.stored))
          : `{"type":"${decided.type}","object":${singleJson(n.representation, decided.stored, this.#options.clock.now())}}\n`;
      (p.lines ??= new Map()).set(key, line);
    }
    this.#options.counters.watchEvents++;
    return line;
  }

  /** Writes a live frame; a watcher whose unsent bytes exceed the bound is dropped as slow. */
  #write(line: Frame): void {
    if (this.#state !== 'live') return;
    this.#options.counters.watchBytes += Buffer.byteLength(line);
    this.#res.write(line);
    if (this.#res.writableLength > this.#options.maxBufferBytes) this.close('slow', 'reset');
  }

  #bookmark(): void {
    if (this.#state !== 'live') return;
    if (this.#options.faults.takeEventDrop(this.kind)) {
      this.#options.counters.faultsInjected++;
      return;
    }
    this.#options.counters.watchBookmarks++;
    this.#write(this.#bookmarkLine(this.#options.model.resourceVersion, false));
  }

  #bookmarkLine(rv: number, initialEventsEnd: boolean): Frame {
    const r = this.#request.negotiated.representation;
    if (this.#request.negotiated.encoding === 'protobuf') {
      const metadata = { resourceVersion: String(rv), ...(initialEventsEnd ? { annotations: { 'k8s.io/initial-events-end': 'true' } } : {}) };
      return watchFrame('BOOKMARK', encodeJsonObject({ apiVersion: apiVersionOf(this.#request.info), kind: this.kind, metadata }));
    }
    const typeMeta = r.as === 'metadata' ? `"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/${r.version}"` : `"kind":"${this.kind}","apiVersion":"${apiVersionOf(this.#request.info)}"`;
    const annotations = initialEventsEnd ? ',"annotations":{"k8s.io/initial-events-end":"true"}' : '';
    return `{"type":"BOOKMARK","object":{${typeMeta},"metadata":{"resourceVersion":"${rv}","creationTimestamp":null${annotations}}}}\n`;
  }
}

/** What a watcher with `filter` is sent for event `p`, as the real watch cache decides it. */
function decide(filter: ObjectFilter, p: Pending): { type: ObjectEventType; stored: StoredObject } | undefined {
  const { type, stored } = p.event;
  const now = filter.matches(stored.object);
  if (!filter.selective || type !== 'MODIFIED') return now ? { type, stored } : undefined;
  const before = p.prev === 'unknown' ? undefined : p.prev;
  const was = p.prev === 'unknown' ? true : before !== undefined && filter.matches(before.object);
  if (now) return { type: was ? 'MODIFIED' : 'ADDED', stored };
  if (!was) return undefined;
  return { type: 'DELETED', stored: before ? atResourceVersion(before, stored.rv) : stored };
}

/** `stored` relabelled with a later resourceVersion (a DELETED sent because an object stopped matching). */
function atResourceVersion(stored: StoredObject, rv: number): StoredObject {
  const object = { ...stored.object, metadata: { ...stored.object.metadata, resourceVersion: String(rv) } };
  const json = stored.json.replace(`"resourceVersion":"${stored.rv}"`, `"resourceVersion":"${rv}"`);
  return { kind: stored.kind, key: stored.key, object, json, rv };
}
