// A test consumer of the live stream: subscribes to every subject of a cluster, checks each
// scope's chain (docs/design.md §2), detects a version reused with different content (docs/design.md §1),
// and keeps each scope's current objects as a plain summary that cluster-truth.ts can compare
// with the simulator's model.
//
// A scope it meets behind (its first update chains on a version it never saw, or a heartbeat
// announces a head above its position while it has nothing) is bootstrapped by snapshot, as
// every consumer of a stream whose initial sync was committed as state does (docs/design.md §4): live
// updates wait meanwhile and are applied after the snapshot's head. Any later break of the
// chain is a gap.
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { sleep } from '../../src/core/index.ts';
import {
  RequestErrorCode,
  clusterSubjects,
  decodeResourceUpdate,
  decodeUpdateBatch,
  formatScope,
  parseScope,
  parseScopeSubject,
  updateIdentity,
  type ResourceUpdate,
  type UpdateFrame,
} from '../../src/schema/index.ts';
import { replay } from './replay-client.ts';

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
  /** Scopes bootstrapped by snapshot, and bootstraps that failed (must stay empty). */
  readonly snapshots = new Set<string>();
  readonly bootstrapErrors: string[] = [];
  readonly #replaySubject: string;
  /** Scopes being bootstrapped: the live updates that arrive meanwhile. */
  readonly #pending = new Map<string, Array<{ version: number; prevVersion: number; update: ResourceUpdate }>>();
  readonly #bootstraps = new Set<Promise<void>>();

  private constructor(nc: NatsConnection, subjects: readonly string[], replaySubject: string) {
    this.#nc = nc;
    this.#replaySubject = replaySubject;
    // Only the update subjects: the replay and registry subjects carry other messages.
    this.#subs = subjects.map((s) => nc.subscribe(s));
    this.#done = Promise.all(this.#subs.map((sub) => this.#run(sub))).then(() => undefined);
  }

  static async start(natsUrl: string, cluster: string): Promise<StreamCollector> {
    const nc = await connect({ servers: natsUrl, name: 'test-collector', maxReconnectAttempts: -1 });
    const subjects = clusterSubjects(cluster);
    const collector = new StreamCollector(nc, [subjects.clusterScope, subjects.allNodeScopes], subjects.replay);
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
    await Promise.allSettled([...this.#bootstraps]);
    for (const sub of this.#subs) sub.unsubscribe();
    await this.#nc.close();
    await this.#done;
  }

  async #run(sub: Subscription): Promise<void> {
    for await (const msg of sub) {
      if (msg.data.length === 0) {
        // A heartbeat: a scope this collector holds nothing of, with a head, is bootstrapped.
        const head = Number(msg.headers?.get('kubemeta-head') ?? 0);
        const stream = msg.headers?.get('kubemeta-stream');
        if (stream) this.streamIds.add(stream);
        const name = formatScope(parseScopeSubject(msg.subject).scope);
        if (head > 0 && this.scope(name).lastVersion === 0 && !this.#pending.has(name)) this.#bootstrap(name);
        continue;
      }
      let batch: ReturnType<typeof decodeUpdateBatch>;
      try {
        batch = decodeUpdateBatch(msg.data);
      } catch (err) {
        this.undecodable.push(`${msg.subject}: ${(err as Error).message}`);
        continue;
      }
      this.streamIds.add(batch.streamId);
      const name = formatScope(batch.scope);
      const state = this.scope(name);
      const first = batch.updates[0];
      if (first && state.lastVersion === 0 && first.prevVersion !== 0 && !this.#pending.has(name)) this.#bootstrap(name);
      const waiting = this.#pending.get(name);
      if (waiting) {
        for (const u of batch.updates) waiting.push({ version: u.version, prevVersion: u.prevVersion, update: u.update });
        continue;
      }
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

  /** Snapshot + tail of `name` by replay (retrying while the service is unavailable), then what waited. */
  #bootstrap(name: string): void {
    this.#pending.set(name, []);
    const run = this.#snapshotOf(name)
      .then(({ frames, head }) => {
        const state = this.scope(name);
        for (const f of frames) this.#apply(state, f.version, decodeResourceUpdate(f.payload));
        state.lastVersion = Math.max(state.lastVersion, head);
        this.snapshots.add(name);
        for (const u of this.#pending.get(name) ?? []) {
          if (u.version <= state.lastVersion) {
            state.duplicates++;
            continue;
          }
          if (u.prevVersion !== state.lastVersion) state.gaps.push(`expected prev ${state.lastVersion}, got ${u.prevVersion} at version ${u.version} (after the snapshot)`);
          state.lastVersion = u.version;
          state.updates++;
          this.#apply(state, u.version, u.update);
        }
      })
      .catch((err: unknown) => {
        this.bootstrapErrors.push(`${name}: ${(err as Error).message}`);
      })
      .finally(() => {
        this.#pending.delete(name);
        this.#bootstraps.delete(run);
      });
    this.#bootstraps.add(run);
  }

  async #snapshotOf(name: string): Promise<{ frames: UpdateFrame[]; head: number }> {
    let frames: UpdateFrame[] = [];
    let after = 0;
    for (let attempt = 0; attempt < 200 && !this.#nc.isClosed(); attempt++) {
      const r = await replay(this.#nc, this.#replaySubject, { scope: parseScope(name), after, requestId: `collector-${name}-${attempt}` }, { silenceMs: 10_000 });
      const code = r.error?.code;
      if (code === RequestErrorCode.BUSY || code === RequestErrorCode.UNAVAILABLE) {
        await sleep(Math.max(50, r.error?.retryAfterMs ?? 100));
        continue;
      }
      if (r.error) throw new Error(`replay failed: ${r.error.code} ${r.error.message}`);
      if (r.snapshot) frames = [...r.snapshot.frames];
      frames.push(...r.tail);
      const end = r.end as { head: number; lastVersion: number };
      if (end.lastVersion >= end.head) return { frames, head: end.head };
      after = end.lastVersion;
    }
    throw new Error(`no complete snapshot of ${name}`);
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
