import { isTerminal, type Change, type Entry } from '../model/cluster-index.ts';
import { Controller, splitKey, type ControllerContext, type WorkQueue } from './controller.ts';
import { planSlices } from './endpoint-slices.ts';
import { PodLabelIndex } from '../model/label-index.ts';
import type { KubeObject, KubeObjectInput } from '../model/objects.ts';
import { buildEndpoints, buildEndpointSlice, compareMembers, endpointPorts, type Member } from '../kinds/service-factory.ts';

type Json = Record<string, unknown>;
type Selector = ReadonlyArray<readonly [string, string]>;

/**
 * The endpoints and endpointslice controllers in one: every Service with a selector has an
 * Endpoints object and EndpointSlices listing the pods that match the selector and have an
 * IP, ready or not (ready ones as addresses, others as notReadyAddresses / ready: false).
 *
 * Membership is kept incrementally: services are indexed by their first selector label, so
 * a pod change looks only at services that could select it, and each service remembers its
 * matching pods, so a reconcile costs O(members), never O(pods in the cluster).
 */
export class EndpointsController extends Controller {
  override readonly name = 'endpoints';
  override readonly kinds = ['Service', 'Pod', 'Endpoints'];
  readonly #selectors = new Map<string, Selector>();
  /** namespace -> "key=value" of a service's first selector label -> service keys. */
  readonly #byLabel = new Map<string, Map<string, Set<string>>>();
  readonly #members = new Map<string, Set<string>>();
  /** Members by pod key, rebuilt only when the pod's address, readiness or node changes. */
  readonly #memberOf = new Map<string, Member>();
  readonly #labels: PodLabelIndex;

  constructor(ctx: ControllerContext, queue: WorkQueue) {
    super(ctx, queue);
    this.#labels = new PodLabelIndex(ctx.index);
  }

  override observe(change: Change): void {
    const kind = change.stored.kind;
    if (kind === 'Service') this.#observeService(change);
    else if (kind === 'Pod') this.#observePod(change.prev, change.next);
    else if (change.type === 'DELETED' && this.#selectors.has(change.stored.key)) this.queue.add(change.stored.key);
  }

  #observeService(change: Change): void {
    const key = change.stored.key;
    this.#forget(key);
    if (change.next) {
      const selector = selectorOf(change.stored.object);
      if (selector) this.#remember(key, change.next.namespace as string, selector);
    }
    this.queue.add(key);
  }

  #remember(key: string, namespace: string, selector: Selector): void {
    this.#selectors.set(key, selector);
    const [k, v] = selector[0] as readonly [string, string];
    let byLabel = this.#byLabel.get(namespace);
    if (!byLabel) this.#byLabel.set(namespace, (byLabel = new Map()));
    let set = byLabel.get(`${k}=${v}`);
    if (!set) byLabel.set(`${k}=${v}`, (set = new Set()));
    set.add(key);
    this.#labels.use(namespace, k);
    const members = new Set<string>();
    for (const podKey of this.#labels.pods(namespace, k, v)) {
      const pod = this.ctx.index.entry('Pod', podKey);
      if (pod && selects(selector, pod)) members.add(podKey);
    }
    this.#members.set(key, members);
  }

  #forget(key: string): void {
    const selector = this.#selectors.get(key);
    if (!selector) return;
    const [k, v] = selector[0] as readonly [string, string];
    const [namespace] = splitKey(key);
    this.#byLabel.get(namespace as string)?.get(`${k}=${v}`)?.delete(key);
    this.#labels.release(namespace as string, k);
    this.#selectors.delete(key);
    this.#members.delete(key);
  }

  #observePod(prev: Entry | undefined, next: Entry | undefined): void {
    const e = (next ?? prev) as Entry;
    if (prev?.labels !== next?.labels) this.#labels.update(e.namespace as string, e.key, prev?.labels, next?.labels);
    if (!next || !prev || prev.ip !== next.ip || prev.ready !== next.ready || prev.nodeName !== next.nodeName || prev.phase !== next.phase) this.#memberOf.delete(e.key);
    const byLabel = this.#byLabel.get(e.namespace as string);
    if (!byLabel) return;
    if (prev && next && prev.labels === next.labels && prev.ip === next.ip && prev.ready === next.ready && prev.nodeName === next.nodeName && prev.phase === next.phase) return;
    for (const svc of candidates(byLabel, this.#labels.keys(e.namespace as string), prev, next)) {
      const selector = this.#selectors.get(svc) as Selector;
      const was = prev !== undefined && selects(selector, prev);
      const is = next !== undefined && selects(selector, next);
      const members = this.#members.get(svc) as Set<string>;
      if (is) members.add(e.key);
      else members.delete(e.key);
      const visible = was !== is ? !!(prev?.ip ?? next?.ip) : is && (prev?.ip !== next?.ip || prev?.ready !== next?.ready || prev?.nodeName !== next?.nodeName || prev?.phase !== next?.phase);
      if (visible) this.queue.add(svc);
    }
  }

  override reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const svc = this.ctx.model.get('Service', namespace, name)?.object;
    if (!svc || !this.#selectors.has(key)) {
      // A service that is gone (or no longer selects pods) leaves no Endpoints of ours behind;
      // its EndpointSlices go with it through their ownerReferences.
      if (!svc && this.ctx.index.entry('Endpoints', key)) this.ctx.model.delete('Endpoints', namespace, name);
      return;
    }
    const members = this.#collect(key);
    const ports = endpointPorts(svc, this.#podSpecFor(svc, members));
    this.#writeEndpoints(buildEndpoints(svc, members, ports));
    this.#writeSlices(svc, members, ports);
  }

  override resync(): void {
    for (const key of this.#selectors.keys()) this.queue.add(key);
  }

  #collect(key: string): Member[] {
    const members: Member[] = [];
    for (const podKey of this.#members.get(key) ?? []) {
      const m = this.#memberOf.get(podKey) ?? this.#member(podKey);
      if (m) members.push(m);
    }
    const [, svcName] = splitKey(key);
    // A StatefulSet pod carries its hostname only in its governing service's endpoints.
    return members.map((m) => (m.hostname !== undefined && m.subdomain !== svcName ? { ...m, hostname: undefined, parts: {} } : m)).sort(compareMembers);
  }

  #member(podKey: string): Member | undefined {
    const { index } = this.ctx;
    const p = index.entry('Pod', podKey);
    if (!p?.ip || isTerminal(p.phase)) return undefined;
    const zone = p.nodeName ? index.entry('Node', p.nodeName)?.zone : undefined;
    const m: Member = {
      ip: p.ip, ready: p.ready, nodeName: p.nodeName, zone, podName: p.name, podUid: p.uid, namespace: p.namespace as string,
      hostname: p.subdomain ? p.hostname : undefined, subdomain: p.subdomain, parts: {},
    };
    this.#memberOf.set(podKey, m);
    return m;
  }

  /** A pod spec to resolve named targetPorts against, read only when the service has one. */
  #podSpecFor(svc: KubeObject, members: readonly Member[]): Json | undefined {
    const ports = ((svc['spec'] as Json)['ports'] ?? []) as Array<{ targetPort?: unknown }>;
    const first = members[0];
    if (!first || !ports.some((p) => typeof p.targetPort === 'string')) return undefined;
    return this.ctx.model.get('Pod', first.namespace, first.podName)?.object['spec'] as Json | undefined;
  }

  #writeEndpoints(desired: KubeObjectInput): void {
    const { model } = this.ctx;
    const current = model.get('Endpoints', desired.metadata.namespace, desired.metadata.name as string)?.object;
    if (!current) {
      model.create(desired);
      return;
    }
    const { annotations: _a, labels: _l, ...meta } = current.metadata;
    model.update({ ...desired, metadata: { ...meta, ...desired.metadata } });
  }

  #writeSlices(svc: KubeObject, members: readonly Member[], ports: Json[]): void {
    const { model, index } = this.ctx;
    const existing: KubeObject[] = [];
    for (const k of index.dependents(svc.metadata.uid, 'EndpointSlice')) {
      const [ns, n] = splitKey(k);
      const s = model.get('EndpointSlice', ns, n)?.object;
      if (s) existing.push(s);
    }
    const plan = planSlices(existing, members);
    let placeholder = plan.empty;
    for (const { slice, members: assigned } of plan.keep) {
      if (assigned.length === 0 && !placeholder) {
        model.delete('EndpointSlice', slice.metadata.namespace, slice.metadata.name, { uid: slice.metadata.uid });
        continue;
      }
      const desired = buildEndpointSlice(svc, slice.metadata.name, assigned.length ? assigned : null, ports);
      model.update({ ...desired, metadata: { ...slice.metadata, labels: desired.metadata.labels } });
      placeholder = false;
    }
    const lists: ReadonlyArray<readonly Member[] | null> = placeholder ? [null] : plan.create;
    for (const list of lists) model.create(buildEndpointSlice(svc, this.#sliceName(svc), list, ports));
  }

  #sliceName(svc: KubeObject): string {
    for (;;) {
      const name = `${svc.metadata.name}-${this.ctx.rng.suffix(5)}`;
      if (!this.ctx.index.entry('EndpointSlice', `${svc.metadata.namespace}/${name}`)) return name;
    }
  }
}

function selectorOf(svc: KubeObject): Selector | undefined {
  const spec = svc['spec'] as Json | undefined;
  const sel = spec?.['selector'] as Record<string, string> | undefined;
  if (!sel || spec?.['type'] === 'ExternalName') return undefined;
  const entries = Object.entries(sel).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length ? entries : undefined;
}

function selects(selector: Selector, pod: Entry): boolean {
  const labels = pod.labels;
  if (!labels) return false;
  for (const [k, v] of selector) if (labels[k] !== v) return false;
  return true;
}

/** Services whose first selector label (one of `keys`) the pod has, before or after the change. */
function candidates(byLabel: Map<string, Set<string>>, keys: Iterable<string>, prev: Entry | undefined, next: Entry | undefined): Set<string> {
  const out = new Set<string>();
  for (const k of keys) {
    const before = prev?.labels?.[k];
    const after = next?.labels?.[k];
    if (before !== undefined) for (const s of byLabel.get(`${k}=${before}`) ?? []) out.add(s);
    if (after !== undefined && after !== before) for (const s of byLabel.get(`${k}=${after}`) ?? []) out.add(s);
  }
  return out;
}
