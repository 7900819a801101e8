import type { ContainerType, Upid } from '../schema/index.ts';
import { SdkInvalidArgumentError } from './errors.ts';
import type { LocalState } from './local-state.ts';
import type { ContainerRecord, PodRecord } from './state-view.ts';

/**
 * What a UPID hydrates to: the names telemetry is labelled with. Computed once per container
 * and shared by every row of that container (treat as read-only; it is frozen).
 */
export interface Hydration {
  readonly containerId: string;
  readonly containerName: string;
  readonly containerType: ContainerType | undefined;
  readonly podUid: string;
  readonly podName: string;
  readonly namespace: string;
  readonly node: string;
  readonly podIp: string;
  /** Names of the services whose membership includes the pod, sorted. */
  readonly services: readonly string[];
  readonly replicaSet: string | undefined;
  readonly deployment: string | undefined;
  readonly statefulSet: string | undefined;
  readonly daemonSet: string | undefined;
  readonly job: string | undefined;
  readonly cronJob: string | undefined;
  /** The controller owner chain, nearest first. */
  readonly owners: ReadonlyArray<{ readonly kind: string; readonly name: string; readonly uid: string }>;
  readonly labels: Readonly<Record<string, string>>;
  /** The container or its pod is no longer live (stopped, or left): answered from retention. */
  readonly stopped: boolean;
}

interface ProcessEntry {
  readonly ticks: number;
  containerId: string;
  next: ProcessEntry | undefined;
}

const U32 = 0xffffffff;

/**
 * Which container each process of this node runs in, as the agent reported it from the
 * process's cgroup. Keyed by (pid, start time ticks): a pid reused by a new process is a new
 * entry (wire-protocol §8). Bounded: beyond `maxProcesses` the oldest registrations go first.
 * Lookups allocate nothing (a map by pid, then a short list per pid).
 */
export class ProcessTable {
  readonly #max: number;
  readonly #byPid = new Map<number, ProcessEntry>();
  /** Registration order (pid, ticks pairs) for eviction; may hold stale pairs, compacted. */
  #order: number[] = [];
  #orderHead = 0;
  #size = 0;

  constructor(maxProcesses: number) {
    this.#max = maxProcesses;
  }

  get size(): number {
    return this.#size;
  }

  register(pid: number, startTimeTicks: number, containerId: string): void {
    checkProcess(pid, startTimeTicks);
    if (typeof containerId !== 'string' || containerId.length === 0) {
      throw new SdkInvalidArgumentError('containerId', 'must be the bare container id from the cgroup path (non-empty)');
    }
    const head = this.#byPid.get(pid);
    for (let e = head; e; e = e.next) {
      if (e.ticks === startTimeTicks) {
        e.containerId = containerId;
        return;
      }
    }
    this.#byPid.set(pid, { ticks: startTimeTicks, containerId, next: head });
    this.#size++;
    this.#order.push(pid, startTimeTicks);
    while (this.#size > this.#max) this.#evictOldest();
  }

  unregister(pid: number, startTimeTicks: number): boolean {
    let prev: ProcessEntry | undefined;
    for (let e = this.#byPid.get(pid); e; prev = e, e = e.next) {
      if (e.ticks !== startTimeTicks) continue;
      if (prev) prev.next = e.next;
      else if (e.next) this.#byPid.set(pid, e.next);
      else this.#byPid.delete(pid);
      this.#size--;
      this.#compactOrder();
      return true;
    }
    return false;
  }

  lookup(pid: number, startTimeTicks: number): string | undefined {
    for (let e = this.#byPid.get(pid); e; e = e.next) if (e.ticks === startTimeTicks) return e.containerId;
    return undefined;
  }

  /** Forgets the processes of containers that left the state for good. */
  forgetContainers(containerIds: ReadonlySet<string>): void {
    if (containerIds.size === 0) return;
    for (const [pid, ticks, cid] of this.entries()) if (containerIds.has(cid)) this.unregister(pid, ticks);
  }

  /** Every registration, oldest first (for persistence). */
  entries(): Array<[number, number, string]> {
    const out: Array<[number, number, string]> = [];
    const seen = new Set<string>();
    for (let i = this.#orderHead; i + 1 < this.#order.length; i += 2) {
      const pid = this.#order[i] as number;
      const ticks = this.#order[i + 1] as number;
      const cid = this.lookup(pid, ticks);
      const key = `${pid}:${ticks}`;
      if (cid === undefined || seen.has(key)) continue;
      seen.add(key);
      out.push([pid, ticks, cid]);
    }
    return out;
  }

  #evictOldest(): void {
    while (this.#orderHead + 1 < this.#order.length) {
      const pid = this.#order[this.#orderHead] as number;
      const ticks = this.#order[this.#orderHead + 1] as number;
      this.#orderHead += 2;
      if (this.unregister(pid, ticks)) return;
    }
  }

  #compactOrder(): void {
    const live = this.#order.length - this.#orderHead;
    if (live <= 2 * (this.#size * 2) + 64) return;
    const next: number[] = [];
    for (let i = this.#orderHead; i + 1 < this.#order.length; i += 2) {
      const pid = this.#order[i] as number;
      const ticks = this.#order[i + 1] as number;
      if (this.lookup(pid, ticks) !== undefined) next.push(pid, ticks);
    }
    this.#order = next;
    this.#orderHead = 0;
  }
}

function checkProcess(pid: number, ticks: number): void {
  if (!Number.isInteger(pid) || pid < 0 || pid > U32) throw new SdkInvalidArgumentError('pid', `must be an integer in [0, 2^32), got ${pid}`);
  if (!Number.isSafeInteger(ticks) || ticks < 0) {
    throw new SdkInvalidArgumentError('startTimeTicks', `must be a non-negative safe integer (clock ticks since boot), got ${ticks}`);
  }
}

/**
 * Turns UPIDs into names at query time (telemetry rows store only the UPID). Per container the
 * result is computed once and cached until the state changes (its generation moves), so a
 * batch of 10,000 rows costs 10,000 map lookups plus one computation per distinct container.
 * Stopped containers and pods are resolved from retention.
 */
export class Hydrator {
  readonly #state: LocalState;
  readonly #processes: ProcessTable;
  readonly #cache = new Map<string, Hydration | null>();
  #cacheGeneration = -1;

  constructor(state: LocalState, processes: ProcessTable) {
    this.#state = state;
    this.#processes = processes;
  }

  /** UPIDs of another agent (another ASID) are not this node's: undefined. */
  hydrate(asid: number, upid: Upid): Hydration | undefined {
    if (upid.asid !== asid) return undefined;
    const cid = this.#processes.lookup(upid.pid, upid.startTimeTicks);
    return cid === undefined ? undefined : this.forContainer(cid);
  }

  hydrateBatch(asid: number, rows: readonly Upid[], out?: Array<Hydration | undefined>): Array<Hydration | undefined> {
    const result = out ?? new Array<Hydration | undefined>(rows.length);
    result.length = rows.length;
    this.#validateCache();
    let lastCid: string | undefined;
    let last: Hydration | undefined;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as Upid;
      const cid = row.asid === asid ? this.#processes.lookup(row.pid, row.startTimeTicks) : undefined;
      if (cid === undefined) result[i] = undefined;
      else if (cid === lastCid) result[i] = last;
      else result[i] = last = this.#cached((lastCid = cid));
    }
    return result;
  }

  forContainer(containerId: string): Hydration | undefined {
    this.#validateCache();
    return this.#cached(containerId);
  }

  #validateCache(): void {
    if (this.#state.generation === this.#cacheGeneration) return;
    this.#cache.clear();
    this.#cacheGeneration = this.#state.generation;
  }

  #cached(containerId: string): Hydration | undefined {
    let h = this.#cache.get(containerId);
    if (h === undefined) this.#cache.set(containerId, (h = this.#build(containerId) ?? null));
    return h ?? undefined;
  }

  #build(cid: string): Hydration | undefined {
    const ix = this.#state.indexes;
    const container: ContainerRecord | undefined = ix.containers.get(cid);
    let pod: PodRecord | undefined = container ? ix.pods.get(container.object.podUid) : undefined;
    if (!pod) for (const uid of ix.pods.keysBy('containerId', cid)) pod = ix.pods.get(uid);
    if (!container && !pod) return undefined;
    const podUid = container?.object.podUid ?? (pod as PodRecord).uid;
    const spec = pod?.object.containers.find((c) => c.containerId === cid);
    const owners = this.#state.ownerChain(podUid).map((o) => Object.freeze({ kind: o.kind, name: o.name, uid: o.uid }));
    const ownerName = (kind: string): string | undefined => owners.find((o) => o.kind === kind)?.name;
    const services = [...new Set(ix.services.valuesBy('pod', podUid).map((s) => s.object.name))].sort();
    return Object.freeze({
      containerId: cid,
      containerName: container?.object.name ?? spec?.name ?? '',
      containerType: container?.object.type ?? spec?.type,
      podUid,
      podName: pod?.object.name ?? container?.object.podName ?? '',
      namespace: pod?.object.namespace ?? container?.object.namespace ?? '',
      node: pod?.object.nodeName ?? '',
      podIp: pod?.object.podIp ?? '',
      services: Object.freeze(services),
      replicaSet: ownerName('ReplicaSet'),
      deployment: ownerName('Deployment'),
      statefulSet: ownerName('StatefulSet'),
      daemonSet: ownerName('DaemonSet'),
      job: ownerName('Job'),
      cronJob: ownerName('CronJob'),
      owners: Object.freeze(owners),
      labels: Object.freeze({ ...(pod?.object.labels ?? {}) }),
      stopped: container?.gone !== undefined || pod === undefined || pod.gone !== undefined,
    });
  }
}
