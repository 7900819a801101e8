/**
 * Address management of the simulated cluster, as a kubeadm cluster with a host-local CNI does
 * it: every node gets one /24 pod CIDR (its `spec.podCIDR`) and an InternalIP, and each pod
 * gets the lowest free address of its node's /24.
 *
 * Lowest-free (instead of host-local's round robin) is deliberate: a pod that dies frees its
 * IP and the next pod on that node gets it at once, and a removed node's /24 goes to the next
 * node that joins. IP reuse is what IP -> object lookups downstream must survive.
 *
 * Pod CIDRs count /24 blocks from 10.244.0.0 (flannel's default /16), continue through
 * 10.255.255.0, then use 10.128.0.0-10.243.255.0 and 10.112.0.0-10.127.255.0, which keeps
 * clear of the service range 10.96.0.0/12: 144 x 256 = 36,864 nodes at most.
 */
const SECOND_OCTETS: readonly number[] = [...range(244, 255), ...range(128, 243), ...range(112, 127)];
export const MAX_NODE_CIDRS = SECOND_OCTETS.length * 256;
/** Host addresses .0 (network), .1 (the node's bridge) and .255 (broadcast) are never pods'. */
const FIRST_HOST = 2;
const LAST_HOST = 254;

/** The /24 pod CIDR with index `k` (0-based). */
export function podCidrOf(k: number): string {
  return `10.${SECOND_OCTETS[k >> 8]}.${k & 255}.0/24`;
}

/** The node InternalIP that goes with pod CIDR `k`: 172.18.0.10 upwards. */
export function nodeIpOf(k: number): string {
  const n = k + 10;
  return `172.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

/** The index of a pod CIDR this module hands out, or undefined for any other string. */
export function cidrIndexOf(podCidr: string): number | undefined {
  const m = /^10\.(\d+)\.(\d+)\.0\/24$/.exec(podCidr);
  if (!m) return undefined;
  const block = SECOND_OCTETS.indexOf(Number(m[1]));
  const third = Number(m[2]);
  return block < 0 || third > 255 ? undefined : block * 256 + third;
}

/** Pod CIDR blocks in use; hands out the lowest free one. */
export class NodeCidrPool {
  readonly #used = new Uint8Array(MAX_NODE_CIDRS);
  #lowestFree = 0;
  #inUse = 0;

  get inUse(): number {
    return this.#inUse;
  }

  /** The lowest free block index, now marked used, or undefined when all are taken. */
  allocate(): number | undefined {
    for (let k = this.#lowestFree; k < MAX_NODE_CIDRS; k++) {
      if (this.#used[k] === 0) {
        this.markUsed(k);
        this.#lowestFree = k + 1;
        return k;
      }
    }
    return undefined;
  }

  markUsed(k: number): void {
    if (this.#used[k] === 1) return;
    this.#used[k] = 1;
    this.#inUse++;
  }

  release(k: number): void {
    if (this.#used[k] !== 1) return;
    this.#used[k] = 0;
    this.#inUse--;
    if (k < this.#lowestFree) this.#lowestFree = k;
  }
}

/** One node's /24: which pod (by uid) holds each host address. */
class NodePodIps {
  readonly prefix: string;
  readonly #holders: Array<string | undefined> = new Array(256).fill(undefined);
  #lowestFree = FIRST_HOST;

  constructor(podCidr: string) {
    this.prefix = podCidr.slice(0, podCidr.lastIndexOf('.') + 1);
  }

  allocate(uid: string): string | undefined {
    for (let h = this.#lowestFree; h <= LAST_HOST; h++) {
      if (this.#holders[h] === undefined) {
        this.#holders[h] = uid;
        this.#lowestFree = h + 1;
        return this.prefix + h;
      }
    }
    return undefined;
  }

  /** Records that `uid` holds `ip` (a pod seen with that IP); false if another pod does. */
  hold(ip: string, uid: string): boolean {
    const h = this.#hostOf(ip);
    if (h === undefined) return false;
    const holder = this.#holders[h];
    if (holder !== undefined && holder !== uid) return false;
    this.#holders[h] = uid;
    return true;
  }

  /** Frees `ip` if `uid` holds it: a dead pod whose IP went to another pod frees nothing. */
  release(ip: string, uid: string): void {
    const h = this.#hostOf(ip);
    if (h === undefined || this.#holders[h] !== uid) return;
    this.#holders[h] = undefined;
    if (h < this.#lowestFree) this.#lowestFree = h;
  }

  #hostOf(ip: string): number | undefined {
    if (!ip.startsWith(this.prefix)) return undefined;
    const h = Number(ip.slice(this.prefix.length));
    return Number.isInteger(h) && h >= FIRST_HOST && h <= LAST_HOST ? h : undefined;
  }
}

/** Pod addresses of every node that has a pod CIDR. */
export class PodIpPool {
  readonly #nodes = new Map<string, NodePodIps>();

  addNode(node: string, podCidr: string): void {
    const current = this.#nodes.get(node);
    if (current && podCidr.startsWith(current.prefix)) return;
    this.#nodes.set(node, new NodePodIps(podCidr));
  }

  removeNode(node: string): void {
    this.#nodes.delete(node);
  }

  hasNode(node: string): boolean {
    return this.#nodes.has(node);
  }

  allocate(node: string, uid: string): string | undefined {
    return this.#nodes.get(node)?.allocate(uid);
  }

  hold(node: string, ip: string, uid: string): boolean {
    return this.#nodes.get(node)?.hold(ip, uid) ?? false;
  }

  release(node: string, ip: string, uid: string): void {
    this.#nodes.get(node)?.release(ip, uid);
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
