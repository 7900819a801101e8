import { LogError, LogErrorCode } from './errors.ts';
import { historyKey } from './keys.ts';
import { historyPayload } from './record-codec.ts';
import type { StoreReader } from './store.ts';

/**
 * The payloads of `versions`, read from their history records (a payload is stored once, in
 * h/; state entries point at it and keep it from compaction). A missing record means the store
 * is damaged: LogError LOG_RECORD_CORRUPT.
 */
export async function readPayloads(reader: StoreReader, versions: readonly number[], what: string): Promise<Uint8Array[]> {
  const keys = versions.map(historyKey);
  const values = await reader.getMany(keys);
  return values.map((value, i) => {
    const key = keys[i] as string;
    if (value === undefined) {
      throw new LogError(
        LogErrorCode.RECORD_CORRUPT,
        `history record ${key} is missing although ${what} points at it; the store is damaged: restore it from ` +
          'a backup or start a new store (consumers re-bootstrap, docs/design.md §7)',
      );
    }
    // Only the payload: decoding the record's names too cost a quarter of a read (tail-records.ts).
    return historyPayload(value, key);
  });
}
