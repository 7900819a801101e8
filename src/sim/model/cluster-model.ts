import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../../core/index.ts';
import { SimApiError } from './errors.ts';
import { flatten, sameJson, stringifyObject } from './json.ts';
import type { KubeObject, KubeObjectInput, ModelEvent, ObjectMeta, StoredObject } from './objects.ts';
import { apiVersionOf, RESOURCES, resourceByKind, type ResourceInfo } from './resources.ts';

export interface ClusterModelOptions {
  /** Events kept per kind for watch resumption; older resourceVersions get 410 Gone. */
  historyPerKind?: number;
  clock?: Clock;
  /** Makes uids; the scenario engine passes a seeded one so runs are reproducible. */
  uid?: () => string;
}

export interface ListOptions {
  namespace?: string;
  /** Pods only: served from the node index instead of a scan. */
  nodeName?: string;
}

export interface ListSnapshot {
  /** Records in key order, as of `resourceVersion`. */
  readonly items: readonly StoredObject[];
  readonly resourceVersion: number;
}

export type ModelListener = (event: ModelEvent) => void;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * The simulated cluster's state: objects of every kind, one resourceVersion counter for the
 * whole cluster (like etcd's revision), and a bounded event history per kind (like the API
 * server's watch cache) from which watches resume. A resourceVersion older than a kind's
 * history is "expired": watching from it is answered with 410 Gone.
 *
 * All writes are synchronous; listeners are called after each commit, in commit order.
 */
export class ClusterModel {
  readonly clock: Clock;
  readonly historyPerKind: number;
  readonly #uid: () => string;
  readonly #objects = new Map<string, Map<string, StoredObject>>();
  readonly #sortedKeys = new Map<string, string[] | undefined>();
  readonly #history = new Map<string, { events: ModelEvent[]; head: number; compactedRv: number }>();
  /** Pod keys by spec.nodeName, for fieldSelector=spec.nodeName=X without a scan. */
  readonly #podsByNode = new Map<string, Set<string>>();
  readonly #listeners = new Set<ModelListener>();
  #rv = 1;

  constructor(options: ClusterModelOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.historyPerKind = options.historyPerKind ?? 20_000;
    this.#uid = options.uid ?? randomUUID;
    for (const r of RESOURCES) {
      this.#objects.set(r.kind, new Map());
      this.#history.set(r.kind, { events: [], head: 0, compactedRv: 0 });
    }
  }

  /** The cluster's current resourceVersion. */
  get resourceVersion(): number {
    return this.#rv;
  }

  resources(): readonly ResourceInfo[] {
    return RESOURCES;
  }

  count(kind: string): number {
    return this.#kindMap(kind).size;
  }

  get(kind: string, namespace: string | undefined, name: string): StoredObject | undefined {
    return this.#kindMap(kind).get(this.#key(this.#info(kind), namespace, name));
  }

  /** A consistent snapshot of one kind, in key order (what a LIST pages through). */
  list(kind: string, options: ListOptions = {}): ListSnapshot {
    const info = this.#info(kind);
    const map = this.#kindMap(kind);
    let keys: readonly string[];
    if (options.nodeName !== undefined && kind === 'Pod') {
      keys = [...(this.#podsByNode.get(options.nodeName) ?? [])].sort();
    } else {
      keys = this.#sorted(kind);
    }
    let items = keys.map((k) => map.get(k) as StoredObject);
    if (options.namespace !== undefined && info.namespaced) {
      const ns = options.namespace;
      items = items.filter((s) => s.object.metadata.namespace === ns);
    }
    return { items, resourceVersion: this.#rv };
  }

  /** Creates an object. Assigns uid, creationTimestamp, resourceVersion (and a name from generateName). */
  create(input: KubeObjectInput): StoredObject {
    const info = this.#infoOf(input);
    const meta = { ...input.metadata };
    if (!meta.name && meta.generateName) meta.name = meta.generateName + this.#uid().replace(/-/g, '').slice(0, 5);
    const name = this.#validName(meta.name, info);
    const namespace = this.#namespaceOf(info, meta.namespace);
    const key = this.#key(info, namespace, name);
    const map = this.#kindMap(info.kind);
    if (map.has(key)) {
      throw new SimApiError('AlreadyExists', `${info.plural}${info.group ? '.' + info.group : ''} "${name}" already exists`, {
        name,
        kind: info.plural,
        group: info.group,
      });
    }
    const { deletionTimestamp: _ignored, ...rest } = meta;
    const object = withMetadata(input, info, {
      ...rest,
      name,
      namespace,
      uid: typeof meta.uid === 'string' && meta.uid !== '' ? meta.uid : this.#uid(),
      creationTimestamp: meta.creationTimestamp ?? this.#timestamp(),
      generation: hasSpec(input) ? 1 : undefined,
    });
    const stored = this.#commit(info, key, object, 'ADDED');
    this.#sortedKeys.set(info.kind, undefined);
    return stored;
  }

  /**
   * Replaces an object. If the input carries a resourceVersion it must match the current one
   * (optimistic concurrency, 409 Conflict otherwise). uid and creationTimestamp are kept.
   * A write that changes nothing commits nothing and returns the current record.
   */
  update(input: KubeObjectInput): StoredObject {
    const info = this.#infoOf(input);
    const name = this.#validName(input.metadata.name, info);
    const namespace = this.#namespaceOf(info, input.metadata.namespace);
    const key = this.#key(info, namespace, name);
    const current = this.#kindMap(info.kind).get(key);
    if (!current) throw notFound(info, name);
    const expected = input.metadata.resourceVersion;
    if (expected && expected !== current.object.metadata.resourceVersion) {
      throw new SimApiError(
        'Conflict',
        `Operation cannot be fulfilled on ${info.plural}${info.group ? '.' + info.group : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, kind: info.plural, group: info.group },
      );
    }
    const old = current.object;
    // Only kinds with a generation need the comparison (stored objects are immutable, so the
    // same spec object is the same spec).
    const specChanged = old.metadata.generation !== undefined && !sameJson(input['spec'], old['spec']);
    const object = withMetadata(input, info, {
      ...input.metadata,
      name,
      namespace,
      uid: old.metadata.uid,
      creationTimestamp: old.metadata.creationTimestamp,
      generation: old.metadata.generation !== undefined ? old.metadata.generation + (specChanged ? 1 : 0) : undefined,
    });
    // A write that changes nothing bumps no resourceVersion and sends no event, as in Kubernetes.
    object.metadata.resourceVersion = old.metadata.resourceVersion;
    if (sameJson(object, old)) return current;
    return this.#commit(info, key, object, 'MODIFIED');
  }

  /** Deletes an object at once (the sim has no finalizers) and returns its last state. */
  delete(kind: string, namespace: string | undefined, name: string, options: { uid?: string } = {}): StoredObject {
    const info = this.#info(kind);
    // No check that the namespace exists: its contents are deleted after the Namespace is.
    const key = this.#key(info, info.namespaced ? namespace || 'default' : undefined, name);
    const map = this.#kindMap(kind);
    const current = map.get(key);
    if (!current) throw notFound(info, name);
    if (options.uid && options.uid !== current.object.metadata.uid) {
      throw new SimApiError('Conflict', `Precondition failed: UID in precondition: ${options.uid}, UID in object meta: ${current.object.metadata.uid}`);
    }
    const object = withMetadata(current.object, info, { ...current.object.metadata, deletionTimestamp: this.#timestamp() });
    const stored = this.#commit(info, key, object, 'DELETED');
    this.#sortedKeys.set(kind, undefined);
    return stored;
  }

  /**
   * Events of `kind` with resourceVersion > `sinceRv`, oldest first, or 'expired' when the
   * history no longer reaches back that far (the caller answers 410 Gone).
   */
  eventsSince(kind: string, sinceRv: number): readonly ModelEvent[] | 'expired' {
    const h = this.#historyOf(kind);
    if (sinceRv < h.compactedRv) return 'expired';
    const live = h.events.length - h.head;
    // binary search for the first event with rv > sinceRv
    let lo = h.head;
    let hi = h.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((h.events[mid] as ModelEvent).stored.rv <= sinceRv) lo = mid + 1;
      else hi = mid;
    }
    return live === 0 ? [] : h.events.slice(lo);
  }

  /** The oldest resourceVersion a watch on `kind` may resume from. */
  oldestResumableRv(kind: string): number {
    return this.#historyOf(kind).compactedRv;
  }

  /**
   * Drops the history of every kind up to the current resourceVersion, as if the API
   * server's cache had compacted: every watch resumed from an older resourceVersion gets 410.
   */
  compactHistory(): void {
    for (const h of this.#history.values()) {
      h.events = [];
      h.head = 0;
      h.compactedRv = this.#rv;
    }
  }

  /** Calls `listener` after every commit, in commit order. Returns the unsubscribe function. */
  subscribe(listener: ModelListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Stores `object` under the next resourceVersion. Its JSON is made when first read (a LIST
   * page, a watch event) and then kept: a write nobody reads costs no serialization, and a
   * scenario's 150,000 pods load in seconds and take no JSON memory until served.
   */
  #commit(info: ResourceInfo, key: string, object: KubeObject, type: ModelEvent['type']): StoredObject {
    const rv = ++this.#rv;
    object.metadata.resourceVersion = String(rv);
    const stored: StoredObject = new LazyStoredObject(info.kind, key, object, rv);
    const map = this.#kindMap(info.kind);
    const previous = map.get(key);
    if (type === 'DELETED') map.delete(key);
    else map.set(key, stored);
    if (info.kind === 'Pod') this.#indexPod(key, previous?.object, type === 'DELETED' ? undefined : object);
    const event: ModelEvent = { type, stored };
    this.#record(info.kind, event);
    for (const listener of this.#listeners) listener(event);
    return stored;
  }

  #record(kind: string, event: ModelEvent): void {
    const h = this.#historyOf(kind);
    h.events.push(event);
    if (h.events.length - h.head > this.historyPerKind) {
      h.compactedRv = (h.events[h.head] as ModelEvent).stored.rv;
      h.events[h.head] = undefined as unknown as ModelEvent;
      h.head++;
      if (h.head > 4096 && h.head * 2 > h.events.length) {
        h.events = h.events.slice(h.head);
        h.head = 0;
      }
    }
  }

  #indexPod(key: string, before: KubeObject | undefined, after: KubeObject | undefined): void {
    const oldNode = nodeNameOf(before);
    const newNode = nodeNameOf(after);
    if (oldNode === newNode && before && after) return;
    if (oldNode !== undefined) this.#podsByNode.get(oldNode)?.delete(key);
    if (newNode !== undefined) {
      let set = this.#podsByNode.get(newNode);
      if (!set) this.#podsByNode.set(newNode, (set = new Set()));
      set.add(key);
    }
  }

  #sorted(kind: string): string[] {
    let keys = this.#sortedKeys.get(kind);
    if (!keys) {
      keys = [...this.#kindMap(kind).keys()].sort();
      this.#sortedKeys.set(kind, keys);
    }
    return keys;
  }

  #timestamp(): string {
    return new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  #historyOf(kind: string): { events: ModelEvent[]; head: number; compactedRv: number } {
    const h = this.#history.get(kind);
    if (!h) throw new SimApiError('NotFound', `the server could not find the requested resource (kind ${kind})`);
    return h;
  }

  #kindMap(kind: string): Map<string, StoredObject> {
    const map = this.#objects.get(kind);
    if (!map) throw new SimApiError('NotFound', `the server could not find the requested resource (kind ${kind})`);
    return map;
  }

  #info(kind: string): ResourceInfo {
    const info = resourceByKind(kind);
    if (!info) throw new SimApiError('NotFound', `the server could not find the requested resource (kind ${kind})`);
    return info;
  }

  #infoOf(input: KubeObjectInput): ResourceInfo {
    if (typeof input !== 'object' || input === null || typeof input.metadata !== 'object' || input.metadata === null) {
      throw new SimApiError('BadRequest', 'the object has no metadata');
    }
    const info = this.#info(input.kind);
    if (input.apiVersion !== apiVersionOf(info)) {
      throw new SimApiError('BadRequest', `${info.kind} must have apiVersion "${apiVersionOf(info)}", got ${JSON.stringify(input.apiVersion)}`);
    }
    return info;
  }

  #validName(name: unknown, info: ResourceInfo): string {
    if (typeof name !== 'string' || name === '') {
      throw new SimApiError('Invalid', `${info.kind} is invalid: metadata.name: Required value: name or generateName is required`);
    }
    if (!DNS_SUBDOMAIN.test(name)) {
      throw new SimApiError(
        'Invalid',
        `${info.kind} "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
        { name, kind: info.plural, group: info.group },
      );
    }
    return name;
  }

  #namespaceOf(info: ResourceInfo, namespace: string | undefined): string | undefined {
    if (!info.namespaced) return undefined;
    const ns = namespace || 'default';
    if (!this.#kindMap('Namespace').has(ns)) {
      throw new SimApiError('NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
    }
    return ns;
  }

  #key(info: ResourceInfo, namespace: string | undefined, name: string): string {
    return info.namespaced ? `${namespace ?? 'default'}/${name}` : name;
  }
}

/** Kinds whose API strategy keeps no metadata.generation (a Lease renewal must not bump one). */
const NO_GENERATION = new Set(['Pod', 'Node', 'Namespace', 'Service', 'Lease']);

function hasSpec(input: KubeObjectInput): boolean {
  return typeof input['spec'] === 'object' && input['spec'] !== null && !NO_GENERATION.has(input.kind);
}

function nodeNameOf(object: KubeObject | undefined): string | undefined {
  const spec = object?.['spec'] as { nodeName?: unknown } | undefined;
  return typeof spec?.nodeName === 'string' && spec.nodeName !== '' ? spec.nodeName : undefined;
}

/**
 * Builds the stored form of an object: apiVersion, kind and metadata first, and
 * metadata.resourceVersion early in metadata (set at commit). Readers of the JSON rewrite the
 * first `"resourceVersion":` in it (a watch resumed at a bookmark), so it must be this one:
 * apiVersion is the kind's own, kind and name are validated, and uid comes before it.
 */
function withMetadata(input: KubeObjectInput | KubeObject, info: ResourceInfo, meta: Partial<ObjectMeta>): KubeObject {
  const { name, namespace, uid, generation, creationTimestamp, resourceVersion: _rv, ...rest } = meta;
  const { apiVersion: _a, kind: _k, metadata: _m, ...body } = input;
  return {
    apiVersion: apiVersionOf(info),
    kind: info.kind,
    metadata: {
      name: name as string,
      ...(namespace !== undefined ? { namespace } : {}),
      uid: String(uid),
      resourceVersion: '',
      ...(generation !== undefined ? { generation } : {}),
      creationTimestamp: creationTimestamp as string,
      ...rest,
    },
    ...body,
  };
}

/** A record whose JSON is made on first read (objects are immutable once stored). */
class LazyStoredObject implements StoredObject {
  readonly kind: string;
  readonly key: string;
  readonly object: KubeObject;
  readonly rv: number;
  #json: string | undefined;

  constructor(kind: string, key: string, object: KubeObject, rv: number) {
    this.kind = kind;
    this.key = key;
    this.object = object;
    this.rv = rv;
  }

  get json(): string {
    return (this.#json ??= flatten(stringifyObject(this.object)));
  }
}

function notFound(info: ResourceInfo, name: string): SimApiError {
  return new SimApiError('NotFound', `${info.plural}${info.group ? '.' + info.group : ''} "${name}" not found`, {
    name,
    kind: info.plural,
    group: info.group,
  });
}
