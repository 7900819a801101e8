import { IndexedSet } from './indexed-set.ts';
import { cidrIndexOf, NodeCidrPool, PodIpPool } from './ipam.ts';
import type { KubeObject, ModelEvent, StoredObject } from './objects.ts';
import { POD_CIDR_ANNOTATION } from '../kinds/node-factory.ts';

/**
 * What the controllers and the scenario engine know about the cluster without scanning it:
 * the fields they decide on, per object, and the relations between objects (owner ->
 * dependents, node -> pods, namespace -> objects), plus the address pools. Fed by the
 * model's commit listener, so it is current the moment a write returns (client-go's
 * Indexer, kept synchronously).
 */
export interface Entry {
  readonly kind: string;
  readonly key: string;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly uid: string;
  readonly owners: readonly string[];
  /** uid of the ownerReference with controller: true. */
  readonly controllerUid: string | undefined;
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly generation: number | undefined;
  /** resourceVersion of the write that created it (or of the first time the index saw it). */
  readonly createdRv: number;
  /** Pods: the node; Nodes: undefined. */
  readonly nodeName: string | undefined;
  /** Pods: podIP (undefined until running); Nodes: InternalIP. */
  readonly ip: string | undefined;
  /** Pods: the Ready condition; Nodes: Ready and not cordoned. */
  readonly ready: boolean;
  /** Pods: status.phase. */
  readonly phase: string | undefined;
  readonly hostNetwork: boolean;
  /** Nodes: the topology zone label. */
  readonly zone: string | undefined;
  /** Pods: spec.hostname and spec.subdomain (StatefulSet pods' DNS names). */
  readonly hostname: string | undefined;
  readonly subdomain: string | undefined;
}

export interface Change {
  readonly type: ModelEvent['type'];
  readonly stored: StoredObject;
  readonly prev: Entry | undefined;
  /** undefined for DELETED. */
  readonly next: Entry | undefined;
}

type Json = Record<string, unknown>;

export class ClusterIndex {
  readonly nodeCidrs = new NodeCidrPool();
  readonly podIps = new PodIpPool();
  /** Ready, schedulable nodes with a pod CIDR: where the scheduler may place pods. */
  readonly schedulableNodes = new IndexedSet<string>();
  readonly #entries = new Map<string, Map<string, Entry>>();
  readonly #keys = new Map<string, IndexedSet<string>>();
  readonly #byUid = new Map<string, Entry>();
  readonly #dependents = new Map<string, Map<string, Set<string>>>();
  readonly #podsByNode = new Map<string, Set<string>>();
  readonly #byNamespace = new Map<string, Map<string, Set<string>>>();
  readonly #tallies = new Map<string, PodTally>();

  entry(kind: string, key: string): Entry | undefined {
    return this.#entries.get(kind)?.get(key);
  }

  byUid(uid: string): Entry | undefined {
    return this.#byUid.get(uid);
  }

  /** Keys of every live object of `kind`; pick() gives a random one. */
  keys(kind: string): IndexedSet<string> {
    let set = this.#keys.get(kind);
    if (!set) this.#keys.set(kind, (set = new IndexedSet()));
    return set;
  }

  /** Keys of the `kind` objects that list `ownerUid` among their ownerReferences. */
  dependents(ownerUid: string, kind: string): ReadonlySet<string> {
    return this.#dependents.get(ownerUid)?.get(kind) ?? EMPTY;
  }

  /** Every dependent of `ownerUid`, by kind. */
  allDependents(ownerUid: string): ReadonlyMap<string, ReadonlySet<string>> {
    return this.#dependents.get(ownerUid) ?? EMPTY_MAP;
  }

  /** The live, unfinished pods whose controller is `ownerUid`, and how many are ready. */
  podTally(ownerUid: string): Readonly<PodTally> {
    return this.#tallies.get(ownerUid) ?? EMPTY_TALLY;
  }

  podsOnNode(node: string): ReadonlySet<string> {
    return this.#podsByNode.get(node) ?? EMPTY;
  }

  inNamespace(namespace: string, kind: string): ReadonlySet<string> {
    return this.#byNamespace.get(namespace)?.get(kind) ?? EMPTY;
  }

  namespaceKinds(namespace: string): readonly string[] {
    return [...(this.#byNamespace.get(namespace)?.keys() ?? [])];
  }

  /** Records one committed change and returns it with the entry before and after. */
  apply(event: ModelEvent): Change {
    const { stored } = event;
    let kindMap = this.#entries.get(stored.kind);
    if (!kindMap) this.#entries.set(stored.kind, (kindMap = new Map()));
    const prev = kindMap.get(stored.key);
    const next = event.type === 'DELETED' ? undefined : toEntry(stored, prev);
    if (next) kindMap.set(stored.key, next);
    else kindMap.delete(stored.key);
    this.#relate(prev, next);
    if (stored.kind === 'Pod') this.#trackPod(prev, next);
    if (stored.kind === 'Node') this.#trackNode(stored.object, prev, next);
    return { type: event.type, stored, prev, next };
  }

  #relate(prev: Entry | undefined, next: Entry | undefined): void {
    const e = (next ?? prev) as Entry;
    if (prev && (!next || prev.uid !== next.uid)) this.#byUid.delete(prev.uid);
    if (next) this.#byUid.set(next.uid, next);
    if (!prev) this.keys(e.kind).add(e.key);
    if (!next) this.keys(e.kind).delete(e.key);
    if (prev?.owners !== next?.owners) {
      for (const o of prev?.owners ?? []) this.#dependents.get(o)?.get(e.kind)?.delete(e.key);
      for (const o of next?.owners ?? []) setIn(this.#dependents, o, e.kind).add(e.key);
      for (const o of prev?.owners ?? []) pruneEmpty(this.#dependents, o, e.kind);
    }
    if (e.namespace !== undefined && (!prev || !next)) {
      if (next) setIn(this.#byNamespace, e.namespace, e.kind).add(e.key);
      else {
        this.#byNamespace.get(e.namespace)?.get(e.kind)?.delete(e.key);
        pruneEmpty(this.#byNamespace, e.namespace, e.kind);
      }
    }
  }

  #trackPod(prev: Entry | undefined, next: Entry | undefined): void {
    if (prev?.nodeName !== next?.nodeName) {
      if (prev?.nodeName) this.#podsByNode.get(prev.nodeName)?.delete(prev.key);
      if (next?.nodeName) {
        let set = this.#podsByNode.get(next.nodeName);
        if (!set) this.#podsByNode.set(next.nodeName, (set = new Set()));
        set.add(next.key);
      }
    }
    this.#tally(prev, next);
    if (holds(prev) && (!holds(next) || prev?.ip !== next?.ip)) this.podIps.release(prev!.nodeName!, prev!.ip!, prev!.uid);
    if (holds(next)) this.podIps.hold(next!.nodeName!, next!.ip!, next!.uid);
  }

  #tally(prev: Entry | undefined, next: Entry | undefined): void {
    const was = counted(prev);
    const is = counted(next);
    if (was && is && prev.controllerUid === next.controllerUid && prev.ready === next.ready) return;
    if (was) {
      const t = this.#tallies.get(prev.controllerUid as string);
      t?.active.delete(prev.key);
      if (t && prev.ready) t.ready--;
      if (t?.active.size === 0) this.#tallies.delete(prev.controllerUid as string);
    }
    if (is) {
      let t = this.#tallies.get(next.controllerUid as string);
      if (!t) this.#tallies.set(next.controllerUid as string, (t = { active: new Set(), ready: 0 }));
      t.active.add(next.key);
      if (next.ready) t.ready++;
    }
  }

  #trackNode(node: KubeObject, prev: Entry | undefined, next: Entry | undefined): void {
    const name = (next ?? prev)!.name;
    const cidr = podCidrOf(node);
    const k = cidr === undefined ? undefined : cidrIndexOf(cidr);
    if (!next) {
      this.podIps.removeNode(name);
      if (k !== undefined) this.nodeCidrs.release(k);
      this.schedulableNodes.delete(name);
      return;
    }
    if (cidr !== undefined) this.podIps.addNode(name, cidr);
    if (k !== undefined) this.nodeCidrs.markUsed(k);
    if (next.ready && cidr !== undefined) this.schedulableNodes.add(name);
    else this.schedulableNodes.delete(name);
  }
}

/** Pods counted for their controller: not Succeeded or Failed. */
export interface PodTally {
  readonly active: Set<string>;
  ready: number;
}

const EMPTY: ReadonlySet<string> = new Set();
const EMPTY_TALLY: PodTally = Object.freeze({ active: new Set<string>(), ready: 0 }) as PodTally;
const EMPTY_MAP: ReadonlyMap<string, ReadonlySet<string>> = new Map();

/** A pod holds its IP while it lives and is not finished; then the node may reuse it. */
function holds(e: Entry | undefined): boolean {
  return !!e?.ip && !!e.nodeName && !e.hostNetwork && !isTerminal(e.phase);
}

/** A pod its controller counts: owned, and not finished. */
function counted(e: Entry | undefined): e is Entry {
  return e?.controllerUid !== undefined && !isTerminal(e.phase);
}

export function isTerminal(phase: string | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

function setIn(map: Map<string, Map<string, Set<string>>>, a: string, b: string): Set<string> {
  let inner = map.get(a);
  if (!inner) map.set(a, (inner = new Map()));
  let set = inner.get(b);
  if (!set) inner.set(b, (set = new Set()));
  return set;
}

function pruneEmpty(map: Map<string, Map<string, Set<string>>>, a: string, b: string): void {
  const inner = map.get(a);
  if (inner?.get(b)?.size === 0) inner.delete(b);
  if (inner?.size === 0) map.delete(a);
}

/** spec.podCIDR, else the IPAM's own record of the node's block (podCidrs: false scenarios). */
function podCidrOf(node: KubeObject): string | undefined {
  const cidr = (node['spec'] as Json | undefined)?.['podCIDR'] ?? node.metadata.annotations?.[POD_CIDR_ANNOTATION];
  return typeof cidr === 'string' ? cidr : undefined;
}

function toEntry(stored: StoredObject, prev: Entry | undefined): Entry {
  const o = stored.object;
  const meta = o.metadata;
  const refs = meta.ownerReferences;
  // Reuse the previous owners array when unchanged: the index compares it by reference.
  const owners = refs === undefined || refs.length === 0 ? NO_OWNERS : sameOwners(prev?.owners, refs) ? prev!.owners : refs.map((r) => r.uid);
  const f = stored.kind === 'Pod' ? podFields(o) : stored.kind === 'Node' ? nodeFields(o) : NO_FIELDS;
  // One literal with every field: all entries share one shape, which keeps lookups fast.
  return {
    kind: stored.kind,
    key: stored.key,
    name: meta.name,
    namespace: meta.namespace,
    uid: meta.uid,
    owners,
    controllerUid: refs?.find((r) => r.controller)?.uid,
    labels: meta.labels,
    generation: meta.generation,
    createdRv: prev?.createdRv ?? stored.rv,
    nodeName: f.nodeName,
    ip: f.ip,
    ready: f.ready,
    phase: f.phase,
    hostNetwork: f.hostNetwork,
    zone: f.zone,
    hostname: f.hostname,
    subdomain: f.subdomain,
  };
}

const NO_OWNERS: readonly string[] = Object.freeze([]);

function sameOwners(prev: readonly string[] | undefined, refs: ReadonlyArray<{ uid: string }>): boolean {
  if (!prev || prev.length !== refs.length) return false;
  for (let i = 0; i < prev.length; i++) if (prev[i] !== refs[i]!.uid) return false;
  return true;
}

type PodFields = Pick<Entry, 'nodeName' | 'ip' | 'ready' | 'phase' | 'hostNetwork' | 'zone' | 'hostname' | 'subdomain'>;

const NO_FIELDS: PodFields = {
  nodeName: undefined, ip: undefined, ready: false, phase: undefined, hostNetwork: false, zone: undefined, hostname: undefined, subdomain: undefined,
};

function podFields(pod: KubeObject): PodFields {
  const spec = (pod['spec'] ?? {}) as Json;
  const status = (pod['status'] ?? {}) as Json;
  const conditions = status['conditions'] as Json[] | undefined;
  const ready = conditions?.some((c) => c['type'] === 'Ready' && c['status'] === 'True') ?? false;
  const nodeName = spec['nodeName'];
  const ip = status['podIP'];
  return {
    nodeName: typeof nodeName === 'string' && nodeName !== '' ? nodeName : undefined,
    ip: typeof ip === 'string' && ip !== '' ? ip : undefined,
    ready,
    phase: typeof status['phase'] === 'string' ? (status['phase'] as string) : undefined,
    hostNetwork: spec['hostNetwork'] === true,
    zone: undefined,
    hostname: typeof spec['hostname'] === 'string' ? spec['hostname'] : undefined,
    subdomain: typeof spec['subdomain'] === 'string' ? spec['subdomain'] : undefined,
  };
}

function nodeFields(node: KubeObject): PodFields {
  const spec = (node['spec'] ?? {}) as Json;
  const status = (node['status'] ?? {}) as Json;
  const conditions = status['conditions'] as Json[] | undefined;
  const ready = conditions?.some((c) => c['type'] === 'Ready' && c['status'] === 'True') ?? false;
  const addresses = status['addresses'] as Array<{ type: string; address: string }> | undefined;
  return {
    nodeName: undefined,
    ip: addresses?.find((a) => a.type === 'InternalIP')?.address,
    ready: ready && spec['unschedulable'] !== true,
    phase: undefined,
    hostNetwork: false,
    zone: node.metadata.labels?.['topology.kubernetes.io/zone'],
    hostname: undefined,
    subdomain: undefined,
  };
}
