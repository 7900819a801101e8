import type { Clock } from '../core/index.ts';
import {
  NodeAddressType,
  PodPhase,
  timeNsFromMs,
  timeNsToMs,
  type Kind,
  type NodeUpdate,
  type PodUpdate,
  type ResourceUpdate,
  type ServiceUpdate,
  type StreamId,
  type TimeNs,
  type UpdateIdentity,
  type Version,
} from '../schema/index.ts';
import type { ChangeSink, KubeObject } from './changes.ts';
import type { Indexer } from './indexer.ts';
import { IpHistory } from './ip-history.ts';
import { StateQueries, familyOf, makeIndexers, type Family, type StateRecord, type StateView } from './state-view.ts';

/** One decoded update with its place in the chain (a live or replayed frame). */
export interface AppliedUpdate {
  readonly version: Version;
  readonly update: ResourceUpdate;
  readonly identity: UpdateIdentity;
}

/** Where a subscription applies what it receives (LocalState implements it). */
export interface ScopeSink {
  /** Replace the scope's state with a snapshot, atomically (docs/design.md §4). */
  applySnapshot(entries: readonly AppliedUpdate[], version: Version, streamId: StreamId): void;
  /** Apply one update, in chain order. */
  apply(update: AppliedUpdate): void;
  /** The position moved (after updates, an end marker, or a stream reset: undefined/0). */
  setPosition(streamId: StreamId | undefined, version: Version): void;
}

export interface LocalStateOptions {
  clock: Clock;
  /** How long stopped, exited and vanished objects stay queryable (hydration, IP history). */
  retentionMs: number;
  changes?: ChangeSink;
  /** Called when a record is forgotten after retention (e.g. to drop process mappings). */
  onPurge?: (kind: Kind, uid: string) => void;
}

/**
 * One scope's objects, keyed by (kind, uid) (docs/design.md §8), with named secondary indexes, a
 * bounded retention of objects that stopped, and the IP history.
 *
 * - Updates replace what the state holds for their (kind, uid): payloads are full states.
 * - A snapshot replaces the scope's state atomically (docs/design.md §4): it is applied in one
 *   synchronous call, so no reader ever sees half of it; objects it lacks stop being live.
 * - Objects that are deleted, leave the scope or vanish from a snapshot stay queryable (not
 *   live) for `retentionMs`, so telemetry of a process whose pod stopped still hydrates; after
 *   that they are forgotten. Memory is the scope's live objects plus what stopped within the
 *   window.
 * Not thread-shared: the owning client applies updates on the event loop.
 */
export class LocalState extends StateQueries implements StateView, ScopeSink {
  readonly #clock: Clock;
  readonly #retentionMs: number;
  readonly #changes: ChangeSink | undefined;
  readonly #onPurge: ((kind: Kind, uid: string) => void) | undefined;
  readonly #retained = new Map<Family, Map<string, number>>();
  #nextExpiryMs = Number.POSITIVE_INFINITY;
  #epoch = 0;
  #streamId: StreamId | undefined;
  #version: Version = 0;
  #generation = 0;

  constructor(options: LocalStateOptions) {
    super(makeIndexers(), new IpHistory());
    this.#clock = options.clock;
    this.nowMs = () => options.clock.now();
    this.#retentionMs = options.retentionMs;
    this.#changes = options.changes;
    this.#onPurge = options.onPurge;
  }

  /** The stream the state came from; undefined before the first snapshot. */
  get streamId(): StreamId | undefined {
    return this.#streamId;
  }

  /** The position the state reflects (last version applied on the scope). */
  get version(): Version {
    return this.#version;
  }

  /** Increments on every change: caches derived from the state compare it. */
  get generation(): number {
    return this.#generation;
  }

  /** Moves the position (the subscription calls it after applying, or for an empty replay answer). */
  setPosition(streamId: StreamId | undefined, version: Version): void {
    this.#streamId = streamId;
    this.#version = version;
  }

  /** Applies one update in chain order. */
  apply(u: AppliedUpdate): void {
    if (u.identity.scopeExit) {
      this.#retire(u.identity.kind, u.identity.uid, 'exited', u.version);
      return;
    }
    this.#put(u.identity.kind, u.identity.uid, u.version, u.update.object.value as KubeObject);
  }

  /**
   * Replaces the state with a snapshot at `version` of stream `streamId`, in one synchronous
   * step: entries are applied, then every live object the snapshot lacks is retired
   * ('absentFromSnapshot'). Versions from another stream are never compared (docs/design.md §7).
   */
  applySnapshot(entries: readonly AppliedUpdate[], version: Version, streamId: StreamId): void {
    if (streamId !== this.#streamId) this.#epoch++;
    const seen = new Map<Family, Set<string>>();
    for (const e of entries) {
      if (e.identity.scopeExit) continue;
      const family = familyOf(e.identity.kind);
      let uids = seen.get(family);
      if (!uids) seen.set(family, (uids = new Set()));
      uids.add(e.identity.uid);
      this.#put(e.identity.kind, e.identity.uid, e.version, e.update.object.value as KubeObject);
    }
    for (const [family, indexer] of Object.entries(this.indexers) as Array<[Family, Indexer<StateRecord>]>) {
      const present = seen.get(family);
      const absent: StateRecord[] = [];
      for (const [uid, r] of indexer.entries()) if (r.gone === undefined && !present?.has(uid)) absent.push(r);
      for (const r of absent) this.#retire(r.kind, r.uid, 'absent', undefined);
    }
    this.#streamId = streamId;
    this.#version = version;
    this.#generation++;
    if (this.#changes?.active) this.#changes.push({ type: 'snapshot', version, streamId, objects: entries.length });
  }

  /**
   * Forgets records whose retention ended and IP intervals that closed before the window.
   * Cheap when nothing is due (one comparison). Returns the number of records forgotten.
   */
  sweep(): number {
    const now = this.#clock.now();
    if (now < this.#nextExpiryMs) return 0;
    let purged = 0;
    let next = Number.POSITIVE_INFINITY;
    for (const [family, byUid] of this.#retained) {
      const indexer = this.indexers[family] as Indexer<StateRecord>;
      for (const [uid, expiresAt] of byUid) {
        if (expiresAt > now) {
          next = Math.min(next, expiresAt);
          continue;
        }
        const r = indexer.delete(uid);
        byUid.delete(uid);
        purged++;
        if (r) this.#onPurge?.(r.kind, uid);
      }
    }
    this.#nextExpiryMs = next;
    this.ips.prune(timeNsFromMs(now - this.#retentionMs));
    if (purged > 0) this.#generation++;
    return purged;
  }

  /** Drops everything (a fresh start); the position goes back to none. */
  clear(): void {
    for (const indexer of Object.values(this.indexers) as Indexer<StateRecord>[]) indexer.clear();
    this.#retained.clear();
    this.ips.clear();
    this.#nextExpiryMs = Number.POSITIVE_INFINITY;
    this.#streamId = undefined;
    this.#version = 0;
    this.#epoch++;
    this.#generation++;
  }

  /** Every record, live and retained (for persistence). */
  *records(): IterableIterator<StateRecord> {
    for (const indexer of Object.values(this.indexers) as Indexer<StateRecord>[]) yield* indexer.values();
  }

  /** Restores a persisted record as it was (live or retained with its expiry). */
  restore(record: Omit<StateRecord, 'epoch'>): void {
    if (record.gone === undefined) {
      this.#put(record.kind, record.uid, record.version, record.object);
      return;
    }
    const family = familyOf(record.kind);
    (this.indexers[family] as Indexer<StateRecord>).set(record.uid, { ...record, epoch: this.#epoch });
    this.#track(record.kind, record.uid, record.object, undefined, record.gone === 'deleted');
    if (record.gone !== 'deleted') this.#releaseIps(record.kind, record.uid, timeNsFromMs(this.#clock.now()));
    this.#retain(family, record.uid, record.expiresAtMs ?? this.#clock.now() + this.#retentionMs);
  }

  #put(kind: Kind, uid: string, version: Version, object: KubeObject): void {
    const family = familyOf(kind);
    const indexer = this.indexers[family] as Indexer<StateRecord>;
    const prev = indexer.get(uid);
    const now = this.#clock.now();
    const stopped = object.stopTimeNs !== 0n;
    const expiresAtMs = stopped ? Math.min(timeNsToMs(object.stopTimeNs), now) + this.#retentionMs : undefined;
    indexer.set(uid, { kind, uid, version, object, gone: stopped ? 'deleted' : undefined, expiresAtMs, epoch: this.#epoch });
    if (expiresAtMs === undefined) this.#retained.get(family)?.delete(uid);
    else this.#retain(family, uid, expiresAtMs);
    this.#track(kind, uid, object, prev, stopped);
    this.#generation++;
    if (!this.#changes?.active) return;
    const same = prev !== undefined && prev.epoch === this.#epoch && prev.version === version && prev.gone === (stopped ? 'deleted' : undefined);
    if (same) return;
    const type = stopped ? 'deleted' : prev === undefined || prev.gone !== undefined ? 'added' : 'updated';
    this.#changes.push({ type, kind, uid, version, object });
  }

  #retire(kind: Kind, uid: string, gone: 'exited' | 'absent', version: Version | undefined): void {
    const family = familyOf(kind);
    const indexer = this.indexers[family] as Indexer<StateRecord>;
    const r = indexer.get(uid);
    if (!r || r.gone !== undefined) return;
    const expiresAtMs = this.#clock.now() + this.#retentionMs;
    indexer.set(uid, { ...r, gone, expiresAtMs });
    this.#retain(family, uid, expiresAtMs);
    this.#releaseIps(kind, uid, timeNsFromMs(this.#clock.now()));
    this.#generation++;
    if (this.#changes?.active) {
      this.#changes.push({ type: 'removed', kind, uid, version, reason: gone === 'exited' ? 'scopeExit' : 'absentFromSnapshot' });
    }
  }

  #retain(family: Family, uid: string, expiresAtMs: number): void {
    let byUid = this.#retained.get(family);
    if (!byUid) this.#retained.set(family, (byUid = new Map()));
    byUid.set(uid, expiresAtMs);
    if (expiresAtMs < this.#nextExpiryMs) this.#nextExpiryMs = expiresAtMs;
  }

  /** Keeps the IP history in step with an object's new state (docs/design.md §8). */
  #track(kind: Kind, uid: string, object: KubeObject, prev: StateRecord | undefined, stopped: boolean): void {
    if (kind !== 'Pod' && kind !== 'Service' && kind !== 'Node') return;
    const nowNs = timeNsFromMs(this.#clock.now());
    let ips: string[] = [];
    let fromNs: TimeNs = nowNs;
    let releasedAt: TimeNs | undefined = stopped ? object.stopTimeNs : undefined;
    if (kind === 'Pod') {
      const pod = object as PodUpdate;
      ips = podIps(pod);
      fromNs = pod.startTimeNs || pod.createTimeNs || nowNs;
      // A finished pod's status keeps its IP, but the IP is free for the next pod.
      if (releasedAt === undefined && (pod.phase === PodPhase.SUCCEEDED || pod.phase === PodPhase.FAILED)) releasedAt = nowNs;
    } else if (kind === 'Service') {
      const svc = object as ServiceUpdate;
      ips = [...svc.clusterIps, ...svc.loadBalancerIps].filter((ip) => ip !== '' && ip !== 'None');
      fromNs = svc.startTimeNs || nowNs;
    } else if (kind === 'Node') {
      const node = object as NodeUpdate;
      ips = node.addresses
        .filter((a) => a.type === NodeAddressType.INTERNAL_IP || a.type === NodeAddressType.EXTERNAL_IP)
        .map((a) => a.address);
      fromNs = node.startTimeNs || nowNs;
    }
    if (releasedAt === undefined) {
      this.ips.hold(kind, uid, ips, fromNs, nowNs);
      return;
    }
    // First seen already stopped (a snapshot, a replay): record when it held its IPs.
    if (prev === undefined) this.ips.hold(kind, uid, ips, fromNs, nowNs);
    this.ips.release(kind, uid, releasedAt < fromNs ? fromNs : releasedAt);
  }

  #releaseIps(kind: Kind, uid: string, atNs: TimeNs): void {
    if (kind === 'Pod' || kind === 'Service' || kind === 'Node') this.ips.release(kind, uid, atNs);
  }
}

/** A pod's own IPs; a host-network pod's IP is its node's and identifies no pod. */
function podIps(pod: PodUpdate): string[] {
  const out: string[] = [];
  for (const ip of pod.podIps.length > 0 ? pod.podIps : [pod.podIp]) {
    if (ip !== '' && ip !== pod.hostIp && !out.includes(ip)) out.push(ip);
  }
  return out;
}

