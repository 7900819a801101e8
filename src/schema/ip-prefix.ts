/**
 * IP addresses and CIDR prefixes as the NetworkRanges update carries them (wire-protocol §3):
 * parsing, the canonical text form, containment, covering and merging. Shared by the producer
 * (which derives the ranges) and the SDK (which classifies IPs by them), so both read a CIDR the
 * same way. Addresses are bigints (IPv6 needs 128 bits); nothing here allocates per lookup
 * beyond parsing the address.
 */

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

/** A CIDR prefix; `address` has its host bits cleared. */
export interface IpPrefix {
  readonly family: IpFamily;
  readonly address: bigint;
  readonly length: number;
}

const BITS = { 4: 32, 6: 128 } as const;

export function familyBits(family: IpFamily): number {
  return BITS[family];
}

/**
 * Parses an IPv4 (dotted quad, no leading zeros) or IPv6 address (RFC 4291 text forms, an
 * embedded IPv4 tail and a `%zone` allowed). An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`)
 * is returned as the IPv4 address: a dual-stack socket reports IPv4 peers that way.
 * Undefined for anything else.
 */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const v6 = parseIpv6(text);
    if (v6 === undefined) return undefined;
    if (v6 >> 32n === 0xffffn) return { family: 4, value: v6 & 0xffffffffn };
    return { family: 6, value: v6 };
  }
  const v4 = parseIpv4(text);
  return v4 === undefined ? undefined : { family: 4, value: v4 };
}

/** Parses `address/length`; host bits are cleared (`10.0.0.7/8` → 10.0.0.0/8). */
export function parsePrefix(text: string): IpPrefix | undefined {
  const slash = text.indexOf('/');
  if (slash <= 0) return undefined;
  const lengthText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lengthText)) return undefined;
  const addressText = text.slice(0, slash);
  // A mapped IPv6 prefix is not folded to IPv4: its length counts 128 bits.
  const family: IpFamily = addressText.includes(':') ? 6 : 4;
  const value = family === 6 ? parseIpv6(addressText) : parseIpv4(addressText);
  const length = Number(lengthText);
  if (value === undefined || length > BITS[family]) return undefined;
  return prefixOf(family, value, length);
}

/** The prefix of `length` bits containing `value`. */
export function prefixOf(family: IpFamily, value: bigint, length: number): IpPrefix {
  const host = BigInt(BITS[family] - length);
  return { family, address: (value >> host) << host, length };
}

export function formatIp(ip: IpAddress): string {
  return ip.family === 4 ? formatIpv4(ip.value) : formatIpv6(ip.value);
}

/** Canonical text: `10.244.0.0/16`, `fd00:10:244::/48` (RFC 5952). */
export function formatPrefix(p: IpPrefix): string {
  return `${formatIp({ family: p.family, value: p.address })}/${p.length}`;
}

export function prefixContainsIp(p: IpPrefix, ip: IpAddress): boolean {
  return p.family === ip.family && prefixOf(p.family, ip.value, p.length).address === p.address;
}

export function prefixContains(outer: IpPrefix, inner: IpPrefix): boolean {
  return outer.family === inner.family && outer.length <= inner.length && prefixOf(outer.family, inner.address, outer.length).address === outer.address;
}

export function prefixesOverlap(a: IpPrefix, b: IpPrefix): boolean {
  return prefixContains(a, b) || prefixContains(b, a);
}

/** The smallest prefix containing both addresses (of one family): their common leading bits. */
export function coveringPrefix(family: IpFamily, a: bigint, b: bigint): IpPrefix {
  const bits = BITS[family];
  let length = bits;
  for (let diff = a ^ b; diff > 0n; diff >>= 1n) length--;
  return prefixOf(family, a, length);
}

/** `p` shortened to `length` bits (a wider block); `p` itself when it is already that wide. */
export function widenPrefix(p: IpPrefix, length: number): IpPrefix {
  return length >= p.length ? p : prefixOf(p.family, p.address, length);
}

/** IPv4 before IPv6, then by address, then wider first. */
export function comparePrefixes(a: IpPrefix, b: IpPrefix): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  return a.length - b.length;
}

/**
 * The same address space as `prefixes` in the fewest prefixes: contained prefixes dropped,
 * sibling halves joined (10.0.0.0/24 + 10.0.1.0/24 → 10.0.0.0/23), sorted.
 */
export function mergePrefixes(prefixes: Iterable<IpPrefix>): IpPrefix[] {
  let list = [...prefixes].sort(comparePrefixes);
  for (let changed = true; changed; ) {
    changed = false;
    const out: IpPrefix[] = [];
    for (const p of list) {
      const last = out[out.length - 1];
      if (last && prefixContains(last, p)) {
        changed ||= last !== p;
        continue;
      }
      if (last && last.length === p.length && last.length > 0) {
        const parent = prefixOf(p.family, p.address, p.length - 1);
        if (parent.address === last.address && prefixOf(p.family, last.address, p.length - 1).address === parent.address) {
          out[out.length - 1] = parent;
          changed = true;
          continue;
        }
      }
      out.push(p);
    }
    list = out.sort(comparePrefixes);
  }
  return list;
}

/**
 * Longest-prefix match over a fixed set of prefixes, each with a tag: the most specific prefix
 * holding an address wins, as in a routing table (a pod block that contains a smaller service
 * range leaves that range to the services).
 */
export class PrefixTable<T> {
  readonly #entries: Array<{ prefix: IpPrefix; tag: T }>;

  constructor(entries: Iterable<{ prefix: IpPrefix; tag: T }>) {
    // Longest first: the first match is the most specific.
    this.#entries = [...entries].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  get size(): number {
    return this.#entries.length;
  }

  lookup(ip: IpAddress): { prefix: IpPrefix; tag: T } | undefined {
    for (const e of this.#entries) if (prefixContainsIp(e.prefix, ip)) return e;
    return undefined;
  }
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIpv6(input: string): bigint | undefined {
  const zone = input.indexOf('%');
  const text = zone >= 0 ? input.slice(0, zone) : input;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === '') return [];
    const out: number[] = [];
    const parts = half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIpv4(part);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
      out.push(parseInt(part, 16));
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  let value = 0n;
  for (const g of [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail]) value = (value << 16n) | BigInt(g);
  return value;
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String(Number((value >> s) & 0xffn))).join('.');
}

/** RFC 5952: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
function formatIpv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}
