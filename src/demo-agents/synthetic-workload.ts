import type { Rng } from '../core/index.ts';
import { ContainerState, ContainerType, PodPhase, type PodUpdate, type Upid } from '../schema/index.ts';
import type { ProcessEvent, StateView } from '../sdk/index.ts';
import type { TelemetryRing } from './telemetry-ring.ts';

/** What the workload needs of a node agent (NodeAgentClient satisfies it). */
export interface ProcessHost {
  readonly node: string;
  readonly asid: number;
  readonly state: StateView;
  registerProcess(pid: number, startTimeTicks: number, containerId: string): void;
  /** Reports starts and stops to the service (NodeAgentClient.reportProcess; wire-protocol §12). */
  reportProcess?(event: ProcessEvent): void;
}

/** A synthetic process of a running container, with its own latency and error profile. */
interface SyntheticProcess {
  readonly upid: Upid;
  readonly medianMs: number;
  readonly sigma: number;
  readonly errorRate: number;
}

/**
 * The processes an agent on a real node would see: 1–3 per running container of the node's
 * pods, registered with the agent (registerProcess) as if read from /proc, and the HTTP
 * requests they serve. It follows the agent's state — call `syncPod` on pod changes, `resync`
 * after a snapshot or an overflow — so telemetry starts and stops with the pods. All choices
 * come from the seeded generator.
 *
 * A stopped container's processes are dropped here (no more rows), but stay registered with
 * the agent, so their rows still hydrate (as stopped) for the SDK's retention window.
 */
export class SyntheticWorkload {
  readonly #host: ProcessHost;
  readonly #random: Rng;
  readonly #byContainer = new Map<string, SyntheticProcess[]>();
  /** Container name per id, for the command lines of its processes. */
  readonly #names = new Map<string, string>();
  readonly #containersOfPod = new Map<string, Set<string>>();
  #active: SyntheticProcess[] | undefined;
  #nextPid = 1_000;
  #carry = 0;
  #registered = 0;

  constructor(host: ProcessHost, random: Rng) {
    this.#host = host;
    this.#random = random;
  }

  /** Processes producing rows now. */
  get activeProcesses(): number {
    return this.#activeList().length;
  }

  /** Processes registered with the agent since the start. */
  get registeredProcesses(): number {
    return this.#registered;
  }

  /** Rebuilds the process set from the agent's state (after a snapshot, an overflow, at start). */
  resync(): void {
    const live = new Set<string>();
    for (const pod of this.#host.state.podsOnNode(this.#host.node)) {
      live.add(pod.uid);
      this.syncPod(pod);
    }
    for (const uid of [...this.#containersOfPod.keys()]) if (!live.has(uid)) this.stopPod(uid);
  }

  /** Brings one pod's processes in line with its state (new containers, restarts, stop). */
  syncPod(pod: PodUpdate): void {
    const running = isRunningHere(pod, this.#host.node);
    const wanted = new Set<string>();
    if (running) {
      for (const c of pod.containers) {
        if (c.containerId === '' || c.type === ContainerType.INIT) continue; // completed init containers serve nothing
        if (this.#host.state.container(c.containerId)?.state === ContainerState.TERMINATED) continue;
        wanted.add(c.containerId);
      }
    }
    const had = this.#containersOfPod.get(pod.uid) ?? new Set<string>();
    for (const cid of had) if (!wanted.has(cid)) this.#drop(cid);
    for (const c of pod.containers) if (wanted.has(c.containerId)) this.#names.set(c.containerId, c.name);
    for (const cid of wanted) if (!had.has(cid)) this.#start(cid);
    if (wanted.size === 0) this.#containersOfPod.delete(pod.uid);
    else this.#containersOfPod.set(pod.uid, wanted);
  }

  stopPod(podUid: string): void {
    for (const cid of this.#containersOfPod.get(podUid) ?? []) this.#drop(cid);
    this.#containersOfPod.delete(podUid);
  }

  /**
   * Records the requests of `elapsedMs` up to `nowMs` at `ratePerSecond` (fractions carry over
   * to the next call); at most 10 s worth at once, so a stalled loop does not burst.
   */
  generate(ring: TelemetryRing, nowMs: number, elapsedMs: number, ratePerSecond: number): number {
    const active = this.#activeList();
    if (active.length === 0 || elapsedMs <= 0) {
      this.#carry = 0;
      return 0;
    }
    const span = Math.min(elapsedMs, 10_000);
    const expected = (ratePerSecond * span) / 1000 + this.#carry;
    const n = Math.floor(expected);
    this.#carry = expected - n;
    const r = this.#random;
    for (let k = 0; k < n; k++) {
      const p = active[Math.floor(r.float() * active.length)] as SyntheticProcess;
      const latency = p.medianMs * Math.exp(p.sigma * r.normal());
      const u = r.float();
      const status = u < p.errorRate ? (u < p.errorRate / 2 ? 500 : 503) : u < p.errorRate + 0.01 ? 404 : 200;
      ring.push(p.upid, nowMs - r.float() * span, latency, status);
    }
    return n;
  }

  #start(containerId: string): void {
    const r = this.#random;
    // One profile per container: its processes serve the same endpoints.
    const medianMs = Math.exp(Math.log(2) + r.float() * (Math.log(300) - Math.log(2)));
    const sigma = 0.3 + r.float() * 0.5;
    const errorRate = r.float() < 0.1 ? 0.05 + r.float() * 0.15 : r.float() * 0.02;
    const processes: SyntheticProcess[] = [];
    for (let i = r.between(1, 3); i > 0; i--) {
      const pid = this.#nextPid++;
      const startTimeTicks = r.between(100_000, 1_000_000_000);
      this.#host.registerProcess(pid, startTimeTicks, containerId);
      // As an agent reads /proc: the start is reported to the service with a command line.
      const name = this.#names.get(containerId) ?? 'app';
      const commandLine = i === 1 ? `/usr/local/bin/${name} --port=8080` : `/usr/local/bin/${name}-worker --id=${i}`;
      this.#host.reportProcess?.({ pid, startTimeTicks, containerId, commandLine, startTimeNs: BigInt(Date.now()) * 1_000_000n });
      this.#registered++;
      processes.push({ upid: Object.freeze({ asid: this.#host.asid, pid, startTimeTicks }), medianMs, sigma, errorRate });
    }
    this.#byContainer.set(containerId, processes);
    this.#active = undefined;
  }

  #drop(containerId: string): void {
    const processes = this.#byContainer.get(containerId);
    if (!processes) return;
    this.#byContainer.delete(containerId);
    this.#names.delete(containerId);
    this.#active = undefined;
    const stopTimeNs = BigInt(Date.now()) * 1_000_000n;
    for (const p of processes) this.#host.reportProcess?.({ pid: p.upid.pid, startTimeTicks: p.upid.startTimeTicks, stopTimeNs });
  }

  #activeList(): SyntheticProcess[] {
    this.#active ??= [...this.#byContainer.values()].flat();
    return this.#active;
  }
}

function isRunningHere(pod: PodUpdate, node: string): boolean {
  return pod.nodeName === node && pod.stopTimeNs === 0n && pod.phase === PodPhase.RUNNING;
}
