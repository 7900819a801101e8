/**
 * Turns a batch of pending updates into store commits (pure: no I/O). Versions are assigned
 * head+1, head+2, … in batch order (docs/design.md §1); each update's prevVersion on each scope is
 * the scope's head so far, including earlier updates of the same batch (docs/design.md §2).
 *
 * One part = one atomic store commit holding, for its updates: the history records, the
 * per-scope index entries, the per-scope current state, the object table, the tombstone index,
 * the new head and scope heads — and, in the last part, the source resourceVersions and meta
 * values. A batch normally fits one part; it is split (at update boundaries) only when it
 * exceeds the store's per-commit limits (etcd's txn limits). Every part is consistent on
 * its own: after any prefix of parts the store is exactly "the first k updates committed".
 */
import { LogError, LogErrorCode } from './errors.ts';
import { ByteArena } from './byte-arena.ts';
import {
  HEAD_KEY,
  OBJECT_PREFIX,
  escapeObjectKey,
  gcKey,
  hex,
  historyKey,
  indexPrefix,
  metaKey,
  objectKeyOf,
  rvKey,
  scopeHeadKey,
  stateKey,
  statePrefix,
  tombstoneKey,
} from './keys.ts';
import { encodeHistory, encodeNumber, encodeState, encodeText, encodeTombstone } from './record-codec.ts';
import type { SpooledState } from './state-spool.ts';
import type { StoreLimits, StoreOp } from './store.ts';
import type { CommittedUpdate, PendingUpdate, ScopeLink } from './types.ts';

export interface PlanInput {
  head: number;
  /** History below this version is compacted (g/ markers are written for pinned records below it). */
  floor: number;
  scopeHead(scope: string): number;
  /** The version a c/ or o/ key holds in the store now (see stateKeysOf), undefined if absent. */
  currentVersion(key: string): number | undefined;
  updates: readonly PendingUpdate[];
  committedAtMs: number;
  resourceVersions: Readonly<Record<string, string>> | undefined;
  meta: Readonly<Record<string, Uint8Array | null>> | undefined;
  limits: StoreLimits;
  /**
   * False: state only, no per-scope index entries (CommitOptions.history false): the updates
   * become current state and move the scope heads, but no tail can be read across them.
   */
  index?: boolean;
  /**
   * True: the c/ and o/ entries go to `PlannedPart.state`, the resourceVersion and meta ops to
   * `PlannedPart.heldOps`, instead of `ops` (commits as state: the log holds them and writes
   * them at the end, see state-spool.ts).
   */
  deferState?: boolean;
}

export interface PlannedPart {
  ops: StoreOp[];
  updates: CommittedUpdate[];
  /** The head after this part. */
  head: number;
  /** Scope heads this part moves. */
  scopeHeads: Map<string, number>;
  /** Present on the last part only. */
  resourceVersions: Readonly<Record<string, string>> | undefined;
  /** With `deferState`: the part's c/ and o/ entries, in order (a later one for a key wins). */
  state: SpooledState[];
  /** With `deferState`, on the last part: the resourceVersion and meta ops, held too. */
  heldOps: StoreOp[];
}

type KeyedOp = StoreOp & { key: string };

/** A scope exit or a view (PendingUpdate.viewOnly) leaves the object's latest state (o/) alone. */
function writesObjectTable(u: PendingUpdate): boolean {
  return u.state !== 'remove' && u.viewOnly !== true;
}

/** The c/ and o/ keys an update writes: read their current versions before planning. */
export function stateKeysOf(u: PendingUpdate): string[] {
  const keys = u.scopes.map((scope) => stateKey(scope, u.objectKey));
  if (writesObjectTable(u)) keys.push(objectKeyOf(u.objectKey));
  return keys;
}

class PartBuilder {
  /** Keys unique by construction (history, index, tombstone index). */
  readonly unique: KeyedOp[] = [];
  /** State keys and markers: an object may change twice in one batch; the last op wins. */
  readonly keyed = new Map<string, KeyedOp>();
  readonly updates: CommittedUpdate[] = [];
  readonly scopeHeads = new Map<string, number>();
  readonly state: SpooledState[] = [];
  bytes = 0;

  get size(): number {
    return this.unique.length + this.keyed.size;
  }

  add(op: KeyedOp, unique: boolean): void {
    if (unique) {
      this.unique.push(op);
    } else {
      const old = this.keyed.get(op.key);
      if (old) this.bytes -= old.key.length + (old.type === 'put' ? old.value.byteLength : 0);
      this.keyed.set(op.key, op);
    }
    this.bytes += op.key.length + (op.type === 'put' ? op.value.byteLength : 0);
  }
}

const EMPTY = new Uint8Array(0);

/** Key prefixes of one scope, escaped once per batch (every update of a batch names a scope). */
interface ScopeKeys {
  index: string;
  state: string;
}

/** Plans the ops of one update after another, tracking how they move state keys. */
class UpdatePlanner {
  readonly #input: PlanInput;
  /** Values of the whole batch are slices of a few shared chunks (see byte-arena.ts). */
  readonly #arena = new ByteArena();
  readonly #scopeKeys = new Map<string, ScopeKeys>();
  /**
   * State key -> its version after the updates planned so far (null: deleted). Only needed to
   * find references to history below the floor, and nothing is below the floor before the
   * first compaction (floor 1).
   */
  readonly #overlay: Map<string, number | null> | undefined;
  readonly #unique: KeyedOp[] = [];
  readonly #keyed: KeyedOp[] = [];
  readonly #deferred: SpooledState[] = [];

  constructor(input: PlanInput) {
    this.#input = input;
    this.#overlay = input.floor > 1 ? new Map() : undefined;
  }

  #keysOf(scope: string): ScopeKeys {
    let keys = this.#scopeKeys.get(scope);
    if (keys === undefined) {
      keys = { index: indexPrefix(scope), state: statePrefix(scope) };
      this.#scopeKeys.set(scope, keys);
    }
    return keys;
  }

  /** The update's ops (and deferred state entries); the returned arrays are reused by the next call. */
  ops(u: PendingUpdate, version: number, scopes: ScopeLink[]): { unique: KeyedOp[]; keyed: KeyedOp[]; deferred: SpooledState[] } {
    const atMs = this.#input.committedAtMs;
    const arena = this.#arena;
    const unique = this.#unique;
    const keyed = this.#keyed;
    unique.length = 0;
    keyed.length = 0;
    this.#deferred.length = 0;
    const history = encodeHistory({ committedAtMs: atMs, state: u.state, objectKey: u.objectKey, kind: u.kind, scopes, payload: u.payload }, arena);
    unique.push({ type: 'put', key: historyKey(version), value: history });
    const versionHex = hex(version);
    const objectKey = escapeObjectKey(u.objectKey);
    const deleted = u.state === 'tombstone';
    const removed = u.state === 'remove';
    const state = removed || this.#input.deferState === true ? undefined : encodeState({ version, deleted, deletedAtMs: atMs }, arena);
    const index = this.#input.index !== false;
    for (const { scope, prevVersion } of scopes) {
      const keys = this.#keysOf(scope);
      if (index) unique.push({ type: 'put', key: keys.index + versionHex, value: encodeNumber(prevVersion, arena) });
      this.#state(keys.state, objectKey, state, version, removed, deleted);
    }
    if (deleted) {
      unique.push({ type: 'put', key: tombstoneKey(atMs, version), value: encodeTombstone({ objectKey: u.objectKey, scopes: [...u.scopes] }) });
    }
    if (!removed && writesObjectTable(u)) this.#state(OBJECT_PREFIX, objectKey, state, version, false, deleted);
    return { unique, keyed, deferred: this.#deferred };
  }

  /** The entry `prefix + suffix`; `state`: its encoding (undefined when removed or deferred). */
  #state(prefix: string, suffix: string, state: Uint8Array | undefined, version: number, removed: boolean, deleted: boolean): void {
    if (this.#input.deferState === true) {
      this.#deferred.push(removed ? { prefix, suffix, version, removed: true } : deleted ? { prefix, suffix, version, deletedAtMs: this.#input.committedAtMs } : { prefix, suffix, version });
    }
    const overlay = this.#overlay;
    if (!overlay && this.#input.deferState === true) return;
    const key = prefix + suffix;
    if (overlay) {
      const seen = overlay.get(key);
      const old = seen === undefined ? this.#input.currentVersion(key) : (seen ?? undefined);
      overlay.set(key, removed ? null : version);
      // A pinned history record below the floor loses this reference: compaction checks it.
      if (old !== undefined && old < this.#input.floor) this.#keyed.push({ type: 'put', key: gcKey(old), value: EMPTY });
    }
    if (this.#input.deferState !== true) this.#keyed.push(state ? { type: 'put', key, value: state } : { type: 'delete', key });
  }

  number(n: number): Uint8Array {
    return encodeNumber(n, this.#arena);
  }
}

function tailOps(input: PlanInput): KeyedOp[] {
  const ops: KeyedOp[] = [];
  for (const [kind, rv] of Object.entries(input.resourceVersions ?? {})) {
    ops.push({ type: 'put', key: rvKey(kind), value: encodeText(rv) });
  }
  for (const [name, value] of Object.entries(input.meta ?? {})) {
    const key = metaKey(name);
    ops.push(value === null ? { type: 'delete', key } : { type: 'put', key, value });
  }
  return ops;
}

function opsBytes(ops: readonly KeyedOp[]): number {
  let n = 0;
  for (const op of ops) n += op.key.length + (op.type === 'put' ? op.value.byteLength : 0);
  return n;
}

export function planBatch(input: PlanInput): PlannedPart[] {
  const { limits } = input;
  const tail = tailOps(input);
  const tailBytes = opsBytes(tail);
  const planner = new UpdatePlanner(input);
  const scopeHeads = new Map<string, number>();
  const parts: PartBuilder[] = [];
  let part = new PartBuilder();
  let version = input.head;
  // A store without per-commit limits (LMDB) never splits: skip the size accounting.
  const limited = Number.isFinite(limits.maxOpsPerCommit) || Number.isFinite(limits.maxBytesPerCommit);
  // Per part we also write m/head, one m/scopehead per scope touched, and (last part) the tail.
  const fits = (p: PartBuilder, n: number, bytes: number, newScopes: number): boolean =>
    p.size + n + p.scopeHeads.size + newScopes + 1 + tail.length <= limits.maxOpsPerCommit &&
    p.bytes + bytes + 64 * (p.scopeHeads.size + newScopes + 1) + tailBytes <= limits.maxBytesPerCommit;

  for (const u of input.updates) {
    version++;
    const scopes: ScopeLink[] = [];
    for (const scope of u.scopes) scopes.push({ scope, prevVersion: scopeHeads.get(scope) ?? input.scopeHead(scope) });
    const { unique, keyed, deferred } = planner.ops(u, version, scopes);
    if (limited) {
      const n = unique.length + keyed.length;
      const bytes = opsBytes(unique) + opsBytes(keyed);
      const newScopes = u.scopes.filter((s) => !part.scopeHeads.has(s)).length;
      if (!fits(part, n, bytes, newScopes)) {
        if (part.updates.length === 0 || !fits(new PartBuilder(), n, bytes, u.scopes.length)) {
          throw new LogError(
            LogErrorCode.UPDATE_TOO_LARGE,
            `update of ${JSON.stringify(u.objectKey)} (${n} store ops on ${u.scopes.length} scopes, ` +
              `${u.payload.byteLength} payload bytes) exceeds what one commit of this store may hold ` +
              `(${limits.maxOpsPerCommit} ops, ${limits.maxBytesPerCommit} bytes): raise the backend's limits ` +
              '(etcd: --max-txn-ops, --max-request-bytes) or publish it on fewer scopes',
          );
        }
        parts.push(part);
        part = new PartBuilder();
      }
    }
    for (const op of unique) part.add(op, true);
    for (const op of keyed) part.add(op, false);
    for (const e of deferred) part.state.push(e);
    for (const scope of u.scopes) {
      scopeHeads.set(scope, version);
      part.scopeHeads.set(scope, version);
    }
    part.updates.push({ version, objectKey: u.objectKey, state: u.state, kind: u.kind, payload: u.payload, scopes });
  }
  parts.push(part);
  return parts.map((p, i) => finishPart(p, i === parts.length - 1, input, tail, planner));
}

function finishPart(p: PartBuilder, last: boolean, input: PlanInput, tail: readonly KeyedOp[], planner: UpdatePlanner): PlannedPart {
  const lastUpdate = p.updates.at(-1);
  const head = lastUpdate ? lastUpdate.version : input.head;
  const ops: StoreOp[] = p.unique;
  for (const op of p.keyed.values()) ops.push(op);
  if (lastUpdate) ops.push({ type: 'put', key: HEAD_KEY, value: planner.number(head) });
  for (const [scope, v] of p.scopeHeads) ops.push({ type: 'put', key: scopeHeadKey(scope), value: planner.number(v) });
  const held = last && input.deferState === true;
  if (last && !held) ops.push(...tail);
  return { ops, updates: p.updates, head, scopeHeads: p.scopeHeads, resourceVersions: last ? input.resourceVersions : undefined, state: p.state, heldOps: held ? [...tail] : [] };
}
