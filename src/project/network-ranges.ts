import {
  NETWORK_RANGES_UID,
  NetworkRangesSchema,
  NodeAddressType,
  RangeSource,
  comparePrefixes,
  coveringPrefix,
  create,
  formatPrefix,
  mergePrefixes,
  parseIp,
  parsePrefix,
  prefixContains,
  prefixOf,
  prefixesOverlap,
  widenPrefix,
  type IpFamily,
  type IpPrefix,
  type NetworkRanges,
  type NodeAddress,
  type PodAddresses,
  type ResourceUpdate,
} from '../schema/index.ts';
import type { Clock } from '../core/index.ts';
import { arr, obj, str, strs } from './k8s-fields.ts';
import { payloadHash } from './payload-hash.ts';
import { CLUSTER, makeUpdate, nodeScopeName, type AuxChange, type Projection } from './projection.ts';

/**
 * The cluster's pod, service and node ranges (the NetworkRanges update, wire-protocol §3),
 * derived from what the projector sees and published only when they change.
 *
 * Pod ranges. Each node contributes its `spec.podCIDRs`, plus the observed IPs of its pods that
 * fall outside them (all of them when podCIDRs is empty, as some CNIs leave it), each taken as
 * its /24 (IPv4) or /64 (IPv6): the usual per-node block sizes. Observed blocks are remembered
 * while the node exists, so pods coming and going never narrow them. Every per-node range is
 * then widened to a cluster-sized block, /16 or /48, unless that block would overlap a service
 * range, and the blocks are merged. A new node or pod in a block already covered changes
 * nothing: at 5,000 node scopes a change costs 5,000 updates, so a change must be rare.
 *
 * Service ranges. ServiceCIDR objects (networking.k8s.io/v1, Kubernetes 1.33+) are
 * authoritative where the API server has them. Otherwise: the smallest prefix covering the
 * allocated cluster IPs of each family, widened to kube's usual sizes (/12, else /16 for IPv4;
 * /108, else /112 for IPv6) when the wider block holds no pod range.
 *
 * Node ranges. Each Node's InternalIP addresses (status.addresses; ExternalIPs are not in-cluster
 * traffic and often belong to a cloud NAT) taken as blocks of the same per-node size as observed
 * pod IPs (/24, /64), counted per block, so a node joining in a block already held changes
 * nothing. A block that holds a per-node pod range (pods and nodes sharing a subnet, as with
 * VPC-native CNIs) is left out: there the pods win. Every other block is widened to /16 or /48
 * unless that wider block would overlap a pod or a service range, and the blocks are merged.
 *
 * Hysteresis. Growth is published at once (an agent must not call a new pod external). A
 * change that only narrows what is published (a node range gone, a ServiceCIDR replacing a
 * wider derived range, a node block's last node gone) waits until it has held for
 * `shrinkAfterMs`, so autoscaling around a block boundary does not flap. A node range that
 * shrinks because pod or service ranges now claim its addresses is published at once (a pod must
 * not be called a node).
 *
 * Scopes. A change goes to the cluster scope and every live node scope; a node scope that
 * appears gets the current ranges in the same projection as its first update (so they commit
 * together, and a restart finds every live node scope holding them).
 *
 * Restart. `restore` takes the published update and the restored pods, nodes (pod CIDRs and
 * InternalIP addresses, from NodeUpdate) and services;
 * ServiceCIDRs come back from aux state. Nothing is published while restoring, and the first
 * event afterwards publishes only if the ranges now differ.
 */
export interface NetworkRangesOptions {
  readonly clock: Clock;
  /** How long a narrowing must hold before it is published (default 10 minutes). */
  readonly shrinkAfterMs?: number;
}

export const DEFAULT_SHRINK_AFTER_MS = 10 * 60_000;
/** Per-node block assumed for observed pod IPs (kube-controller-manager's default node mask sizes). */
const NODE_BLOCK: Readonly<Record<IpFamily, number>> = { 4: 24, 6: 64 };
/** The cluster-sized block a per-node range is widened to. */
const POD_BLOCK: Readonly<Record<IpFamily, number>> = { 4: 16, 6: 48 };
/** Widening steps for a derived service range, widest first (kube's default 10.96.0.0/12). */
const SERVICE_LADDER: Readonly<Record<IpFamily, readonly number[]>> = { 4: [12, 16], 6: [108, 112] };
/** Observed pod blocks are kept for at most this many node names that have no Node object. */
const MAX_UNKNOWN_NODES = 20_000;
/** Observed blocks per node: a node's pods normally come from one or two blocks. */
const MAX_OBSERVED_PER_NODE = 64;
/** InternalIP blocks counted per node (a dual-stack node has two addresses). */
const MAX_ADDRESS_BLOCKS_PER_NODE = 8;
/** Node scopes remembered as holding the ranges before the set is pruned to the live ones. */
const MAX_DELIVERED = 40_000;
const AUX_PREFIX = 'servicecidr/';

interface NodeInputs {
  known: boolean;
  spec: IpPrefix[];
  observed: Map<string, IpPrefix>;
  /** Keys (formatPrefix) this node contributes to #nodePrefixes now. */
  contributed: Set<string>;
  /** Its InternalIP addresses (sorted), and the keys of their blocks in #nodeBases. */
  addresses: string[];
  addressBlocks: Set<string>;
}

/** What a Node's addresses say: its pod CIDRs (spec) and its InternalIPs. */
interface NodeSpec {
  readonly spec: IpPrefix[];
  readonly addresses: string[];
}

/** The /24 (/64) of one or more nodes' InternalIPs, and the node block it counts in. */
interface NodeBase {
  readonly prefix: IpPrefix;
  count: number;
  /** Undefined while a per-node pod range lies in it (pods win). */
  block: IpPrefix | undefined;
  blockKey: string;
}

interface Counted {
  readonly prefix: IpPrefix;
  count: number;
}

/** What is published (or restored as published). */
interface Published {
  readonly podCidrs: readonly string[];
  readonly serviceCidrs: readonly string[];
  readonly podSource: RangeSource;
  readonly serviceSource: RangeSource;
  readonly nodeCidrs: readonly string[];
}

export class NetworkRangesTracker {
  readonly #clock: Clock;
  readonly #shrinkAfterMs: number;
  readonly #nodes = new Map<string, NodeInputs>();
  #unknownNodes = 0;
  /** Per-node ranges of known nodes → how many nodes contribute each, and from the spec. */
  readonly #nodePrefixes = new Map<string, Counted & { spec: number }>();
  /** Widened pod blocks → how many per-node ranges they hold. */
  readonly #podBlocks = new Map<string, Counted>();
  /** Per-node range key → the block key it counts in. */
  readonly #blockOf = new Map<string, string>();
  /** Per-node pod ranges at least as long as a node block, counted by that block's key. */
  readonly #podRangesByBlock = new Map<string, number>();
  /** Per-node pod ranges wider than a node block (a podCIDR wider than /24 or /64: rare). */
  readonly #widePodRanges = new Map<string, IpPrefix>();
  /** InternalIP blocks of known nodes (key: formatPrefix), counted by nodes. */
  readonly #nodeBases = new Map<string, NodeBase>();
  /** Published node blocks → how many InternalIP blocks they hold. */
  readonly #nodeBlocks = new Map<string, Counted>();
  /** Pod blocks or service ranges moved: every node block is placed again at the next compute. */
  #nodeBlocksStale = false;
  #nodesDirty = false;
  /** A node block was narrowed or left out because pod or service ranges now claim it. */
  #nodesClaimed = false;
  readonly #clusterIps = new Map<string, { family: IpFamily; value: bigint; count: number }>();
  readonly #serviceIps = new Map<string, string[]>();
  readonly #extremes = new Map<IpFamily, { min: bigint; max: bigint } | undefined>();
  #rescanExtremes = false;
  readonly #serviceCidrs = new Map<string, { name: string; cidrs: IpPrefix[] }>();
  #serviceRanges: IpPrefix[] = [];
  #serviceSource: RangeSource = RangeSource.UNSPECIFIED;
  #servicesDirty = true;
  #podsDirty = true;
  #published: Published = { podCidrs: [], serviceCidrs: [], podSource: RangeSource.UNSPECIFIED, serviceSource: RangeSource.UNSPECIFIED, nodeCidrs: [] };
  #publishedHash: number | undefined;
  #pendingShrinkSince: number | undefined;
  /** Node scopes that hold the published ranges (bounded: pruned to the live ones). */
  #delivered = new Set<string>();
  /** Updates published by this tracker (for stats and tests). */
  changes = 0;

  constructor(options: NetworkRangesOptions) {
    this.#clock = options.clock;
    this.#shrinkAfterMs = options.shrinkAfterMs ?? DEFAULT_SHRINK_AFTER_MS;
  }

  /** The ranges as published now (undefined before the first publication). */
  get published(): NetworkRanges | undefined {
    return this.#publishedHash === undefined ? undefined : this.#message(this.#published);
  }

  /** A source event of any kind; kinds the ranges do not depend on are ignored. */
  observe(kind: string, deleted: boolean, object: unknown, out: Projection): void {
    const meta = obj(obj(object)['metadata']);
    switch (kind) {
      case 'Node':
        this.#setNode(str(meta['name']), deleted ? undefined : { spec: nodeSpecCidrs(object), addresses: nodeInternalIps(object) });
        return;
      case 'Pod':
        if (!deleted) this.#observePod(podInputs(object));
        return;
      case 'Service':
        this.#setServiceIps(str(meta['uid']), deleted ? [] : serviceClusterIps(object));
        return;
      case 'ServiceCIDR':
        out.aux.push(this.#setServiceCidr(str(meta['uid']), str(meta['name']), deleted ? undefined : serviceCidrSpec(object)));
        return;
      default:
        return;
    }
  }

  /** Rebuilds inputs from one object of the store's cluster scope (Projector.restore). */
  restore(update: ResourceUpdate, payload: Uint8Array): void {
    const o = update.object;
    switch (o.case) {
      case 'node':
        this.#setNode(o.value.name, { spec: sortedPrefixes(o.value.podCidrs), addresses: internalIps(o.value.addresses) });
        return;
      case 'pod':
        this.#observePod({ node: o.value.nodeName, ips: o.value.podIps.length > 0 ? o.value.podIps : [o.value.podIp], hostIp: o.value.hostIp });
        return;
      case 'service':
        this.#setServiceIps(o.value.uid, o.value.clusterIps);
        return;
      case 'networkRanges': {
        const { podCidrs, serviceCidrs, podSource, serviceSource, nodeCidrs } = o.value;
        this.#published = { podCidrs: [...podCidrs], serviceCidrs: [...serviceCidrs], podSource, serviceSource, nodeCidrs: [...nodeCidrs] };
        this.#publishedHash = payloadHash(payload);
        return;
      }
      default:
        return;
    }
  }

  /**
   * A tombstone replayed on restored state (Projector.replay): a deleted node (its pod CIDRs,
   * observed blocks and InternalIPs) or service no longer counts. A deleted pod changes nothing: blocks a node showed stay while it exists.
   */
  restoreTombstone(update: ResourceUpdate): void {
    const o = update.object;
    if (o.case === 'node') this.#setNode(o.value.name, undefined);
    else if (o.case === 'service') this.#setServiceIps(o.value.uid, []);
  }

  /** One stored pod's node and addresses, restored without decoding it (projector images). */
  restorePod(pod: PodAddresses): void {
    this.#observePod({ node: pod.nodeName, ips: pod.podIps.length > 0 ? pod.podIps : [pod.podIp], hostIp: pod.hostIp });
  }

  restoreAux(key: string, value: Uint8Array): void {
    if (!key.startsWith(AUX_PREFIX)) return;
    const entry = JSON.parse(new TextDecoder().decode(value)) as { name: string; cidrs: string[] };
    this.#setServiceCidr(key.slice(AUX_PREFIX.length), entry.name, entry.cidrs.flatMap((c) => parsePrefix(c) ?? []));
  }

  /**
   * Ends a restore: every node scope live now holds the published ranges (each got them in the
   * same commit as its first update, and every change since went to every live scope).
   */
  finishRestore(liveNodes: Iterable<string>): void {
    this.#delivered = new Set(liveNodes);
    // Blocks placed and re-placed while the inputs arrived in store order are no change.
    this.#nodesClaimed = false;
  }

  /** ServiceCIDRs known, as stubs a DELETED event can be projected from (relist). */
  *knownServiceCidrs(): Iterable<[string, unknown]> {
    for (const [uid, s] of this.#serviceCidrs) yield [uid, { metadata: { uid, name: s.name } }];
  }

  /**
   * After an event: publishes the ranges if they changed (growth at once, narrowing after the
   * hold), and sends the current ranges to node scopes that first appear among the updates
   * from `from` on.
   */
  flush(out: Projection, from: number, liveNodes: () => Iterable<string>, isLive: (node: string) => boolean): void {
    if (this.#servicesDirty || this.#podsDirty || this.#nodesDirty || this.#nodeBlocksStale || this.#pendingShrinkSince !== undefined) this.#publishIfChanged(out, liveNodes);
    if (this.#publishedHash === undefined) return;
    const fresh: string[] = [];
    const end = out.updates.length;
    for (let i = from; i < end; i++) {
      for (const scope of (out.updates[i] as { scopes: readonly string[] }).scopes) {
        if (scope === CLUSTER || this.#delivered.has(scope.slice(5))) continue;
        const node = scope.slice(5);
        if (!isLive(node) || fresh.includes(node)) continue;
        fresh.push(node);
      }
    }
    if (fresh.length === 0) return;
    for (const node of fresh) this.#delivered.add(node);
    out.updates.push({ ...this.#update(fresh.map(nodeScopeName)), viewOnly: true });
    if (this.#delivered.size > MAX_DELIVERED) this.#delivered = new Set([...this.#delivered].filter(isLive));
  }

  #publishIfChanged(out: Projection, liveNodes: () => Iterable<string>): void {
    const next = this.#compute();
    const same =
      sameList(next.podCidrs, this.#published.podCidrs) && sameList(next.serviceCidrs, this.#published.serviceCidrs) &&
      sameList(next.nodeCidrs, this.#published.nodeCidrs) &&
      next.podSource === this.#published.podSource && next.serviceSource === this.#published.serviceSource;
    if (same && this.#publishedHash !== undefined) {
      this.#pendingShrinkSince = undefined;
      this.#nodesClaimed = false;
      return;
    }
    if (next.podCidrs.length === 0 && next.serviceCidrs.length === 0 && next.nodeCidrs.length === 0 && this.#publishedHash === undefined) return;
    if (this.#narrowsOnly(next)) {
      const now = this.#clock.now();
      this.#pendingShrinkSince ??= now;
      if (now - this.#pendingShrinkSince < this.#shrinkAfterMs) return;
    }
    this.#pendingShrinkSince = undefined;
    this.#nodesClaimed = false;
    this.#published = next;
    const live = [...liveNodes()];
    const update = this.#update([CLUSTER, ...live.map(nodeScopeName)]);
    this.#publishedHash = payloadHash(update.payload);
    this.#delivered = new Set(live);
    this.changes++;
    out.updates.push(update);
  }

  /**
   * Whether `next` lies entirely inside what is published, from the same sources, and no node
   * range shrank because pods or services claim its addresses (that is published at once).
   */
  #narrowsOnly(next: Published): boolean {
    if (this.#publishedHash === undefined || this.#nodesClaimed) return false;
    if (next.podSource !== this.#published.podSource || next.serviceSource !== this.#published.serviceSource) return false;
    return covers(this.#published.podCidrs, next.podCidrs) && covers(this.#published.serviceCidrs, next.serviceCidrs) && covers(this.#published.nodeCidrs, next.nodeCidrs);
  }

  #update(scopes: readonly string[]) {
    return makeUpdate('NetworkRanges', NETWORK_RANGES_UID, 'networkRanges', this.#message(this.#published), scopes, 'upsert');
  }

  #message(p: Published): NetworkRanges {
    return create(NetworkRangesSchema, {
      uid: NETWORK_RANGES_UID, podCidrs: [...p.podCidrs], serviceCidrs: [...p.serviceCidrs], podSource: p.podSource, serviceSource: p.serviceSource,
      nodeCidrs: [...p.nodeCidrs],
    });
  }

  #compute(): Published {
    if (this.#servicesDirty) this.#computeServices();
    // Node blocks are placed around the pod and service ranges: after those, when they moved.
    if (this.#nodeBlocksStale) this.#rebuildNodeBlocks();
    this.#podsDirty = false;
    this.#nodesDirty = false;
    let spec = 0;
    let observed = 0;
    for (const e of this.#nodePrefixes.values()) {
      spec += e.spec;
      observed += e.count - e.spec;
    }
    const podSource = spec > 0 && observed > 0 ? RangeSource.MIXED : spec > 0 ? RangeSource.NODE_SPEC : observed > 0 ? RangeSource.OBSERVED : RangeSource.UNSPECIFIED;
    const pods = mergePrefixes([...this.#podBlocks.values()].map((b) => b.prefix));
    const nodes = mergePrefixes([...this.#nodeBlocks.values()].map((b) => b.prefix));
    return { podCidrs: pods.map(formatPrefix), serviceCidrs: this.#serviceRanges.map(formatPrefix), podSource, serviceSource: this.#serviceSource, nodeCidrs: nodes.map(formatPrefix) };
  }

  #computeServices(): void {
    this.#servicesDirty = false;
    const before = this.#serviceRanges.map(formatPrefix).join();
    if (this.#serviceCidrs.size > 0) {
      this.#serviceRanges = mergePrefixes([...this.#serviceCidrs.values()].flatMap((s) => s.cidrs));
      this.#serviceSource = RangeSource.SERVICE_CIDR;
    } else {
      if (this.#rescanExtremes) this.#scanExtremes();
      const ranges: IpPrefix[] = [];
      for (const family of [4, 6] as const) {
        const e = this.#extremes.get(family);
        if (e) ranges.push(this.#widenService(coveringPrefix(family, e.min, e.max)));
      }
      this.#serviceRanges = ranges;
      this.#serviceSource = ranges.length > 0 ? RangeSource.OBSERVED : RangeSource.UNSPECIFIED;
    }
    // Pod blocks are widened around the service ranges: re-derive them when those moved.
    if (this.#serviceRanges.map(formatPrefix).join() !== before) this.#rebuildPodBlocks();
  }

  #widenService(covering: IpPrefix): IpPrefix {
    for (const length of SERVICE_LADDER[covering.family]) {
      const wide = widenPrefix(covering, length);
      if (wide === covering) return covering;
      if (![...this.#nodePrefixes.values()].some((n) => prefixesOverlap(n.prefix, wide))) return wide;
    }
    return covering;
  }

  #scanExtremes(): void {
    this.#rescanExtremes = false;
    this.#extremes.clear();
    for (const ip of this.#clusterIps.values()) this.#extend(ip.family, ip.value);
  }

  #extend(family: IpFamily, value: bigint): boolean {
    const e = this.#extremes.get(family);
    if (!e) {
      this.#extremes.set(family, { min: value, max: value });
      return true;
    }
    if (value >= e.min && value <= e.max) return false;
    this.#extremes.set(family, { min: value < e.min ? value : e.min, max: value > e.max ? value : e.max });
    return true;
  }

  #setServiceIps(uid: string, ips: readonly string[]): void {
    if (uid === '') return;
    const next = ips.filter((ip) => parseIp(ip) !== undefined);
    const prev = this.#serviceIps.get(uid) ?? [];
    if (sameList(prev, next)) return;
    for (const ip of prev) {
      const entry = this.#clusterIps.get(ip);
      if (!entry || --entry.count > 0) continue;
      this.#clusterIps.delete(ip);
      const e = this.#extremes.get(entry.family);
      if (e && (entry.value === e.min || entry.value === e.max)) {
        this.#rescanExtremes = true;
        this.#servicesDirty = true;
      }
    }
    for (const ip of next) {
      const entry = this.#clusterIps.get(ip);
      if (entry) {
        entry.count++;
        continue;
      }
      const parsed = parseIp(ip) as { family: IpFamily; value: bigint };
      this.#clusterIps.set(ip, { ...parsed, count: 1 });
      if (this.#extend(parsed.family, parsed.value)) this.#servicesDirty = true;
    }
    if (next.length === 0) this.#serviceIps.delete(uid);
    else this.#serviceIps.set(uid, next);
  }

  #setServiceCidr(uid: string, name: string, cidrs: IpPrefix[] | undefined): AuxChange {
    const key = AUX_PREFIX + uid;
    if (cidrs === undefined) this.#serviceCidrs.delete(uid);
    else this.#serviceCidrs.set(uid, { name, cidrs });
    this.#servicesDirty = true;
    const value = cidrs === undefined ? undefined : new TextEncoder().encode(JSON.stringify({ name, cidrs: cidrs.map(formatPrefix) }));
    return { key, value };
  }

  /** A Node appeared, changed or was deleted (`inputs` undefined). */
  #setNode(name: string, inputs: NodeSpec | undefined): void {
    if (name === '') return;
    const node = this.#nodes.get(name);
    if (inputs === undefined) {
      if (!node) return;
      this.#nodes.delete(name);
      if (!node.known) this.#unknownNodes--;
      this.#contribute(node, new Set(), new Map());
      this.#setAddressBlocks(node, new Map());
      return;
    }
    // Node events are mostly heartbeats: nothing to do when the node was known with this spec
    // and these addresses.
    const sameSpec = node?.known === true && sameList(node.spec.map(formatPrefix), inputs.spec.map(formatPrefix));
    if (sameSpec && sameList(node.addresses, inputs.addresses)) return;
    const entry = node ?? { known: true, spec: [], observed: new Map(), contributed: new Set(), addresses: [], addressBlocks: new Set() };
    if (!node) this.#nodes.set(name, entry);
    if (node && !node.known) this.#unknownNodes--;
    entry.known = true;
    if (!sameSpec) {
      entry.spec = inputs.spec;
      this.#recontribute(entry);
    }
    entry.addresses = inputs.addresses;
    this.#setAddressBlocks(entry, addressBlocks(inputs.addresses));
  }

  /** The InternalIP blocks a node contributes now: counted, a new block placed. */
  #setAddressBlocks(node: NodeInputs, next: Map<string, IpPrefix>): void {
    for (const key of node.addressBlocks) {
      if (next.has(key)) continue;
      const base = this.#nodeBases.get(key);
      if (!base || --base.count > 0) continue;
      this.#nodeBases.delete(key);
      this.#unplaceNodeBase(base);
    }
    for (const [key, prefix] of next) {
      if (node.addressBlocks.has(key)) continue;
      const base = this.#nodeBases.get(key);
      if (base) {
        base.count++;
        continue;
      }
      const fresh: NodeBase = { prefix, count: 1, block: undefined, blockKey: '' };
      this.#nodeBases.set(key, fresh);
      this.#placeNodeBase(fresh, undefined);
    }
    node.addressBlocks = new Set(next.keys());
  }

  /**
   * Counts an InternalIP block in its node block: none while a per-node pod range lies in it,
   * else widened as a pod block is, around the pod and the service ranges. `previous`: the
   * block it counted in before (a narrower one now is a claim by pods or services).
   */
  #placeNodeBase(base: NodeBase, previous: IpPrefix | undefined): void {
    const block = this.#holdsPodRange(base.prefix) ? undefined : widenAvoiding(base.prefix, POD_BLOCK, [this.#podBlockPrefixes(), this.#serviceRanges]);
    if (previous !== undefined && (block === undefined || !prefixContains(block, previous))) this.#nodesClaimed = true;
    base.block = block;
    if (block === undefined) return;
    base.blockKey = formatPrefix(block);
    const b = this.#nodeBlocks.get(base.blockKey);
    if (b) b.count++;
    else {
      this.#nodeBlocks.set(base.blockKey, { prefix: block, count: 1 });
      this.#nodesDirty = true;
    }
  }

  #unplaceNodeBase(base: NodeBase): void {
    if (base.block === undefined) return;
    base.block = undefined;
    const b = this.#nodeBlocks.get(base.blockKey);
    if (!b || --b.count > 0) return;
    this.#nodeBlocks.delete(base.blockKey);
    this.#nodesDirty = true;
  }

  #replaceNodeBase(base: NodeBase): void {
    const previous = base.block;
    this.#unplaceNodeBase(base);
    this.#placeNodeBase(base, previous);
  }

  #rebuildNodeBlocks(): void {
    this.#nodeBlocksStale = false;
    this.#nodeBlocks.clear();
    for (const base of this.#nodeBases.values()) {
      const previous = base.block;
      base.block = undefined;
      this.#placeNodeBase(base, previous);
    }
    this.#nodesDirty = true;
  }

  /** Whether a per-node pod range overlaps the node block `p` (map lookups, no scan). */
  #holdsPodRange(p: IpPrefix): boolean {
    if (this.#podRangesByBlock.has(formatPrefix(p))) return true;
    for (const wide of this.#widePodRanges.values()) if (prefixContains(wide, p)) return true;
    return false;
  }

  *#podBlockPrefixes(): Iterable<IpPrefix> {
    for (const b of this.#podBlocks.values()) yield b.prefix;
  }

  /** A per-node pod range appeared or went: the node block it lies in (or that lies in it) is placed again. */
  #podRangeChangedForNodes(key: string, p: IpPrefix, added: boolean): void {
    const length = NODE_BLOCK[p.family];
    if (p.length >= length) {
      const blockKey = p.length === length ? key : formatPrefix(prefixOf(p.family, p.address, length));
      const n = (this.#podRangesByBlock.get(blockKey) ?? 0) + (added ? 1 : -1);
      if (n > 0) this.#podRangesByBlock.set(blockKey, n);
      else this.#podRangesByBlock.delete(blockKey);
      const base = this.#nodeBases.get(blockKey);
      if (base) this.#replaceNodeBase(base);
      return;
    }
    if (added) this.#widePodRanges.set(key, p);
    else this.#widePodRanges.delete(key);
    for (const base of this.#nodeBases.values()) if (prefixContains(p, base.prefix)) this.#replaceNodeBase(base);
  }

  #observePod(pod: { node: string; ips: readonly string[]; hostIp: string }): void {
    if (pod.node === '') return;
    let node = this.#nodes.get(pod.node);
    for (const text of pod.ips) {
      // A host-network pod's IP is its node's: it says nothing about pod ranges.
      if (text === '' || text === pod.hostIp) continue;
      // Every pod event comes here: the common case (an IPv4 /24 the node already showed) is
      // answered from the text, without parsing.
      const quick = ipv4BlockKey(text);
      if (quick !== undefined && node?.observed.has(quick)) continue;
      const ip = parseIp(text);
      if (!ip) continue;
      const block = prefixOf(ip.family, ip.value, NODE_BLOCK[ip.family]);
      const key = formatPrefix(block);
      if (node?.observed.has(key)) continue;
      if (!node) {
        if (this.#unknownNodes >= MAX_UNKNOWN_NODES) return;
        node = { known: false, spec: [], observed: new Map(), contributed: new Set(), addresses: [], addressBlocks: new Set() };
        this.#nodes.set(pod.node, node);
        this.#unknownNodes++;
      }
      if (node.observed.size >= MAX_OBSERVED_PER_NODE) return;
      node.observed.set(key, block);
      if (node.known) this.#recontribute(node);
    }
  }

  /** What a known node contributes: its spec ranges and observed blocks outside them. */
  #recontribute(node: NodeInputs): void {
    const next = new Map<string, IpPrefix>();
    const fromSpec = new Map<string, IpPrefix>();
    for (const p of node.spec) fromSpec.set(formatPrefix(p), p);
    for (const [key, p] of node.observed) if (!node.spec.some((s) => prefixContains(s, p))) next.set(key, p);
    this.#contribute(node, new Set(fromSpec.keys()), new Map([...fromSpec, ...next]));
  }

  #contribute(node: NodeInputs, specKeys: Set<string>, next: Map<string, IpPrefix>): void {
    for (const key of node.contributed) {
      if (next.has(key)) continue;
      const e = this.#nodePrefixes.get(key);
      if (!e) continue;
      e.count--;
      if (e.spec > 0 && !specKeys.has(key)) e.spec--;
      if (e.count <= 0) {
        this.#nodePrefixes.delete(key);
        this.#uncountBlock(key);
        this.#nodePrefixChanged(e.prefix);
        this.#podRangeChangedForNodes(key, e.prefix, false);
      }
    }
    for (const [key, prefix] of next) {
      if (node.contributed.has(key)) continue;
      const e = this.#nodePrefixes.get(key);
      if (e) {
        e.count++;
        if (specKeys.has(key)) e.spec++;
        continue;
      }
      this.#nodePrefixes.set(key, { prefix, count: 1, spec: specKeys.has(key) ? 1 : 0 });
      this.#countBlock(key, prefix);
      this.#nodePrefixChanged(prefix);
      this.#podRangeChangedForNodes(key, prefix, true);
    }
    node.contributed = new Set(next.keys());
    // The source (spec or observed) may have changed without any range changing.
    this.#podsDirty = true;
  }

  /** A per-node range appeared or went: a derived service range widened near it may change. */
  #nodePrefixChanged(p: IpPrefix): void {
    if (this.#serviceCidrs.size > 0) return;
    for (const s of this.#serviceRanges) {
      const widest = widenPrefix(s, SERVICE_LADDER[s.family][0] as number);
      if (prefixesOverlap(widest, p)) this.#servicesDirty = true;
    }
  }

  #blockFor(p: IpPrefix): IpPrefix {
    return widenAvoiding(p, POD_BLOCK, [this.#serviceRanges]);
  }

  #countBlock(key: string, prefix: IpPrefix): void {
    const block = this.#blockFor(prefix);
    const blockKey = formatPrefix(block);
    this.#blockOf.set(key, blockKey);
    const b = this.#podBlocks.get(blockKey);
    if (b) b.count++;
    else {
      this.#podBlocks.set(blockKey, { prefix: block, count: 1 });
      this.#podsDirty = true;
      this.#nodeBlocksStale = true;
    }
  }

  #uncountBlock(key: string): void {
    const blockKey = this.#blockOf.get(key);
    this.#blockOf.delete(key);
    const b = blockKey === undefined ? undefined : this.#podBlocks.get(blockKey);
    if (!b || --b.count > 0) return;
    this.#podBlocks.delete(blockKey as string);
    this.#podsDirty = true;
    this.#nodeBlocksStale = true;
  }

  #rebuildPodBlocks(): void {
    this.#podBlocks.clear();
    this.#blockOf.clear();
    for (const [key, e] of this.#nodePrefixes) this.#countBlock(key, e.prefix);
    this.#podsDirty = true;
    this.#nodeBlocksStale = true;
  }
}

/**
 * `p` widened to the block of `lengths` (a pod or node block: /16, /48), unless that block
 * overlaps a prefix of `avoid`; then `p` itself.
 */
function widenAvoiding(p: IpPrefix, lengths: Readonly<Record<IpFamily, number>>, avoid: ReadonlyArray<Iterable<IpPrefix>>): IpPrefix {
  const wide = widenPrefix(p, lengths[p.family]);
  if (wide === p) return p;
  for (const list of avoid) for (const q of list) if (prefixesOverlap(q, wide)) return p;
  return wide;
}

/** `a.b.c.0/24` for an IPv4 address `a.b.c.d` (as formatPrefix writes it), else undefined. */
function ipv4BlockKey(text: string): string | undefined {
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(text)) return undefined;
  return `${text.slice(0, text.lastIndexOf('.'))}.0/24`;
}

/** Every prefix of `inner` lies inside a prefix of `outer`. */
function covers(outer: readonly string[], inner: readonly string[]): boolean {
  const o = outer.flatMap((c) => parsePrefix(c) ?? []);
  return inner.every((c) => {
    const p = parsePrefix(c);
    return p !== undefined && o.some((q) => prefixContains(q, p));
  });
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sortedPrefixes(texts: readonly string[]): IpPrefix[] {
  return texts.flatMap((t) => parsePrefix(t) ?? []).sort(comparePrefixes);
}

/** spec.podCIDRs (or the older single spec.podCIDR). */
function nodeSpecCidrs(object: unknown): IpPrefix[] {
  const spec = obj(obj(object)['spec']);
  const list = strs(spec['podCIDRs']);
  return sortedPrefixes(list.length > 0 ? list : [str(spec['podCIDR'])]);
}

/** status.addresses of type InternalIP, sorted, without duplicates. */
function nodeInternalIps(object: unknown): string[] {
  const addresses = arr(obj(obj(object)['status'])['addresses']);
  return sortedUnique(addresses.filter((a) => str(a['type']) === 'InternalIP').map((a) => str(a['address'])));
}

/** The InternalIP addresses of a published NodeUpdate, as nodeInternalIps reads them. */
function internalIps(addresses: readonly NodeAddress[]): string[] {
  return sortedUnique(addresses.filter((a) => a.type === NodeAddressType.INTERNAL_IP).map((a) => a.address));
}

function sortedUnique(list: string[]): string[] {
  return [...new Set(list.filter((a) => a !== ''))].sort();
}

/** The per-node blocks (/24, /64) of a node's addresses, by key (at most a few). */
function addressBlocks(addresses: readonly string[]): Map<string, IpPrefix> {
  const out = new Map<string, IpPrefix>();
  for (const text of addresses) {
    const ip = parseIp(text);
    if (!ip || out.size >= MAX_ADDRESS_BLOCKS_PER_NODE) continue;
    const block = prefixOf(ip.family, ip.value, NODE_BLOCK[ip.family]);
    out.set(formatPrefix(block), block);
  }
  return out;
}

function podInputs(object: unknown): { node: string; ips: string[]; hostIp: string } {
  const o = obj(object);
  const spec = obj(o['spec']);
  const status = obj(o['status']);
  const fromList = arr(status['podIPs']).map((e) => str(obj(e)['ip']));
  const ips = fromList.length > 0 ? fromList : [str(status['podIP'])];
  // A host-network pod reports its node's IP: no pod range to learn from it.
  return { node: str(spec['nodeName']), ips: spec['hostNetwork'] === true ? [] : ips, hostIp: str(status['hostIP']) };
}

/** spec.clusterIPs (or spec.clusterIP); "None" (headless) and empty are no IPs. */
function serviceClusterIps(object: unknown): string[] {
  const spec = obj(obj(object)['spec']);
  const list = strs(spec['clusterIPs']);
  return (list.length > 0 ? list : [str(spec['clusterIP'])]).filter((ip) => ip !== '' && ip !== 'None');
}

function serviceCidrSpec(object: unknown): IpPrefix[] {
  return sortedPrefixes(strs(obj(obj(object)['spec'])['cidrs']));
}
