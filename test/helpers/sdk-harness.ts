// The service side for the SDK's integration tests, built from the real parts: an UpdateLog on
// LMDB in a temp dir, the ScopePublisher, ReplayServer, AgentRegistry and ScopeHeartbeat on a
// real nats-server. `commit` goes through the log and then the publisher (docs/design.md §3); a drop
// hook on the publisher's own connection loses a fraction of the live batches, as core NATS may.
// Plus a small workload model (pods with containers on nodes) and the truth to compare against.
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import {
  ContainerState,
  ContainerType,
  PodPhase,
  createResourceUpdate,
  encodeResourceUpdate,
  updateIdentity,
  type ResourceUpdate,
} from '../../src/schema/index.ts';
import { UpdateLog, openLmdbStore, type PendingUpdate, type UpdateStore } from '../../src/log/index.ts';
import { AgentRegistry, ReplayServer, ScopeHeartbeat, ScopePublisher, type ReplayServerOptions } from '../../src/bus/index.ts';
import { LocalState } from '../../src/sdk/index.ts';
import type { StateView } from '../../src/sdk/index.ts';

export interface ServiceHarness {
  readonly log: UpdateLog;
  readonly store: UpdateStore;
  readonly publisher: ScopePublisher;
  readonly replay: ReplayServer;
  /** Fraction of live scope batches lost in transit (0 = none). */
  dropRate: number;
  dropped: number;
  commit(updates: ReadonlyArray<{ update: ResourceUpdate; scopes: readonly string[] }>): Promise<number>;
  /** Publishes a heartbeat for every scope now. */
  beat(): void;
  stop(): Promise<void>;
}

export interface ServiceHarnessOptions {
  servers: string;
  cluster: string;
  dir: string;
  random?: () => number;
  heartbeatMs?: number;
  replay?: Partial<ReplayServerOptions>;
}

/** Starts the service side on `dir` (a new store there gets a new stream id). */
export async function startService(options: ServiceHarnessOptions): Promise<ServiceHarness> {
  const store = await openLmdbStore({ path: join(options.dir, 'store') });
  const log = await UpdateLog.open(store);
  const pubNc = await connect({ servers: options.servers, name: 'test-publisher', maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const serverNc = await connect({ servers: options.servers, name: 'test-service', maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const random = options.random ?? Math.random;
  const publisher = new ScopePublisher({ connection: pubNc, cluster: options.cluster, streamId: log.streamId as never, history: log, maxMessageBytes: 16 * 1024 });
  const replay = new ReplayServer({ connection: serverNc, cluster: options.cluster, log, ...options.replay });
  await replay.start();
  const registry = new AgentRegistry({ connection: serverNc, cluster: options.cluster, log });
  await registry.start();
  const heartbeat = new ScopeHeartbeat({
    connection: serverNc, cluster: options.cluster, streamId: log.streamId, heads: log, publisher, intervalMs: options.heartbeatMs ?? 500,
  });
  heartbeat.start();
  const harness: ServiceHarness = {
    log, store, publisher, replay, dropRate: 0, dropped: 0,
    async commit(updates) {
      const batch = await log.commit(updates.map(toPending));
      publisher.publishCommitted(batch.updates);
      return batch.lastVersion;
    },
    beat() {
      heartbeat.beatAll();
    },
    async stop() {
      await heartbeat.close();
      await registry.close();
      await replay.close();
      publisher.close();
      await pubNc.close();
      await serverNc.close();
      await log.close();
      await store.close();
    },
  };
  // The drop hook: live batches on scope subjects are lost at random (never replay answers).
  const publish = pubNc.publish.bind(pubNc);
  pubNc.publish = (subject, payload, opts) => {
    if (harness.dropRate > 0 && random() < harness.dropRate) {
      harness.dropped++;
      return;
    }
    publish(subject, payload, opts);
  };
  return harness;
}

function toPending(u: { update: ResourceUpdate; scopes: readonly string[] }): PendingUpdate {
  const id = updateIdentity(u.update);
  const value = u.update.object.value as { stopTimeNs?: bigint };
  return {
    objectKey: `${id.kind}/${id.uid}`,
    kind: id.kind,
    payload: encodeResourceUpdate(u.update),
    scopes: u.scopes,
    state: id.scopeExit ? 'remove' : value.stopTimeNs !== undefined && value.stopTimeNs !== 0n ? 'tombstone' : 'upsert',
  };
}

const T0 = 1_732_700_000_000_000_000n;

/**
 * Pods (each with one container) on a set of nodes, created, relabelled and deleted at random:
 * every change is committed on `cluster` and the pod's node scope, as the projector does.
 */
export class Workload {
  readonly nodes: readonly string[];
  readonly #random: () => number;
  readonly #live = new Map<string, { node: string; ip: string; generation: number }>();
  #next = 0;
  #ipNext = 0;

  constructor(nodes: readonly string[], random: () => number) {
    this.nodes = nodes;
    this.#random = random;
  }

  get livePods(): number {
    return this.#live.size;
  }

  /** A new pod on `node` (default: a random node) with IP `ip` (default: a fresh one). */
  create(node?: string, ip?: string, startNs?: bigint): { uid: string; updates: Array<{ update: ResourceUpdate; scopes: string[] }> } {
    const uid = `pod-${++this.#next}`;
    const n = node ?? (this.nodes[Math.floor(this.#random() * this.nodes.length)] as string);
    const p = { node: n, ip: ip ?? `10.244.${Math.floor(++this.#ipNext / 250)}.${this.#ipNext % 250}`, generation: 0, startNs: startNs ?? T0 };
    this.#live.set(uid, p);
    return { uid, updates: this.#updates(uid, p, 0n) };
  }

  /** One random change: create (40%), relabel (35%) or delete (25%). */
  step(nowNs: bigint): Array<{ update: ResourceUpdate; scopes: string[] }> {
    const r = this.#random();
    const uids = [...this.#live.keys()];
    if (uids.length < 3 || r < 0.4) return this.create().updates;
    const uid = uids[Math.floor(this.#random() * uids.length)] as string;
    const p = this.#live.get(uid) as { node: string; ip: string; generation: number };
    if (r < 0.75) {
      p.generation++;
      return this.#updates(uid, p, 0n);
    }
    return this.delete(uid, nowNs);
  }

  delete(uid: string, nowNs: bigint): Array<{ update: ResourceUpdate; scopes: string[] }> {
    const p = this.#live.get(uid);
    if (!p) return [];
    this.#live.delete(uid);
    return this.#updates(uid, p, nowNs);
  }

  #updates(uid: string, p: { node: string; ip: string; generation: number; startNs?: bigint }, stopNs: bigint): Array<{ update: ResourceUpdate; scopes: string[] }> {
    const scopes = ['cluster', `node/${p.node}`];
    const cid = `c-${uid}`;
    const podUpdate = createResourceUpdate({ object: { case: 'pod', value: {
      uid, name: uid, namespace: 'shop', nodeName: p.node, podIp: p.ip, podIps: [p.ip], hostIp: '10.0.0.1', phase: PodPhase.RUNNING,
      labels: { app: 'shop', generation: String(p.generation) }, createTimeNs: p.startNs ?? T0, startTimeNs: p.startNs ?? T0, stopTimeNs: stopNs,
      containers: [{ name: 'app', containerId: cid, type: ContainerType.REGULAR }],
    } } });
    const containerUpdate = createResourceUpdate({ object: { case: 'container', value: {
      containerId: cid, runtime: 'containerd', name: 'app', podUid: uid, podName: uid, namespace: 'shop', type: ContainerType.REGULAR,
      state: stopNs === 0n ? ContainerState.RUNNING : ContainerState.TERMINATED, startTimeNs: T0, stopTimeNs: stopNs,
    } } });
    return [{ update: podUpdate, scopes }, { update: containerUpdate, scopes }];
  }
}

/** The live objects of `scope` in the log (kind/uid → version): what a converged client holds live. */
export async function truth(log: UpdateLog, scope: string): Promise<Map<string, number>> {
  const snapshot = await log.openSnapshot(scope);
  const out = new Map<string, number>();
  for await (const chunk of snapshot.chunks()) for (const e of chunk) if (!e.deleted) out.set(e.objectKey, e.version);
  return out;
}

/** The live objects a client holds (kind/uid → version). */
export function held(state: StateView): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of (state as LocalState).records()) if (r.gone === undefined) out.set(`${r.kind}/${r.uid}`, r.version);
  return out;
}

/** Differences between the truth and a client, for assertion messages ('' when equal). */
export function diff(expected: Map<string, number>, actual: Map<string, number>): string {
  const out: string[] = [];
  for (const [k, v] of expected) if (actual.get(k) !== v) out.push(`${k}: want ${v}, have ${actual.get(k) ?? 'none'}`);
  for (const [k, v] of actual) if (!expected.has(k)) out.push(`${k}: want none, have ${v}`);
  return out.slice(0, 10).join('; ');
}
