// Real kubemeta updates for replay tests, committed through the UpdateLog, and the model of
// what each scope's consumer must hold (objects by kind/uid; deleted ones flagged by
// stop_time_ns; objects that left the scope absent).
import {
  ObjectKind,
  createResourceUpdate,
  decodeResourceUpdate,
  encodeResourceUpdate,
  updateIdentity,
  type ResourceUpdate,
  type UpdateFrame,
} from '../../src/schema/index.ts';
import type { CommittedBatch, PendingUpdate, ScopedEntry, UpdateLog } from '../../src/log/index.ts';

const T0 = 1_732_700_000_000_000_000n;

/** A pod on `node`; `generation` changes its labels (a new state); `deleted` sets stop_time_ns. */
export function pod(uid: string, node: string, generation = 0, deleted = false, padBytes = 0): ResourceUpdate {
  return createResourceUpdate({
    object: {
      case: 'pod',
      value: {
        uid,
        name: `pod-${uid}`,
        namespace: 'shop',
        nodeName: node,
        podIp: `10.0.${generation % 250}.${uid.length % 250}`,
        labels: { app: 'shop', generation: String(generation), ...(padBytes > 0 ? { pad: 'x'.repeat(padBytes) } : {}) },
        createTimeNs: T0,
        stopTimeNs: deleted ? T0 + 1_000_000_000n : 0n,
      },
    },
  });
}

/** `uid` left the scope it is published on (it still exists elsewhere). */
export function podExit(uid: string): ResourceUpdate {
  return createResourceUpdate({ object: { case: 'scopeExit', value: { kind: ObjectKind.POD, uid } } });
}

function keyOf(update: ResourceUpdate): string {
  const id = updateIdentity(update);
  return `${id.kind}/${id.uid}`;
}

/** A PendingUpdate for the log: state follows the update (exit → remove, stop time → tombstone). */
export function pending(update: ResourceUpdate, scopes: string[]): PendingUpdate {
  const id = updateIdentity(update);
  const deleted = update.object.case === 'pod' && update.object.value.stopTimeNs !== 0n;
  return {
    objectKey: `${id.kind}/${id.uid}`,
    kind: id.kind,
    payload: encodeResourceUpdate(update),
    scopes,
    state: id.scopeExit ? 'remove' : deleted ? 'tombstone' : 'upsert',
  };
}

export interface HeldObject {
  version: number;
  deleted: boolean;
}

/** What a consumer holds for one scope: kind/uid → newest version and deletion flag. */
export type ConsumerState = Map<string, HeldObject>;

/** Applies frames the way a consumer does (wire protocol §3: full state, scope exits drop). */
export function applyFrames(state: ConsumerState, frames: readonly UpdateFrame[]): ConsumerState {
  for (const f of frames) {
    const update = decodeResourceUpdate(f.payload);
    const id = updateIdentity(update);
    const key = `${id.kind}/${id.uid}`;
    if (id.scopeExit) state.delete(key);
    else state.set(key, { version: f.version, deleted: isDeleted(update) });
  }
  return state;
}

function isDeleted(update: ResourceUpdate): boolean {
  const o = update.object;
  return o.case !== undefined && o.case !== 'scopeExit' && o.value.stopTimeNs !== 0n;
}

/** The reference: every committed batch applied per scope, plus each scope's chain. */
export class ScopeModel {
  readonly states = new Map<string, ConsumerState>();
  readonly chains = new Map<string, ScopedEntry[]>();

  apply(batch: CommittedBatch): CommittedBatch {
    for (const [scope, entries] of batch.byScope) {
      let chain = this.chains.get(scope);
      if (!chain) this.chains.set(scope, (chain = []));
      chain.push(...entries);
      let state = this.states.get(scope);
      if (!state) this.states.set(scope, (state = new Map()));
      applyFrames(state, entries);
    }
    return batch;
  }

  state(scope: string): ConsumerState {
    return this.states.get(scope) ?? new Map();
  }

  chain(scope: string, after = 0): ScopedEntry[] {
    return (this.chains.get(scope) ?? []).filter((e) => e.version > after);
  }

  /** Drops deleted objects from a scope's expected state (after tombstone retention passed). */
  forgetTombstones(): void {
    for (const state of this.states.values()) for (const [k, v] of state) if (v.deleted) state.delete(k);
  }
}

/** Commits `updates` and records them in the model. */
export async function commit(log: UpdateLog, model: ScopeModel, updates: PendingUpdate[]): Promise<CommittedBatch> {
  return model.apply(await log.commit(updates));
}

/** A scope of `pods` pods on node `node` (cluster + node scope), `rounds` generations each. */
export async function fillNode(log: UpdateLog, model: ScopeModel, node: string, pods: number, rounds = 1, padBytes = 0): Promise<void> {
  for (let g = 0; g < rounds; g++) {
    const batch = Array.from({ length: pods }, (_, i) => pending(pod(`${node}-p${i}`, node, g, false, padBytes), ['cluster', `node/${node}`]));
    await commit(log, model, batch);
  }
}

/** Frames as plain tuples, for deepEqual against the model's chain. */
export function plainFrames(frames: readonly { version: number; prevVersion: number; payload: Uint8Array }[]): Array<[number, number, string]> {
  return frames.map((f) => [f.version, f.prevVersion, Buffer.from(f.payload).toString('base64')]);
}

/** Sorted entries of a state, for deepEqual. */
export function plainState(state: ConsumerState): Array<[string, number, boolean]> {
  return [...state].map(([k, v]) => [k, v.version, v.deleted] as [string, number, boolean]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}
