/**
 * Writer fencing for high availability (issue 5). Leader election hands each leadership a
 * term that only grows (the Lease's leaseTransitions). Before a new leader opens the log it
 * claims the store's fence with its term; from then on every commit of its log — updates,
 * compaction, registry metadata — is guarded on the fence still holding its own token. A
 * deposed leader that is merely slow (a GC pause, a partition) finds the fence moved and its
 * commits refused (LOG_WRITER_FENCED): it can neither commit nor, since it only publishes what
 * it committed, publish (docs/design.md §3). The log's head guard alone would not do: it lets the
 * old leader commit until the new one's first commit, and then fails the NEW leader.
 */
import { LogError, LogErrorCode, isStoreError } from './errors.ts';
import { FENCE_KEY } from './keys.ts';
import type { CommitGuard, UpdateStore } from './store.ts';

export interface WriterToken {
  /** The leadership's term: strictly greater than every earlier leader's. */
  term: number;
  /** Who holds it (for messages). */
  identity: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeToken(token: WriterToken): Uint8Array {
  return encoder.encode(`${token.term} ${token.identity}`);
}

/** The stored token, or undefined for none / not ours to read (then it is replaced). */
export function decodeWriterToken(bytes: Uint8Array | undefined): WriterToken | undefined {
  if (bytes === undefined) return undefined;
  const text = decoder.decode(bytes);
  const space = text.indexOf(' ');
  const term = Number(text.slice(0, space));
  if (space < 0 || !Number.isSafeInteger(term) || term < 0) return undefined;
  return { term, identity: text.slice(space + 1) };
}

/**
 * Claims the store for `token` and returns the guard every later commit must carry (pass it to
 * UpdateLog.open as `fence`). Throws LogError WRITER_FENCED when the store is already claimed
 * by a newer term (this process lost an election it thought it won). Retries while other
 * claims race it; each claim is one compare-and-commit.
 */
export async function claimWriterFence(store: UpdateStore, token: WriterToken): Promise<CommitGuard> {
  if (!Number.isSafeInteger(token.term) || token.term < 0) throw new RangeError(`a writer term must be a non-negative integer, got ${token.term}`);
  const mine = encodeToken(token);
  for (let attempt = 0; attempt < 100; attempt++) {
    const current = await store.get(FENCE_KEY);
    const holder = decodeWriterToken(current);
    if (holder && holder.term > token.term) {
      throw new LogError(
        LogErrorCode.WRITER_FENCED,
        `the store ${store.location} is claimed by term ${holder.term} (${holder.identity}), newer than ours (${token.term}): ` +
          'another replica leads; this one must not write',
      );
    }
    try {
      await store.commit([{ type: 'put', key: FENCE_KEY, value: mine }], [{ key: FENCE_KEY, equals: current }]);
      return { key: FENCE_KEY, equals: mine };
    } catch (err) {
      if (!isStoreError(err, LogErrorCode.GUARD_FAILED)) throw err;
    }
  }
  throw new LogError(LogErrorCode.WRITER_FENCED, `could not claim ${store.location}: the fence kept changing under us`);
}
