import type { Clock, Logger } from '../../core/index.ts';
import type { ClusterIndex, Change } from '../model/cluster-index.ts';
import type { ClusterModel } from '../model/cluster-model.ts';
import type { Rng } from '../rng.ts';

/**
 * The shape every mini-controller of the sim has, as in kube-controller-manager: it observes
 * committed changes and queues keys (never writing from inside the model's listener, which
 * runs within a commit), and later reconciles one key at a time against current state.
 */
export interface Controller {
  readonly name: string;
  /** Kinds whose changes `observe` wants to see. */
  readonly kinds: readonly string[];
  /** Bookkeeping and queueing only: called synchronously inside a model commit. */
  observe(change: Change): void;
  /** Makes the world match the desired state for `key`; may write to the model. */
  reconcile(key: string): void;
  /** Queues every key this controller owns (a full resync). */
  resync(): void;
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
