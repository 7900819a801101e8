/**
 * Compaction keeps storage bounded under endless churn (issue 4): it drops history (records and
 * per-scope index entries) below a new floor, and tombstones older than the retention from the
 * scopes' current state and the object table. It works in bounded steps — each step is one
 * short turn of the commit queue with at most `maxOpsPerCommit` ops per store commit — so
 * update commits interleave with it instead of waiting behind one giant transaction.
 *
 * What it never drops: current state of live objects, nor the history records holding their
 * payloads (a payload is stored once, in its history record: records that current state points
 * at stay "pinned" below the floor, and are collected once g/ markers say they lost their last
 * reference); tombstones within retention; the scope heads (stored apart from history), so
 * prevVersion continuity (docs/design.md §2) survives even when all history is gone. Readers stay
 * correct at every intermediate point: tails check the chain (tail.ts), snapshots read the
 * current state and its payloads from one view.
 */
import { InvalidArgumentError } from '../core/index.ts';
import {
  FLOOR_KEY,
  GC_PREFIX,
  historyKey,
  historyRange,
  indexKey,
  objectKeyOf,
  stateKey,
  tombstoneRange,
  versionFromGcKey,
  versionFromHistoryKey,
  versionFromTombstoneKey,
} from './keys.ts';
import { decodeHistory, decodeState, decodeTombstone, encodeNumber } from './record-codec.ts';
import { prefixRange, type CommitGuard, type StoreOp, type UpdateStore } from './store.ts';
import type { CompactionResult, CompactOptions } from './types.ts';

/** What compaction needs from the log (UpdateLog provides it). */
export interface CompactionHost {
  readonly store: UpdateStore;
  head(): number;
  floor(): number;
  now(): number;
  /** Runs `task` as the only writer (the commit queue). */
  exclusive<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Commits with the log's own guard plus `guard`, mapping errors as commit() does. */
  commit(ops: readonly StoreOp[], guard: CommitGuard | undefined): Promise<void>;
  setFloor(floor: number): void;
}

const DEFAULT_MAX_OPS = 2000;

interface Step {
  done: boolean;
  dropped: number;
  commits: number;
}

function checkOptions(options: CompactOptions): number {
  for (const name of ['keepUpdates', 'keepAgeMs', 'tombstoneRetentionMs'] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new InvalidArgumentError(name, `must be a non-negative integer, got ${String(value)}`);
    }
  }
  const maxOps = options.maxOpsPerCommit ?? DEFAULT_MAX_OPS;
  if (!Number.isInteger(maxOps) || maxOps < 3) {
    throw new InvalidArgumentError('maxOpsPerCommit', `must be an integer >= 3, got ${String(maxOps)}`);
  }
  return maxOps;
}

/**
 * Commits `ops` in slices of at most `maxOps`, `final` ops (the floor) in the last slice. The
 * order matters only for readers in between, and they are safe at every point (file comment).
 */
async function commitSliced(host: CompactionHost, ops: StoreOp[], final: StoreOp[], maxOps: number, guard: CommitGuard | undefined): Promise<number> {
  let commits = 0;
  let i = 0;
  while (i < ops.length && ops.length - i + final.length > maxOps) {
    await host.commit(ops.slice(i, i + maxOps), guard);
    i += maxOps;
    commits++;
  }
  await host.commit([...ops.slice(i), ...final], guard);
  return commits + 1;
}

interface HistoryRef {
  version: number;
  objectKey: string;
  scopes: readonly string[];
}

/**
 * For each history record, whether a current-state entry (c/ of one of its scopes, or o/ of
 * its object) still points at it: then it is pinned and its payload must stay.
 */
async function stillReferenced(store: UpdateStore, records: readonly HistoryRef[]): Promise<boolean[]> {
  const keys: string[] = [];
  for (const r of records) {
    for (const scope of r.scopes) keys.push(stateKey(scope, r.objectKey));
    keys.push(objectKeyOf(r.objectKey));
  }
  const values = await store.getMany(keys);
  let i = 0;
  return records.map((r) => {
    let pinned = false;
    for (let n = 0; n <= r.scopes.length; n++, i++) {
      const value = values[i];
      if (value !== undefined && decodeState(value, keys[i] as string).version === r.version) pinned = true;
    }
    return pinned;
  });
}

/**
 * One step of history compaction: drops the oldest records outside the window — their index
 * entries always, the record itself unless current state still points at it (then a g/ marker
 * written when that state moves on brings it back to gcStep).
 */
async function historyStep(host: CompactionHost, options: CompactOptions, maxOps: number): Promise<Step> {
  const floor = host.floor();
  const head = host.head();
  const countFloor = options.keepUpdates === undefined ? 0 : head + 1 - options.keepUpdates;
  const ageCutoff = options.keepAgeMs === undefined ? undefined : host.now() - options.keepAgeMs;
  if (countFloor <= floor && ageCutoff === undefined) return { done: true, dropped: 0, commits: 0 };
  const rows = await host.store.scan({ ...historyRange(floor, head + 1), limit: maxOps });
  const dropped: HistoryRef[] = [];
  let ops = 0;
  let stopped = false;
  let full = false;
  for (const [key, value] of rows) {
    const version = versionFromHistoryKey(key);
    const record = decodeHistory(value, key);
    if (version >= countFloor && (ageCutoff === undefined || record.committedAtMs >= ageCutoff)) {
      stopped = true;
      break;
    }
    if (dropped.length > 0 && ops + record.scopes.length + 1 > maxOps) {
      full = true;
      break;
    }
    dropped.push({ version, objectKey: record.objectKey, scopes: record.scopes.map((s) => s.scope) });
    ops += record.scopes.length + 1;
  }
  const last = dropped.at(-1);
  if (!last) return { done: true, dropped: 0, commits: 0 };
  const pinned = await stillReferenced(host.store, dropped);
  const deletes: StoreOp[] = [];
  dropped.forEach((r, i) => {
    for (const scope of r.scopes) deletes.push({ type: 'delete', key: indexKey(scope, r.version) });
    if (!pinned[i]) deletes.push({ type: 'delete', key: historyKey(r.version) });
  });
  const newFloor = last.version + 1;
  const commits = await commitSliced(host, deletes, [{ type: 'put', key: FLOOR_KEY, value: encodeNumber(newFloor) }], maxOps, options.guard);
  host.setFloor(newFloor);
  return { done: stopped || (!full && rows.length < maxOps), dropped: newFloor - floor, commits };
}

/** One step of collecting pinned history records below the floor that lost a reference. */
async function gcStep(host: CompactionHost, maxOps: number, guard: CommitGuard | undefined): Promise<Step> {
  const limit = Math.max(1, Math.floor(maxOps / 2));
  const rows = await host.store.scan({ ...prefixRange(GC_PREFIX), limit });
  if (rows.length === 0) return { done: true, dropped: 0, commits: 0 };
  const floor = host.floor();
  const versions = rows.map(([key]) => versionFromGcKey(key)).filter((v) => v < floor);
  const values = await host.store.getMany(versions.map(historyKey));
  const records: HistoryRef[] = [];
  values.forEach((value, i) => {
    const version = versions[i] as number;
    if (value === undefined) return;
    const record = decodeHistory(value, historyKey(version));
    records.push({ version, objectKey: record.objectKey, scopes: record.scopes.map((s) => s.scope) });
  });
  const pinned = await stillReferenced(host.store, records);
  const deletes: StoreOp[] = records.filter((_, i) => !pinned[i]).map((r) => ({ type: 'delete', key: historyKey(r.version) }));
  const markers: StoreOp[] = rows.map(([key]) => ({ type: 'delete', key }));
  const commits = await commitSliced(host, deletes, markers, maxOps, guard);
  return { done: rows.length < limit, dropped: deletes.length, commits };
}

/**
 * One step of tombstone compaction: drops the state entries of tombstones older than the
 * cutoff (only the tombstone its index entry made: a later update of the object stays), and
 * the tombstone's history record when it is below the floor and nothing points at it anymore.
 */
async function tombstoneStep(host: CompactionHost, cutoffMs: number, maxOps: number, guard: CommitGuard | undefined): Promise<Step> {
  const limit = Math.max(1, Math.floor(maxOps / 4));
  const rows = await host.store.scan({ ...tombstoneRange(cutoffMs), limit });
  if (rows.length === 0) return { done: true, dropped: 0, commits: 0 };
  const tombstones = rows.map(([key, value]) => ({ key, version: versionFromTombstoneKey(key), ...decodeTombstone(value, key) }));
  const candidates = tombstones.flatMap((t) => [
    ...t.scopes.map((scope) => ({ key: stateKey(scope, t.objectKey), version: t.version })),
    { key: objectKeyOf(t.objectKey), version: t.version },
  ]);
  const values = await host.store.getMany(candidates.map((c) => c.key));
  const stateDeletes = new Set<string>();
  const keeps = new Set<number>();
  candidates.forEach((candidate, i) => {
    const value = values[i];
    if (value === undefined) return;
    const state = decodeState(value, candidate.key);
    if (state.version !== candidate.version) return;
    if (state.deleted) stateDeletes.add(candidate.key);
    else keeps.add(candidate.version);
  });
  const floor = host.floor();
  const ops: StoreOp[] = [...stateDeletes].map((key) => ({ type: 'delete', key }));
  let dropped = 0;
  for (const t of tombstones) {
    if (stateDeletes.has(objectKeyOf(t.objectKey))) dropped++;
    if (t.version < floor && !keeps.has(t.version)) ops.push({ type: 'delete', key: historyKey(t.version) });
  }
  // Index entries go last: a crash between slices leaves them to be found again next time.
  const indexDeletes: StoreOp[] = tombstones.map((t) => ({ type: 'delete', key: t.key }));
  const commits = await commitSliced(host, ops, indexDeletes, maxOps, guard);
  return { done: rows.length < limit, dropped, commits };
}

/** Runs compaction to completion (see the file comment); each step is one exclusive turn. */
export async function compact(host: CompactionHost, options: CompactOptions): Promise<CompactionResult> {
  const maxOps = Math.min(checkOptions(options), host.store.limits.maxOpsPerCommit);
  const result: CompactionResult = { floor: host.floor(), historyDropped: 0, pinnedCollected: 0, tombstonesDropped: 0, commits: 0 };
  for (;;) {
    const step = await host.exclusive(() => historyStep(host, options, maxOps), options.signal);
    result.historyDropped += step.dropped;
    result.commits += step.commits;
    if (step.done) break;
  }
  for (;;) {
    const step = await host.exclusive(() => gcStep(host, maxOps, options.guard), options.signal);
    result.pinnedCollected += step.dropped;
    result.commits += step.commits;
    if (step.done) break;
  }
  if (options.tombstoneRetentionMs !== undefined) {
    const cutoff = host.now() - options.tombstoneRetentionMs;
    for (;;) {
      const step = await host.exclusive(() => tombstoneStep(host, cutoff, maxOps, options.guard), options.signal);
      result.tombstonesDropped += step.dropped;
      result.commits += step.commits;
      if (step.done) break;
    }
  }
  result.floor = host.floor();
  return result;
}
