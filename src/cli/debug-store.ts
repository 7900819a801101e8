// `kubemeta debug store`: raw key ranges of the store, read-only (stores/lmdb-readonly.ts for
// what "read-only" means on LMDB, also while the service runs). Each value is decoded where the
// key's kind is known (log/store-dump.ts), raw hex otherwise.
import { describeStoreEntry, keyAfter, prefixRange, type DumpedEntry } from '../log/index.ts';
import { DebugError, openStoreReadOnly, table, type StoreTarget } from './debug-scope.ts';

export interface StoreDumpOptions extends StoreTarget {
  /** Keys starting with this (default: every key). */
  readonly prefix?: string;
  /** Start after this key (paging: the `next` of the previous dump). */
  readonly after?: string;
  /** Most entries (default 100). */
  readonly limit: number;
}

export interface StoreDump {
  readonly backend: string;
  readonly location: string;
  readonly access: string;
  readonly entries: readonly DumpedEntry[];
  /** The last key shown when more follow: pass it as --after. */
  readonly next?: string;
}

const MAX_LIMIT = 100_000;

export async function dumpStore(o: StoreDumpOptions): Promise<StoreDump> {
  if (!Number.isInteger(o.limit) || o.limit < 1 || o.limit > MAX_LIMIT) throw new DebugError(`--limit must be an integer in 1..${MAX_LIMIT}, got ${o.limit}`);
  if (o.prefix !== undefined && !/^[\x20-\x7e]*$/.test(o.prefix)) throw new DebugError('--prefix must be printable ASCII (store keys are, docs/operating.md "Debug dumps")');
  const range = prefixRange(o.prefix ?? '');
  const start = o.after !== undefined && keyAfter(o.after) > range.start ? keyAfter(o.after) : range.start;
  const store = await openStoreReadOnly(o);
  try {
    // One more than asked: tells whether a next page exists without a second read.
    const rows = await store.scan({ start, end: range.end, limit: o.limit + 1 });
    const shown = rows.slice(0, o.limit);
    const entries = shown.map(([key, value]) => describeStoreEntry(key, value));
    const last = shown.at(-1);
    return { backend: store.backend, location: store.location, access: store.access, entries, ...(rows.length > o.limit && last ? { next: last[0] } : {}) };
  } finally {
    await store.close();
  }
}

export function formatStoreDump(d: StoreDump): string {
  const lines = [`${d.backend} store ${d.location} (${d.access}): ${d.entries.length} entries${d.next !== undefined ? `; more after ${JSON.stringify(d.next)} (--after)` : ''}`, ''];
  const value = (e: DumpedEntry): string => {
    const text = e.value !== undefined ? JSON.stringify(e.value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) : `hex ${e.hex ?? ''}`;
    const shown = text.length > 200 ? `${text.slice(0, 197)}...` : text;
    return e.error !== undefined ? `${shown} (does not decode: ${e.error})` : shown;
  };
  lines.push(...table(['KEY', 'KIND', 'BYTES', 'VALUE'], d.entries.map((e) => [e.key, e.kind, String(e.bytes), value(e)])));
  return lines.join('\n') + '\n';
}
