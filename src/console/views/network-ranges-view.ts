// ---------------------------------------------------------------------------------------------
// Network ranges on the cluster page: feature detection while the SDK side is being built.
//
// Issue 16 part 1 adds a `NetworkRanges` update kind and `state.networkRanges()` to the SDK,
// built in parallel with this page. Where StateView has no such method the page says "not
// available"; where it has, this reads it without any change here. Because the shape of its
// answer was not settled when this was written, the answer is read defensively: every CIDR
// string it holds is shown, grouped by the field (and for per-node maps, the key) it came from.
// Once the SDK's type is final and released, replace `readNetworkRanges` with a typed call of
// `state.networkRanges()` and a fixed layout (and drop RANGE_SOURCES for the generated enum).
// ---------------------------------------------------------------------------------------------
import { isIP } from 'node:net';
import type { StateView } from '../../sdk/index.ts';

/** CIDRs of one kind of range: `service CIDRs`, `pod CIDRs`, `pod CIDRs (node-3)`. */
export interface NetworkRangeGroup {
  readonly name: string;
  readonly cidrs: readonly string[];
  /** Where the ranges came from (`node spec`, `observed`, …) when the answer says so. */
  readonly source?: string;
}

/**
 * The cluster page's network-ranges section. `available: false`: this console's SDK does not
 * provide network ranges (yet). `available: true` with no groups: it does, and none are known
 * (the service has not published any). `omitted` counts groups left out past MAX_GROUPS.
 */
export type NetworkRangesView =
  | { readonly available: false; readonly reason: string }
  | { readonly available: true; readonly groups: readonly NetworkRangeGroup[]; readonly omitted: number };

/** Per-node pod ranges of a large cluster would be thousands of groups: the page shows this many. */
export const MAX_NETWORK_RANGE_GROUPS = 100;

/** The network ranges `state` holds, if its SDK provides `networkRanges()`. Never throws. */
export function readNetworkRanges(state: StateView): NetworkRangesView {
  // Read as unknown: this must compile and run with an SDK with or without the method.
  const method: unknown = (state as unknown as Record<string, unknown>)['networkRanges'];
  if (typeof method !== 'function') {
    return { available: false, reason: 'this console was built with an SDK that does not provide network ranges' };
  }
  let ranges: unknown;
  try {
    ranges = (method as (this: StateView) => unknown).call(state);
  } catch (err) {
    return { available: false, reason: `reading the network ranges failed: ${(err as Error).message}` };
  }
  const groups: NetworkRangeGroup[] = [];
  collectGroups(ranges, groups);
  return { available: true, groups: groups.slice(0, MAX_NETWORK_RANGE_GROUPS), omitted: Math.max(0, groups.length - MAX_NETWORK_RANGE_GROUPS) };
}

/**
 * Top-level fields with a CIDR or a list of them become one group each (`serviceCidrs` →
 * `service CIDRs`); a field holding a map or a list of records (per node) becomes one group per
 * entry, named by the entry's key or its `node`/`nodeName`/`name` field. Anything else is skipped.
 */
function collectGroups(value: unknown, out: NetworkRangeGroup[]): void {
  const top = asRecord(value);
  if (!top) return;
  for (const [key, field] of Object.entries(top)) {
    const name = humanize(key);
    const direct = cidrsIn(field);
    if (direct.length > 0) {
      const source = sourceName(top[key.replace(/cidrs?$/i, 'Source')]);
      out.push({ name, cidrs: direct, ...(source !== undefined ? { source } : {}) });
      continue;
    }
    const entries: Array<[string, unknown]> = Array.isArray(field)
      ? field.filter(isRecord).map((r, i) => [entryName(r) ?? String(i), r])
      : Object.entries(asRecord(field) ?? {});
    for (const [sub, inner] of entries) {
      const record = asRecord(inner);
      const cidrs = record ? Object.values(record).flatMap(cidrsIn) : cidrsIn(inner);
      if (cidrs.length > 0) out.push({ name: `${name} (${sub})`, cidrs });
    }
  }
}

/**
 * The message (proto/kubemeta/v1/resources.proto, `NetworkRanges`) says where each list came
 * from in `podSource` / `serviceSource`, as the numbers of its `RangeSource` enum; this maps
 * them to the words the page shows.
 */
const RANGE_SOURCES: Readonly<Record<number, string>> = { 1: 'node spec', 2: 'observed', 3: 'ServiceCIDR objects', 4: 'node spec and observed' };

function sourceName(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  return typeof value === 'number' ? RANGE_SOURCES[value] : undefined;
}

function cidrsIn(value: unknown): string[] {
  if (typeof value === 'string') return isCidr(value) ? [value] : [];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && isCidr(v));
  return [];
}

function isCidr(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash <= 0) return false;
  const family = isIP(text.slice(0, slash));
  const bits = text.slice(slash + 1);
  return family !== 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

function entryName(r: Readonly<Record<string, unknown>>): string | undefined {
  for (const key of ['node', 'nodeName', 'name']) {
    const v = r[key];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

/** `serviceCidrs` → `service CIDRs`, `podCIDRsByNode` → `pod CIDRs by node`. */
function humanize(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_-]+/)
    .filter((w) => w !== '')
    .map((w) => (/^cidrs?$/i.test(w) ? (w.length === 5 ? 'CIDRs' : 'CIDR') : w.toLowerCase()))
    .join(' ');
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Map);
}

/** A plain object as it is, a Map with string keys as an object; anything else undefined. */
function asRecord(value: unknown): Readonly<Record<string, unknown>> | undefined {
  if (value instanceof Map) return Object.fromEntries([...value].filter(([k]) => typeof k === 'string'));
  return isRecord(value) ? value : undefined;
}
