import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Clock } from '../../core/index.ts';
import type { ClusterModel } from '../model/cluster-model.ts';
import { SimApiError } from '../model/errors.ts';
import type { SimFaults } from './faults.ts';
import { writeParts } from './http-io.ts';
import type { LoadCounters } from './load-counters.ts';
import { contentTypeOf, itemJson, listFrame, type Negotiated } from './media.ts';
import type { StoredObject } from '../model/objects.ts';
import { encodeList, type ListMetaJson } from './protobuf/protobuf-codec.ts';
import { apiVersionOf, type ResourceInfo } from '../model/resources.ts';
import { sendStatus } from './respond.ts';
import type { ObjectFilter } from './selectors.ts';

/**
 * LIST with `limit`/`continue` pagination over a consistent snapshot, as etcd gives the real
 * API server: the first page takes `model.list()` (an immutable array of immutable records)
 * and later pages are served from that same array, kept in a bounded LRU cache keyed by the
 * snapshot id inside the opaque continue token. Objects created or deleted between pages do
 * not appear or disappear. A token whose snapshot was evicted (cache bound or TTL), or whose
 * resourceVersion the model's history no longer reaches, is answered 410 Expired with a fresh
 * continue token for an inconsistent continuation, as the real server does after compaction.
 *
 * `resourceVersion` unset, "0" or N (with `resourceVersionMatch` unset or NotOlderThan) all
 * serve the current state, which is "not older than" any of them. `Exact` is served only for
 * the current resourceVersion (the sim keeps no old states). The sim honours `limit` also for
 * resourceVersion=0, where the real watch cache may ignore it; both are within the API contract.
 */
export interface ListSnapshotCacheOptions {
  /** Snapshots kept for continue tokens (default 32); the least recently used goes first. */
  maxSnapshots?: number;
  /** How long a continue token stays valid (default 5 minutes, etcd's compaction interval). */
  ttlMs?: number;
  clock: Clock;
}

interface Snapshot {
  readonly id: string;
  readonly filter: string;
  readonly items: readonly StoredObject[];
  readonly rv: number;
  readonly createdAt: number;
}

interface ContinueToken {
  v: 'kubemeta-sim/v1';
  rv: number;
  /** Index into the snapshot of the next item to consider. */
  off: number;
  /** Key of the last item served, for the continuation after expiry. */
  start: string;
  snap: string;
}

export class ListSnapshotCache {
  readonly #max: number;
  readonly #ttlMs: number;
  readonly #clock: Clock;
  readonly #snapshots = new Map<string, Snapshot>();
  #seq = 0;
  readonly #prefix = randomUUID().slice(0, 8);

  constructor(options: ListSnapshotCacheOptions) {
    this.#max = Math.max(1, options.maxSnapshots ?? 32);
    this.#ttlMs = options.ttlMs ?? 300_000;
    this.#clock = options.clock;
  }

  add(filter: string, items: readonly StoredObject[], rv: number): Snapshot {
    const snapshot = { id: `${this.#prefix}-${++this.#seq}`, filter, items, rv, createdAt: this.#clock.now() };
    this.#snapshots.set(snapshot.id, snapshot);
    for (const [id, s] of this.#snapshots) {
      if (this.#snapshots.size <= this.#max && !this.#expired(s)) break;
      this.#snapshots.delete(id);
    }
    return snapshot;
  }

  /** The snapshot, if still cached and not past its TTL; marks it most recently used. */
  get(id: string): Snapshot | undefined {
    const s = this.#snapshots.get(id);
    if (!s) return undefined;
    this.#snapshots.delete(id);
    if (this.#expired(s)) return undefined;
    this.#snapshots.set(id, s);
    return s;
  }

  clear(): void {
    this.#snapshots.clear();
  }

  #expired(s: Snapshot): boolean {
    return this.#clock.now() - s.createdAt > this.#ttlMs;
  }
}

export interface ListContext {
  readonly model: ClusterModel;
  readonly counters: LoadCounters;
  readonly faults: SimFaults;
  readonly snapshots: ListSnapshotCache;
  readonly clock: Clock;
}

export interface ListRequest {
  readonly info: ResourceInfo;
  readonly filter: ObjectFilter;
  readonly query: URLSearchParams;
  readonly negotiated: Negotiated;
}

const EXPIRED_CONTINUE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

export async function serveList(res: ServerResponse, request: ListRequest, ctx: ListContext): Promise<void> {
  const limit = parseLimit(request.query.get('limit'));
  const token = request.query.get('continue');
  let snapshot: { items: readonly StoredObject[]; rv: number; id?: string };
  let offset = 0;
  if (token) {
    const resumed = resume(res, request, ctx, token, limit);
    if (!resumed) return;
    ({ snapshot, offset } = resumed);
  } else {
    if (!checkResourceVersion(res, request, ctx)) return;
    const current = ctx.model.list(request.info.kind, { namespace: request.filter.namespace, nodeName: request.filter.nodeName });
    snapshot = { items: current.items, rv: current.resourceVersion };
  }
  const page = takePage(snapshot.items, offset, limit, request.filter);
  let continueToken: string | undefined;
  if (page.next < snapshot.items.length) {
    const cached = snapshot.id !== undefined ? snapshot : ctx.snapshots.add(request.filter.description, snapshot.items, snapshot.rv);
    continueToken = encodeToken({ v: 'kubemeta-sim/v1', rv: snapshot.rv, off: page.next, start: page.lastKey, snap: cached.id as string });
  }
  const remaining = continueToken !== undefined && !request.filter.selective ? snapshot.items.length - page.next : undefined;
  const meta: ListMetaJson = {
    resourceVersion: String(snapshot.rv),
    ...(continueToken !== undefined ? { continue: continueToken } : {}),
    ...(remaining !== undefined ? { remainingItemCount: remaining } : {}),
  };
  await writeList(res, request, ctx, page.items, meta);
}

function resume(res: ServerResponse, request: ListRequest, ctx: ListContext, raw: string, limit: number): { snapshot: { items: readonly StoredObject[]; rv: number; id: string }; offset: number } | undefined {
  const rv = request.query.get('resourceVersion');
  if (rv !== null && rv !== '') throw new SimApiError('BadRequest', 'specifying resource version is not allowed when using continue');
  const token = decodeToken(raw);
  const snapshot = ctx.snapshots.get(token.snap);
  if (snapshot && snapshot.filter !== request.filter.description) {
    throw new SimApiError('BadRequest', 'the continue token was issued for a different list (resource, namespace or selectors): repeat the original request with it');
  }
  const forced = ctx.faults.takeExpire('continue');
  if (forced) ctx.counters.faultsInjected++;
  if (!snapshot || forced || token.rv < ctx.model.oldestResumableRv(request.info.kind)) {
    sendExpiredContinue(res, request, ctx, token.start, limit);
    return undefined;
  }
  return { snapshot, offset: token.off };
}

/** 410 Expired with a continue token over the current state, starting after the last key served. */
function sendExpiredContinue(res: ServerResponse, request: ListRequest, ctx: ListContext, lastKey: string, limit: number): void {
  ctx.counters.gone410++;
  const current = ctx.model.list(request.info.kind, { namespace: request.filter.namespace, nodeName: request.filter.nodeName });
  const offset = firstIndexAfter(current.items, lastKey);
  let metadata: { continue?: string } = {};
  if (limit > 0 && offset < current.items.length) {
    const snapshot = ctx.snapshots.add(request.filter.description, current.items, current.resourceVersion);
    metadata = { continue: encodeToken({ v: 'kubemeta-sim/v1', rv: current.resourceVersion, off: offset, start: lastKey, snap: snapshot.id }) };
  }
  sendStatus(res, { code: 410, reason: 'Expired', message: EXPIRED_CONTINUE, metadata }, request.negotiated.encoding);
}

/** Validates resourceVersion/resourceVersionMatch of a first page; answers the error itself. */
function checkResourceVersion(res: ServerResponse, request: ListRequest, ctx: ListContext): boolean {
  const raw = request.query.get('resourceVersion');
  const match = request.query.get('resourceVersionMatch');
  if (match !== null && match !== '' && match !== 'NotOlderThan' && match !== 'Exact') {
    throw new SimApiError('BadRequest', `resourceVersionMatch must be NotOlderThan or Exact, got ${JSON.stringify(match)}`);
  }
  if (raw === null || raw === '') {
    if (match) throw new SimApiError('BadRequest', 'resourceVersionMatch is forbidden unless resourceVersion is provided');
    return true;
  }
  const rv = parseResourceVersion(raw);
  const current = ctx.model.resourceVersion;
  if (rv > current) {
    const details = { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 };
    sendStatus(res, { code: 504, reason: 'Timeout', message: `Too large resource version: ${rv}, current: ${current}`, details }, request.negotiated.encoding);
    return false;
  }
  if (match === 'Exact' && rv !== 0 && rv !== current) {
    ctx.counters.gone410++;
    throw new SimApiError('Expired', `The resourceVersion for the provided list is too old (kubemeta sim serves resourceVersionMatch=Exact only for the current resourceVersion ${current}): list with resourceVersionMatch=NotOlderThan or without a resourceVersion`);
  }
  return true;
}

export function parseResourceVersion(raw: string): number {
  if (!/^\d+$/.test(raw)) throw new SimApiError('BadRequest', `invalid resource version ${JSON.stringify(raw)}: resourceVersion is an opaque string from a previous response, not a timestamp or a name`);
  return Number(raw);
}

function parseLimit(raw: string | null): number {
  if (raw === null || raw === '') return 0;
  if (!/^-?\d+$/.test(raw)) throw new SimApiError('BadRequest', `limit must be an integer, got ${JSON.stringify(raw)}`);
  return Math.max(0, Number(raw));
}

/** Up to `limit` matching items from `offset`; `next` is where the next page starts (at its first match). */
function takePage(items: readonly StoredObject[], offset: number, limit: number, filter: ObjectFilter): { items: StoredObject[]; next: number; lastKey: string } {
  const selected: StoredObject[] = [];
  let i = offset;
  if (!filter.selective) {
    const end = limit > 0 ? Math.min(items.length, offset + limit) : items.length;
    for (; i < end; i++) selected.push(items[i] as StoredObject);
  } else {
    for (; i < items.length && (limit === 0 || selected.length < limit); i++) {
      const item = items[i] as StoredObject;
      if (filter.matches(item.object)) selected.push(item);
    }
    // Look ahead to the next match, so a list never ends with an empty page and a needless token.
    while (i < items.length && !filter.matches((items[i] as StoredObject).object)) i++;
  }
  return { items: selected, next: i, lastKey: selected[selected.length - 1]?.key ?? '' };
}

function firstIndexAfter(items: readonly StoredObject[], key: string): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((items[mid] as StoredObject).key <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function listMetaJson(meta: ListMetaJson): string {
  let json = `{"resourceVersion":"${meta.resourceVersion}"`;
  if (meta.continue !== undefined) json += `,"continue":"${meta.continue}"`;
  if (meta.remainingItemCount !== undefined) json += `,"remainingItemCount":${meta.remainingItemCount}`;
  return `${json}}`;
}

async function writeList(res: ServerResponse, request: ListRequest, ctx: ListContext, items: readonly StoredObject[], meta: ListMetaJson): Promise<void> {
  const { info, negotiated } = request;
  const representation = negotiated.representation;
  const now = ctx.clock.now();
  function* jsonParts(): Generator<string> {
    const frame = listFrame(representation, info.kind, info.listKind, apiVersionOf(info), listMetaJson(meta));
    yield frame.head;
    for (let i = 0; i < items.length; i++) {
      // The comma is its own part: `,${json}` would build a rope that must be flattened (copied) to be written.
      if (i > 0) yield ',';
      yield itemJson(representation, items[i] as StoredObject, now);
    }
    yield frame.tail;
  }
  res.writeHead(200, { 'Content-Type': contentTypeOf(negotiated, true), 'Cache-Control': 'no-cache, private' });
  const parts = negotiated.encoding === 'protobuf' ? encodeList(apiVersionOf(info), info.listKind, meta, items) : jsonParts();
  const bytes = await writeParts(res, parts);
  ctx.counters.listObjects += items.length;
  ctx.counters.listBytes += bytes;
}

function encodeToken(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64');
}

function decodeToken(raw: string): ContinueToken {
  try {
    const token = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as Partial<ContinueToken>;
    if (token.v === 'kubemeta-sim/v1' && typeof token.rv === 'number' && typeof token.off === 'number' && typeof token.snap === 'string' && typeof token.start === 'string') {
      return token as ContinueToken;
    }
  } catch {
    // fall through to the error below
  }
  throw new SimApiError('BadRequest', 'continue key is not valid: pass the metadata.continue value of the previous page unchanged');
}
