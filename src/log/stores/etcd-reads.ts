/**
 * Reads of the etcd store at a revision (see etcd-store.ts, "Read views"): the revisions that
 * views and multi-request reads still use, the read point of one read, and the reads themselves.
 */
import type { Etcd3, IKeyValue, IRangeRequest, IRequestOp, IResponseHeader } from 'etcd3';
import type { ScanOptions } from '../store.ts';
import { messageOf, type EtcdConfig } from './etcd-config.ts';

/** Keys per range request of a scan. */
const SCAN_PAGE = 1000;
const ZERO = Buffer.from([0]);

/** Revisions still read by views and multi-request reads: etcd's history must stay there. */
export class RevisionPins {
  readonly #counts = new Map<number, number>();

  add(revision: number): void {
    this.#counts.set(revision, (this.#counts.get(revision) ?? 0) + 1);
  }

  remove(revision: number): void {
    const n = (this.#counts.get(revision) ?? 0) - 1;
    if (n > 0) this.#counts.set(revision, n);
    else this.#counts.delete(revision);
  }

  min(): number | undefined {
    let min: number | undefined;
    for (const revision of this.#counts.keys()) if (min === undefined || revision < min) min = revision;
    return min;
  }
}

/**
 * Where a read looks: a view's fixed revision, or for a store read the revision its first
 * request saw (pinned until the read ends; before that, pinned at the newest revision seen).
 */
export class ReadPoint {
  revision: number | undefined;
  readonly #pins: RevisionPins;
  #pinned: number | undefined;

  /** `floor`: the newest revision seen so far; the first request will see at least that one. */
  constructor(pins: RevisionPins, floor: number) {
    this.#pins = pins;
    this.#pinned = floor;
    pins.add(floor);
  }

  settle(header: IResponseHeader): void {
    if (this.revision !== undefined) return;
    const revision = Number(header.revision);
    this.revision = revision;
    if (this.#pinned === undefined) return; // released already
    this.#pins.add(revision);
    this.#pins.remove(this.#pinned);
    this.#pinned = revision;
  }

  release(): void {
    if (this.#pinned !== undefined) this.#pins.remove(this.#pinned);
    this.#pinned = undefined;
  }
}

/** The read operations, shared by the store and its views. */
export class EtcdReads {
  readonly #kv: Etcd3['kv'];
  readonly #prefix: string;
  readonly #maxTxnOps: number;

  constructor(kv: Etcd3['kv'], config: EtcdConfig) {
    this.#kv = kv;
    this.#prefix = config.prefix;
    this.#maxTxnOps = config.maxTxnOps;
  }

  key(key: string): Buffer {
    return Buffer.from(this.#prefix + key, 'latin1');
  }

  #unkey(kv: IKeyValue): string {
    return kv.key.toString('latin1', this.#prefix.length);
  }

  async get(key: string, at: ReadPoint): Promise<Uint8Array | undefined> {
    const res = await this.#atRevision(at, (serializable) => this.#kv.range({ key: this.key(key), revision: at.revision ?? 0, serializable }));
    return res.kvs[0]?.value;
  }

  async getMany(keys: readonly string[], at: ReadPoint): Promise<Array<Uint8Array | undefined>> {
    if (keys.length === 0) return [];
    const chunks: string[][] = [];
    for (let i = 0; i < keys.length; i += this.#maxTxnOps) chunks.push(keys.slice(i, i + this.#maxTxnOps));
    // Without a revision yet, the first chunk settles the one the others read at.
    const first = at.revision === undefined ? await this.#getChunk(chunks.shift() ?? [], at) : [];
    const rest = await Promise.all(chunks.map((chunk) => this.#getChunk(chunk, at)));
    return first.concat(...rest);
  }

  /** Point reads as one read-only Txn (at most --max-txn-ops of them). */
  async #getChunk(keys: readonly string[], at: ReadPoint): Promise<Array<Uint8Array | undefined>> {
    const res = await this.#atRevision(at, (serializable) => {
      const revision = at.revision ?? 0;
      return this.#kv.txn({ success: keys.map((key): IRequestOp => ({ request_range: { key: this.key(key), revision, serializable } })) });
    });
    return res.responses.map((r) => r.response_range?.kvs[0]?.value);
  }

  /** [start, end) in pages of SCAN_PAGE keys; reverse scans sort on the server (etcd reads the whole range then). */
  async scan(options: ScanOptions, at: ReadPoint): Promise<Array<[string, Uint8Array]>> {
    const { start, end, limit, reverse } = options;
    const out: Array<[string, Uint8Array]> = [];
    if (!(start < end) || limit === 0) return out;
    let lo = this.key(start);
    let hi = this.key(end);
    for (;;) {
      const want = limit === undefined ? SCAN_PAGE : Math.min(SCAN_PAGE, limit - out.length);
      const res = await this.#atRevision(at, (serializable) => {
        const request: IRangeRequest = { key: lo, range_end: hi, limit: want, revision: at.revision ?? 0, serializable };
        return this.#kv.range(reverse ? { ...request, sort_order: 'Descend', sort_target: 'Key' } : request);
      });
      for (const kv of res.kvs) out.push([this.#unkey(kv), kv.value]);
      const last = res.kvs.at(-1);
      if (!res.more || last === undefined || (limit !== undefined && out.length >= limit)) return out;
      if (reverse) hi = last.key;
      else lo = Buffer.concat([last.key, ZERO]);
    }
  }

  /**
   * Runs `request` at the read point and settles it. A read at a known revision is served by the
   * member it reaches without a consensus round (the data of a revision never changes); a member
   * that has not applied that revision yet refuses ("future revision"), and the read is asked
   * again linearizably.
   */
  async #atRevision<T extends { header: IResponseHeader }>(at: ReadPoint, request: (serializable: boolean) => Promise<T>): Promise<T> {
    let res: T;
    if (at.revision === undefined) {
      res = await request(false);
    } else {
      try {
        res = await request(true);
      } catch (err) {
        if (!/required revision is a future revision/i.test(messageOf(err))) throw err;
        res = await request(false);
      }
    }
    at.settle(res.header);
    return res;
  }
}
