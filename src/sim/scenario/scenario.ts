import { KubemetaError, InvalidArgumentError, Rng } from '../../core/index.ts';
import { Churn, CHURN_ACTIONS, compileMix, DEFAULT_CHURN_MIX, type ChurnAction, type ChurnMix, type CompiledMix } from './churn.ts';
import { ClusterModel } from '../model/cluster-model.ts';
import { ControllerManager, type ControllerStats } from '../controllers/controller-manager.ts';
import { populateCluster } from './populate.ts';
import { compileScenarioOptions, type ScenarioConfig, type ScenarioOptions } from './scenario-config.ts';

export type ActionCounts = Record<ChurnAction, number>;

export interface PopulateReport {
  /** Objects by kind after populate. */
  readonly objects: Readonly<Record<string, number>>;
  /** Model writes populate made (including the controllers' status and endpoints pass). */
  readonly writes: number;
  readonly durationMs: number;
}

export interface StepReport {
  /** Actions done in this call, by type (an action without a target counts under `skipped`). */
  readonly actions: Readonly<ActionCounts>;
  readonly skipped: number;
  /** Model writes, controllers' included. */
  readonly writes: number;
  readonly reconciles: number;
}

export interface ChurnOptions {
  /** Churn actions per second; 0 < rate <= 1,000,000. */
  ratePerSecond: number;
  /** Relative weights; default DEFAULT_CHURN_MIX. */
  mix?: ChurnMix;
  /** How often the churn loop wakes up (on the scenario's clock). Default 100 ms. */
  tickMs?: number;
}

export interface ScenarioStats {
  /** Actions done since populate, by type. */
  readonly actions: Readonly<ActionCounts>;
  readonly skipped: number;
  /** Model writes since populate. */
  readonly writes: number;
  readonly objects: Readonly<Record<string, number>>;
  readonly controllers: Readonly<ControllerStats>;
  readonly churning: boolean;
}

/**
 * A simulated cluster built from a seed: `populate()` writes the initial cluster (5,000 nodes
 * and 150,000 Running pods in seconds), `step(n)` performs n churn actions synchronously, and
 * `startChurn()` performs them at a rate on the scenario's clock. The controllers
 * (`controllers`) settle after every action, so what a watcher sees is the sequence a real
 * cluster would produce.
 *
 * Deterministic: one seeded generator makes every choice and every uid, so the same seed,
 * options, clock and calls give identical objects — names, uids, IPs, container ids, nodes.
 */
export class ScenarioEngine {
  readonly config: ScenarioConfig;
  readonly rng: Rng;
  readonly model: ClusterModel;
  readonly controllers: ControllerManager;
  readonly #counts: ActionCounts = zeroCounts();
  #skipped = 0;
  #churn: Churn | undefined;
  #mix: CompiledMix = compileMix(DEFAULT_CHURN_MIX);
  #startRv = 0;
  #loop: { abort: AbortController; done: Promise<void> } | undefined;

  constructor(options: ScenarioOptions = {}) {
    this.config = compileScenarioOptions(options);
    const rng = new Rng(this.config.seed);
    this.rng = rng;
    this.model = new ClusterModel({
      clock: this.config.clock,
      uid: () => rng.uuid(),
      ...(this.config.historyPerKind !== undefined ? { historyPerKind: this.config.historyPerKind } : {}),
    });
    this.controllers = new ControllerManager(this.model, { clock: this.config.clock, rng, logger: this.config.logger });
  }

  /** Writes the initial cluster. Once per engine. */
  populate(): PopulateReport {
    if (this.#churn) throw new KubemetaError('SIM_ALREADY_POPULATED', 'populate() runs once per ScenarioEngine; create a new engine for a new cluster');
    const started = performance.now();
    const rv = this.model.resourceVersion;
    const { config, model, controllers, rng } = this;
    const result = controllers.bulkLoad(() => populateCluster(model, controllers.index, rng, config));
    // Statuses and endpoints come from the controllers themselves, so they match what they keep.
    for (const name of ['replicaset', 'daemonset', 'statefulset', 'endpoints']) controllers.resync(name);
    controllers.reconcileNow();
    const spread = Math.max(1, Math.floor(config.nodes / 10));
    this.#churn = new Churn({
      model, index: controllers.index, rng, clock: config.clock, baselines: result.baselines,
      minNodes: Math.max(1, config.nodes - spread), maxNodes: config.nodes + spread, nextNodeSerial: result.nextNodeSerial,
      podCidrInSpec: config.podCidrs,
    });
    this.#startRv = model.resourceVersion;
    return { objects: this.#objectCounts(), writes: model.resourceVersion - rv, durationMs: performance.now() - started };
  }

  /** Performs `n` churn actions without timers, settling the controllers after each. */
  step(n = 1, options: { mix?: ChurnMix } = {}): StepReport {
    const churn = this.#requireChurn();
    const mix = options.mix ? compileMix(options.mix) : this.#mix;
    const actions = zeroCounts();
    let skipped = 0;
    const rv = this.model.resourceVersion;
    const reconciles = this.controllers.stats.reconciles;
    for (let i = 0; i < n; i++) {
      const done = churn.run(churn.pick(mix));
      if (done) actions[done]++;
      else skipped++;
      this.controllers.reconcileNow();
    }
    for (const a of CHURN_ACTIONS) this.#counts[a] += actions[a];
    this.#skipped += skipped;
    return { actions, skipped, writes: this.model.resourceVersion - rv, reconciles: this.controllers.stats.reconciles - reconciles };
  }

  /** Churns at `ratePerSecond` on the scenario's clock until stopChurn(); replaces a running churn. */
  startChurn(options: ChurnOptions): void {
    this.#requireChurn();
    const rate = options.ratePerSecond;
    if (typeof rate !== 'number' || !(rate > 0 && rate <= 1_000_000)) {
      throw new InvalidArgumentError('ratePerSecond', `must be a number above 0 and at most 1000000, got ${String(rate)}`);
    }
    const tickMs = options.tickMs ?? 100;
    if (!Number.isInteger(tickMs) || tickMs < 1 || tickMs > 60_000) {
      throw new InvalidArgumentError('tickMs', `must be an integer from 1 to 60000, got ${String(tickMs)}`);
    }
    const mix = compileMix(options.mix ?? DEFAULT_CHURN_MIX);
    this.#loop?.abort.abort();
    this.#mix = mix;
    const abort = new AbortController();
    this.#loop = { abort, done: this.#churnLoop(rate, tickMs, abort.signal) };
  }

  /** Stops the churn loop; resolves once it has stopped. */
  async stopChurn(): Promise<void> {
    const loop = this.#loop;
    this.#loop = undefined;
    if (!loop) return;
    loop.abort.abort();
    await loop.done;
  }

  stats(): ScenarioStats {
    return {
      actions: { ...this.#counts },
      skipped: this.#skipped,
      writes: this.#churn ? this.model.resourceVersion - this.#startRv : 0,
      objects: this.#objectCounts(),
      controllers: { ...this.controllers.stats },
      churning: this.#loop !== undefined,
    };
  }

  async #churnLoop(rate: number, tickMs: number, signal: AbortSignal): Promise<void> {
    const clock = this.config.clock;
    let last = clock.now();
    let due = 0;
    while (!signal.aborted) {
      try {
        await clock.sleep(tickMs, signal);
      } catch {
        return;
      }
      const now = clock.now();
      due += (rate * (now - last)) / 1000;
      last = now;
      const n = Math.floor(due);
      due -= n;
      try {
        if (n > 0) this.step(n);
      } catch (err) {
        this.config.logger.error({ err }, 'churn stopped: a churn action failed');
        return;
      }
    }
  }

  #requireChurn(): Churn {
    if (!this.#churn) throw new KubemetaError('SIM_NOT_POPULATED', 'call populate() before churning the scenario');
    return this.#churn;
  }

  #objectCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.model.resources()) out[r.kind] = this.model.count(r.kind);
    return out;
  }
}

function zeroCounts(): ActionCounts {
  return Object.fromEntries(CHURN_ACTIONS.map((a) => [a, 0])) as ActionCounts;
}
