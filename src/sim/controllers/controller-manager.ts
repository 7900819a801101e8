import { InvalidArgumentError, KubemetaError, Rng, silentLogger, type Clock, type Logger } from '../../core/index.ts';
import { ClusterIndex } from '../model/cluster-index.ts';
import type { ClusterModel } from '../model/cluster-model.ts';
import type { Controller, ControllerContext, ControllerFactory, WorkQueue } from './controller.ts';
import { DaemonSetController } from './daemonset-controller.ts';
import { DeploymentController } from './deployment-controller.ts';
import { EndpointsController } from './endpoints-controller.ts';
import { SimApiError } from '../model/errors.ts';
import { GarbageCollector, NamespaceController, PodGarbageCollector } from './garbage-collector.ts';
import { Kubelet } from './kubelet.ts';
import { ReplicaSetController } from './replicaset-controller.ts';
import { Scheduler } from './scheduler.ts';
import { StatefulSetController } from './statefulset-controller.ts';

export interface ControllerOptions {
  /** Timestamps the controllers write; default: the model's clock. */
  clock?: Clock;
  /** Randomness for pod names, container ids and placement; default: a generator seeded with `seed`. */
  rng?: Rng;
  seed?: number;
  logger?: Logger;
  /** Reconciles per event-loop turn in automatic mode, so a big cascade cannot starve the API server. */
  batchSize?: number;
}

/** Counters of the work done, for stats and tests. */
export interface ControllerStats {
  reconciles: number;
  /** Reconciles that the model refused (object gone, namespace deleted meanwhile): skipped. */
  refused: number;
}

/**
 * Order of a round: deletions first (so nothing is created into a dying namespace or for a
 * deleted owner), then workload controllers, placement, pod start, and service membership
 * last, so one round's pod changes reach a service as one Endpoints write.
 */
const FACTORIES: readonly ControllerFactory[] = [
  (c, q) => new NamespaceController(c, q),
  (c, q) => new GarbageCollector(c, q),
  (c, q) => new PodGarbageCollector(c, q),
  (c, q) => new DeploymentController(c, q),
  (c, q) => new ReplicaSetController(c, q),
  (c, q) => new DaemonSetController(c, q),
  (c, q) => new StatefulSetController(c, q),
  (c, q) => new Scheduler(c, q),
  (c, q) => new Kubelet(c, q),
  (c, q) => new EndpointsController(c, q),
];

const SCAN_FIRST = ['Namespace', 'Node', 'Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job', 'ReplicaSet', 'Service'];

/** A round that keeps finding work past this many rounds is a controller fighting another. */
const MAX_ROUNDS = 100_000;

class KeyQueue implements WorkQueue {
  keys = new Set<string>();
  readonly #onAdd: () => boolean;

  constructor(onAdd: () => boolean) {
    this.#onAdd = onAdd;
  }

  add(key: string): void {
    if (this.#onAdd()) this.keys.add(key);
  }
}

/**
 * The sim's kube-controller-manager, scheduler and kubelets: keeps Deployments, ReplicaSets,
 * DaemonSets, StatefulSets, pod placement and status, Endpoints/EndpointSlices, and
 * ownerReference/namespace/node cascades consistent with what clients write.
 *
 * Controllers only queue keys inside the model's commit listener; reconciling happens in
 * `reconcileNow()` (synchronous, until nothing is queued — tests and the scenario engine),
 * `settle()` (the same, yielding between batches), or automatically after `start()` (a
 * setImmediate soon after each change — the live API server).
 */
export class ControllerManager {
  readonly index = new ClusterIndex();
  readonly stats: ControllerStats = { reconciles: 0, refused: 0 };
  readonly #model: ClusterModel;
  readonly #logger: Logger;
  readonly #batchSize: number;
  readonly #controllers: Array<{ controller: Controller; queue: KeyQueue }> = [];
  readonly #byKind = new Map<string, Controller[]>();
  readonly #unsubscribe: () => void;
  #quiet = false;
  #auto = false;
  #scheduled = false;
  #closed = false;

  constructor(model: ClusterModel, options: ControllerOptions = {}) {
    this.#model = model;
    this.#logger = (options.logger ?? silentLogger).child({ module: 'sim', component: 'controllers' });
    this.#batchSize = options.batchSize ?? 2000;
    const ctx: ControllerContext = {
      model,
      index: this.index,
      clock: options.clock ?? model.clock,
      rng: options.rng ?? new Rng(options.seed ?? 1),
      logger: this.#logger,
    };
    for (const factory of FACTORIES) {
      const queue = new KeyQueue(() => this.#queued());
      const controller = factory(ctx, queue);
      this.#controllers.push({ controller, queue });
      for (const kind of controller.kinds) this.#byKind.set(kind, [...(this.#byKind.get(kind) ?? []), controller]);
    }
    this.#scan();
    this.#unsubscribe = model.subscribe((event) => {
      const change = this.index.apply(event);
      for (const c of this.#byKind.get(event.stored.kind) ?? []) c.observe(change);
    });
  }

  /** Keys waiting to be reconciled. */
  get pending(): number {
    let n = 0;
    for (const { queue } of this.#controllers) n += queue.keys.size;
    return n;
  }

  /** Automatic mode: reconcile soon after every change, in batches of `batchSize`. */
  start(): void {
    this.#auto = true;
    this.#kick();
  }

  /** Leaves automatic mode; queued work waits for reconcileNow/settle/start. */
  stop(): void {
    this.#auto = false;
  }

  /** Stops and detaches from the model for good. */
  close(): void {
    this.stop();
    this.#closed = true;
    this.#unsubscribe();
  }

  /**
   * Reconciles queued keys, round after round, until none are left or `budget` reconciles
   * have run. Returns the number of reconciles. Deterministic for a given model and rng.
   */
  reconcileNow(budget = Number.POSITIVE_INFINITY): number {
    let done = 0;
    for (let round = 0; this.pending > 0; round++) {
      if (round >= MAX_ROUNDS) {
        throw new KubemetaError('SIM_CONTROLLERS_LOOPING', `the sim's controllers found new work for ${MAX_ROUNDS} rounds in a row; two controllers are undoing each other's writes: report this with the scenario's seed and options`);
      }
      for (const { controller, queue } of this.#controllers) {
        const keys = [...queue.keys];
        queue.keys.clear();
        for (let i = 0; i < keys.length; i++) {
          if (done >= budget) {
            queue.keys = new Set([...keys.slice(i), ...queue.keys]);
            return done;
          }
          this.#run(controller, keys[i] as string);
          done++;
        }
      }
    }
    return done;
  }

  /** Reconciles until nothing is queued, yielding to the event loop between batches. */
  async settle(): Promise<void> {
    while (this.pending > 0) {
      this.reconcileNow(this.#batchSize);
      if (this.pending > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Runs `fn`, whose writes are final state (a scenario's populate): the index follows them
   * but nothing is queued, so 150,000 pods written as Running are not reconciled one by one.
   */
  bulkLoad<T>(fn: () => T): T {
    this.#quiet = true;
    try {
      return fn();
    } finally {
      this.#quiet = false;
    }
  }

  /**
   * Queues every object for its controllers, as informers do on a resync; with `name`, for
   * that controller only (names: namespace, garbage-collector, pod-garbage-collector,
   * deployment, replicaset, daemonset, statefulset, scheduler, kubelet, endpoints).
   */
  resync(name?: string): void {
    const chosen = this.#controllers.filter(({ controller }) => name === undefined || controller.name === name);
    if (chosen.length === 0) {
      const names = this.#controllers.map(({ controller }) => controller.name).join(', ');
      throw new InvalidArgumentError('controller', `no controller is named "${name}"; use one of ${names}`);
    }
    for (const { controller } of chosen) controller.resync();
  }

  /** Indexes what the model already holds, owners before what they own, and queues it all. */
  #scan(): void {
    const kinds = this.#model.resources().map((r) => r.kind);
    const rank = (kind: string): number => (SCAN_FIRST.indexOf(kind) + SCAN_FIRST.length + 1) % (SCAN_FIRST.length + 1);
    for (const kind of kinds.sort((a, b) => rank(a) - rank(b))) {
      for (const stored of this.#model.list(kind).items) {
        const change = this.index.apply({ type: 'ADDED', stored });
        for (const c of this.#byKind.get(kind) ?? []) c.observe(change);
      }
    }
  }

  #run(controller: Controller, key: string): void {
    this.stats.reconciles++;
    try {
      controller.reconcile(key);
    } catch (err) {
      // The world moved between queueing and reconciling (a namespace deleted, an object
      // removed by a client): skip; the change that caused it queues whatever is left to do.
      if (!(err instanceof SimApiError)) throw err;
      this.stats.refused++;
      this.#logger.debug({ err, controller: controller.name, key }, 'reconcile refused by the model');
    }
  }

  #queued(): boolean {
    if (this.#quiet || this.#closed) return false;
    this.#kick();
    return true;
  }

  #kick(): void {
    if (!this.#auto || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#auto) return;
      try {
        this.reconcileNow(this.#batchSize);
      } catch (err) {
        this.#logger.error({ err }, 'sim controller failed; its queue is dropped');
        for (const { queue } of this.#controllers) queue.keys.clear();
      }
      if (this.pending > 0) this.#kick();
    });
  }
}

/** Controllers in automatic mode, for a live simulated API server: `stop()` or `close()` them. */
export function startControllers(model: ClusterModel, options: ControllerOptions = {}): ControllerManager {
  const manager = new ControllerManager(model, options);
  manager.start();
  return manager;
}
