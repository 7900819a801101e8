import type { TimeNs } from '../schema/index.ts';

/** The kinds of objects that hold IPs. */
export type IpHolderKind = 'Pod' | 'Service' | 'Node';

/** One object holding one IP during [fromNs, untilNs); `untilNs` undefined while it still does. */
export interface IpInterval {
  readonly ip: string;
  readonly kind: IpHolderKind;
  readonly uid: string;
  readonly fromNs: TimeNs;
  untilNs: TimeNs | undefined;
}

/**
 * Who held which IP when (docs/design.md §8: IPs are reused by Kubernetes, so an IP → object lookup is
 * answered for a point in time). Per IP, a short list of intervals [from, until); an object's
 * interval opens when it is seen holding the IP and closes when it stops, leaves, or lets the
 * IP go. Closed intervals are forgotten once they ended before the retention horizon, so the
 * history is bounded by the retention window, not by the cluster's age.
 *
 * Bounds are approximate where Kubernetes gives no time (an IP released by a pod that finished
 * is closed when the client learns of it), so intervals may overlap briefly; the lookup then
 * prefers the interval that started last, which is the object that got the IP most recently.
 */
export class IpHistory {
  readonly #byIp = new Map<string, IpInterval[]>();
  /** Open intervals per object key (`kind/uid`). */
  readonly #open = new Map<string, Map<string, IpInterval>>();

  /** Number of IPs with at least one interval. */
  get size(): number {
    return this.#byIp.size;
  }

  /**
   * Records that the object holds exactly `ips` now: new IPs open at `fromNs`, IPs it no longer
   * lists close at `nowNs`.
   */
  hold(kind: IpHolderKind, uid: string, ips: readonly string[], fromNs: TimeNs, nowNs: TimeNs): void {
    const key = `${kind}/${uid}`;
    let open = this.#open.get(key);
    if (open) {
      for (const [ip, interval] of open) {
        if (ips.includes(ip)) continue;
        interval.untilNs = maxNs(nowNs, interval.fromNs);
        open.delete(ip);
      }
    }
    for (const ip of ips) {
      if (open?.has(ip)) continue;
      if (!open) this.#open.set(key, (open = new Map()));
      const interval: IpInterval = { ip, kind, uid, fromNs, untilNs: undefined };
      open.set(ip, interval);
      let list = this.#byIp.get(ip);
      if (!list) this.#byIp.set(ip, (list = []));
      list.push(interval);
    }
    if (open?.size === 0) this.#open.delete(key);
  }

  /** The object let go of all its IPs at `atNs` (deleted, finished, left the scope). */
  release(kind: IpHolderKind, uid: string, atNs: TimeNs): void {
    const key = `${kind}/${uid}`;
    const open = this.#open.get(key);
    if (!open) return;
    for (const interval of open.values()) interval.untilNs = maxNs(atNs, interval.fromNs);
    this.#open.delete(key);
  }

  /** The interval covering `atNs` for `ip`, preferring the latest start; undefined if none. */
  resolve(ip: string, atNs: TimeNs): IpInterval | undefined {
    const list = this.#byIp.get(ip);
    if (!list) return undefined;
    let best: IpInterval | undefined;
    for (const i of list) {
      if (i.fromNs > atNs || (i.untilNs !== undefined && i.untilNs <= atNs)) continue;
      if (!best || i.fromNs >= best.fromNs) best = i;
    }
    return best;
  }

  /** Every interval recorded for `ip`, oldest first. */
  intervals(ip: string): readonly IpInterval[] {
    return this.#byIp.get(ip) ?? [];
  }

  /** Forgets intervals that closed before `horizonNs`. */
  prune(horizonNs: TimeNs): number {
    let removed = 0;
    for (const [ip, list] of this.#byIp) {
      const kept = list.filter((i) => i.untilNs === undefined || i.untilNs >= horizonNs);
      removed += list.length - kept.length;
      if (kept.length === 0) this.#byIp.delete(ip);
      else if (kept.length !== list.length) this.#byIp.set(ip, kept);
    }
    return removed;
  }

  clear(): void {
    this.#byIp.clear();
    this.#open.clear();
  }
}

function maxNs(a: TimeNs, b: TimeNs): TimeNs {
  return a > b ? a : b;
}
