// A test consumer of the live stream: subscribes to every subject of a cluster, checks each
// scope's chain (design §2), detects a version reused with different content (design §1),
// and keeps each scope's current objects as a plain summary that cluster-truth.ts can compare
// with the simulator's model.
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { clusterSubjects, decodeUpdateBatch, formatScope, updateIdentity, type ResourceUpdate } from '../../src/schema/index.ts';

export interface ScopeState {
  lastVersion: number;
  objects: Map<string, ResourceUpdate>;
  updates: number;
  duplicates: number;
  /** "expected prev X, got Y at version Z": must stay empty when nothing is lost. */
  gaps: string[];
}

export class StreamCollector {
  readonly scopes = new Map<string, ScopeState>();
  /** version → object key: the same version must never name another object. */
  readonly #versions = new Map<number, string>();
  readonly reused: string[] = [];
  /** Versions that arrived after a newer one on the same scope (must stay empty). */
  readonly late: string[] = [];
  readonly streamIds = new Set<string>();
  /** Recent operations per object key (version, scope, what), for failure messages. */
  readonly trail = new Map<string, string[]>();
  readonly #nc: NatsConnection;
  readonly #subs: Subscription[];
  readonly #done: Promise<void>;
  /** Messages that did not decode as update batches (must stay empty). */
  readonly undecodable: string[] = [];

  private constructor(nc: NatsConnection, subjects: readonly string[]) {
    this.#nc = nc;
    // Only the update subjects: the replay and registry subjects carry other messages.
    this.#subs = subjects.map((s) => nc.subscribe(s));
    this.#done = Promise.all(this.#subs.map((sub) => this.#run(sub))).then(() => undefined);
  }

  static async start(natsUrl: string, cluster: string): Promise<StreamCollector> {
    const nc = await connect({ servers: natsUrl, name: 'test-collector', maxReconnectAttempts: -1 });
    const subjects = clusterSubjects(cluster);
    const collector = new StreamCollector(nc, [subjects.clusterScope, subjects.allNodeScopes]);
    await nc.flush();
    return collector;
  }

  scope(name: string): ScopeState {
    let s = this.scopes.get(name);
    if (!s) this.scopes.set(name, (s = { lastVersion: 0, objects: new Map(), updates: 0, duplicates: 0, gaps: [] }));
    return s;
  }

  allGaps(): string[] {
    return [...this.scopes].flatMap(([name, s]) => s.gaps.map((g) => `${name}: ${g}`));
  }

  async stop(): Promise<void> {
    for (const sub of this.#subs) sub.unsubscribe();
    await this.#nc.close();
    await this.#done;
  }

  async #run(sub: Subscription): Promise<void> {
    for await (const msg of sub) {
      if (msg.data.length === 0) continue; // heartbeat (headers only)
      let batch: ReturnType<typeof decodeUpdateBatch>;
      try {
        batch = decodeUpdateBatch(msg.data);
      } catch (err) {
        this.undecodable.push(`${msg.subject}: ${(err as Error).message}`);
        continue;
      }
      this.streamIds.add(batch.streamId);
      const state = this.scope(formatScope(batch.scope));
      for (const u of batch.updates) {
        if (u.version <= state.lastVersion) {
          state.duplicates++;
          // A version at or below the position that was never seen arrived out of order: the
          // publisher sent it after newer ones, and a consumer would drop it as a duplicate.
          if (!this.#versions.has(u.version)) this.late.push(`${formatScope(batch.scope)} v${u.version} after v${state.lastVersion}`);
          continue;
        }
        if (u.prevVersion !== state.lastVersion) state.gaps.push(`expected prev ${state.lastVersion}, got ${u.prevVersion} at version ${u.version}`);
        state.lastVersion = u.version;
        state.updates++;
        this.#apply(state, u.version, u.update);
      }
    }
  }

  #apply(state: ScopeState, version: number, update: ResourceUpdate): void {
    const id = updateIdentity(update);
    const key = `${id.kind}/${id.uid}`;
    const seen = this.#versions.get(version);
    if (seen !== undefined && seen !== key) this.reused.push(`version ${version}: ${seen} and ${key}`);
    this.#versions.set(version, key);
    const ops = this.trail.get(key) ?? [];
    ops.push(`v${version} ${id.scopeExit ? 'exit' : (update.object.value as { stopTimeNs?: bigint }).stopTimeNs ? 'stop' : 'upsert'}`);
    this.trail.set(key, ops.slice(-6));
    if (id.scopeExit) {
      state.objects.delete(key);
      return;
    }
    const stop = (update.object.value as { stopTimeNs?: bigint } | undefined)?.stopTimeNs ?? 0n;
    if (stop !== 0n && id.kind !== 'Container') state.objects.delete(key);
    else state.objects.set(key, update);
  }
}
