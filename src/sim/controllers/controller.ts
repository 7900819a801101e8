import type { Clock, Logger, Rng } from '../../core/index.ts';
import type { ClusterIndex, Change, Entry } from '../model/cluster-index.ts';
import type { ClusterModel } from '../model/cluster-model.ts';

/**
 * What every mini-controller of the sim is, as in kube-controller-manager: it observes
 * committed changes and queues keys (never writing from inside the model's listener, which
 * runs within a commit), and later reconciles one key at a time against current state. The
 * manager hands each one the shared context and its own queue.
 */
export abstract class Controller {
  abstract readonly name: string;
  /** Kinds whose changes `observe` wants to see. */
  abstract readonly kinds: readonly string[];
  protected readonly ctx: ControllerContext;
  protected readonly queue: WorkQueue;

  constructor(ctx: ControllerContext, queue: WorkQueue) {
    this.ctx = ctx;
    this.queue = queue;
  }

  /** Bookkeeping and queueing only: called synchronously inside a model commit. */
  abstract observe(change: Change): void;

  /** Makes the world match the desired state for `key`; may write to the model. */
  abstract reconcile(key: string): void;

  /** Queues every key this controller owns (a full resync); none for one that only follows deletions. */
  resync(): void {}

  /** Queues the key of every object of `kind`, followed by `suffix`. */
  protected queueAll(kind: string, suffix = ''): void {
    for (const key of this.ctx.index.keys(kind).values()) this.queue.add(key + suffix);
  }

  /** The object controlling `entry` (its controllerUid), when it is a `kind`. */
  protected controllerOf(entry: Entry | undefined, kind: string): Entry | undefined {
    const uid = entry?.controllerUid;
    const owner = uid === undefined ? undefined : this.ctx.index.byUid(uid);
    return owner?.kind === kind ? owner : undefined;
  }
}

/** A new object or a new generation (its spec changed); status-only writes leave the generation alone. */
export function isSpecChange({ prev, next }: Change): boolean {
  return next !== undefined && (prev === undefined || prev.generation !== next.generation);
}

/** A deduplicating set of keys waiting to be reconciled. */
export interface WorkQueue {
  add(key: string): void;
}

export interface ControllerContext {
  readonly model: ClusterModel;
  readonly index: ClusterIndex;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly logger: Logger;
}

/** Builds a controller around its queue. */
export type ControllerFactory = (ctx: ControllerContext, queue: WorkQueue) => Controller;

/** namespace/name of a namespaced key, or [undefined, key] for a cluster-scoped one. */
export function splitKey(key: string): [string | undefined, string] {
  const i = key.indexOf('/');
  return i < 0 ? [undefined, key] : [key.slice(0, i), key.slice(i + 1)];
}
