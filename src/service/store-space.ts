import { statfs } from 'node:fs/promises';
import type { StoreSpec } from '../config/index.ts';

/**
 * Bytes still free for the store (metric `kubemeta_store_available_bytes`): for LMDB, what the
 * filesystem of its directory has left for this user (the file grows into it; LMDB's map grows
 * by itself, so the disk is the limit, and a full disk stops every commit: STORE_FULL). etcd has
 * its own quota and metrics (`etcd_mvcc_db_total_size_in_bytes`, `etcd_server_quota_backend_bytes`):
 * undefined there. Undefined too while the directory cannot be read.
 */
export async function storeAvailableBytes(store: StoreSpec): Promise<number | undefined> {
  if (store.kind !== 'lmdb') return undefined;
  try {
    const s = await statfs(store.path);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}
