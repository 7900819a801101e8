/**
 * The history reads of one tail page (tail.ts): the payloads of a run of versions of a scope,
 * from their h/ records, up to a byte budget.
 *
 * Two ways to read them, chosen per page by density (how many of the versions between the first
 * and the last one belong to the page):
 *
 * - `get`: one point read per version (getMany). Right for a sparse scope (a node scope sees a
 *   small share of all versions): a range read would fetch mostly other scopes' records.
 * - `scan`: ONE range read of h/ over [first, last] of the page, skipping the records of other
 *   scopes. Right for a dense scope (the cluster scope carries nearly every version; so does a
 *   node scope while only its pods churn): one request instead of one per record.
 *
 * A scan is not the big win it looks like on LMDB: lmdb-js answers both in-process, a cursor step
 * costs about what a point read's B-tree descent costs, and both copy each value into a fresh
 * buffer (lmdb-js `get` and `getRange` return copies, never views into its reused read buffer,
 * so the payload handed on here as a subarray of that copy stays valid). That copy (an
 * off-heap ArrayBuffer per record, ~0.7 µs for a 500-byte payload) and the native call are
 * three quarters of what a tail read costs, and neither can be avoided through StoreReader.
 * Measured (readTail over a 100,000-update dense tail, 560-entry pages, CPU): 375 ms before
 * this file, 288 ms reading by key, 248 ms scanning. Scanning loses as soon as the range holds
 * other scopes' records (they are read and copied too): see DENSE_SCAN_MAX_SPAN. On etcd a page
 * scan is one range request against ceil(n / --max-txn-ops) transactions of point reads: a
 * 10,000-update dense tail took 220–290 ms scanned, 310–370 ms by key (about even at half
 * density).
 *
 * The payload is taken out of a history record without decoding the rest of it (object key,
 * kind, scope names as strings): see historyPayload.
 */
import { historyKey, historyRange, versionFromHistoryKey } from './keys.ts';
import { historyPayload } from './record-codec.ts';
import type { StoreReader } from './store.ts';

export type HistoryReadMode = 'auto' | 'scan' | 'get';

/**
 * `auto` reads a page's records with one range scan when the page spans at most this many
 * versions per record it needs, i.e. when at least 1 / DENSE_SCAN_MAX_SPAN (80 %) of the
 * records in the range are the page's own. Every record of another scope inside the range is
 * read, copied and dropped at about the cost of a wanted one. Measured on LMDB (60,000
 * updates, 150–800 B payloads, 560-entry pages, CPU per entry returned, median of 11): density
 * 1: scan 3.4 µs, by key 4.1 µs; 4/5: 3.7 / 3.6; 2/3: 4.2 / 3.6; 1/2: 5.0 / 3.8; 1/3: 7.1 /
 * 4.3. So the bound sits at the break-even: a page that is nearly all the scope's own records
 * (the cluster scope; a node scope whose pods are the only ones changing) is scanned, anything
 * sparser (a node scope in a busy cluster) is read by key.
 */
export const DENSE_SCAN_MAX_SPAN = 1.25;

export interface PayloadRun {
  /** Payloads of versions[0 .. payloads.length - 1]. */
  payloads: Uint8Array[];
  /** The record of versions[payloads.length] is absent (compacted away): the page stops there. */
  missing: boolean;
}

/**
 * The payloads of `versions` (ascending, distinct), in order, stopping after the first one that
 * brings their total to `maxBytes` or more (so at least one when any is read), or at the first
 * version whose history record is absent (`missing`). Records after the stop are not decoded
 * (and not checked for presence), as readTail always did.
 */
export async function readPayloadRun(
  reader: StoreReader,
  versions: readonly number[],
  maxBytes: number,
  mode: HistoryReadMode = 'auto',
): Promise<PayloadRun> {
  const n = versions.length;
  const payloads: Uint8Array[] = [];
  if (n === 0) return { payloads, missing: false };
  const first = versions[0] as number;
  const last = versions[n - 1] as number;
  const span = last - first + 1;
  const scan = mode === 'scan' || (mode === 'auto' && span <= n * DENSE_SCAN_MAX_SPAN);
  let bytes = 0;
  if (scan) {
    const rows = await reader.scan({ ...historyRange(first, last + 1), limit: span });
    let r = 0;
    for (let i = 0; i < n && (i === 0 || bytes < maxBytes); i++) {
      const version = versions[i] as number;
      let row: [string, Uint8Array] | undefined;
      // Skip the records in the range that are not on this scope.
      while (r < rows.length) {
        const candidate = rows[r] as [string, Uint8Array];
        const v = versionFromHistoryKey(candidate[0]);
        if (v > version) break;
        r++;
        if (v === version) {
          row = candidate;
          break;
        }
      }
      if (row === undefined) return { payloads, missing: true };
      const payload = historyPayload(row[1], row[0]);
      payloads.push(payload);
      bytes += payload.byteLength;
    }
    return { payloads, missing: false };
  }
  const keys = versions.map(historyKey);
  const records = await reader.getMany(keys);
  for (let i = 0; i < n && (i === 0 || bytes < maxBytes); i++) {
    const record = records[i];
    if (record === undefined) return { payloads, missing: true };
    const payload = historyPayload(record, keys[i] as string);
    payloads.push(payload);
    bytes += payload.byteLength;
  }
  return { payloads, missing: false };
}
