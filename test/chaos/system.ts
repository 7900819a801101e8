// The whole local system the chaos suite breaks (issue 8): the simulator behind its API server,
// a real nats-server, `kubemeta serve` as a child process (so it can be killed with SIGKILL),
// one NodeAgentClient per node (50+), a ClusterClient, and a StreamCollector that checks that no
// version is ever reused. `divergences()` compares every consumer with the simulator's truth.
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../../src/core/index.ts';
import { ClusterClient, NodeAgentClient } from '../../src/sdk/index.ts';
import { freePort, spawnProcess, type SpawnedProcess } from '../../src/testing/index.ts';
import { actualScope, diffScopes, expectedScopes } from '../helpers/cluster-truth.ts';
import { heldUpdates } from '../helpers/sdk-truth.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';
import { StreamCollector } from '../helpers/stream-collector.ts';

const bin = new URL('../../bin/kubemeta.js', import.meta.url).pathname;

export interface ChaosSystemOptions {
  seed: number;
  nodes: number;
  podsPerNode: number;
  publishFaults: { dropFraction: number; duplicateFraction: number };
  /** Put the store on a small tmpfs (needs root) so that disk-full faults are possible. */
  storeOnTmpfs: boolean;
}

export class ChaosSystem {
  readonly env: ServeEnv;
  readonly collector: StreamCollector;
  readonly agents = new Map<string, NodeAgentClient>();
  cluster!: ClusterClient;
  readonly #options: ChaosSystemOptions;
  readonly #port: number;
  readonly #storeDir: string;
  readonly #tmpfs: boolean;
  #serve: SpawnedProcess | undefined;
  #natsDown = false;
  #pastOutput = '';

  private constructor(env: ServeEnv, collector: StreamCollector, options: ChaosSystemOptions, port: number, storeDir: string, tmpfs: boolean) {
    this.env = env;
    this.collector = collector;
    this.#options = options;
    this.#port = port;
    this.#storeDir = storeDir;
    this.#tmpfs = tmpfs;
  }

  static async start(options: ChaosSystemOptions): Promise<ChaosSystem> {
    const env = await startServeEnv({ seed: options.seed, nodes: options.nodes, podsPerNode: options.podsPerNode, namespaces: 3 });
    const storeDir = join(env.dir, 'store-fs');
    const tmpfs = options.storeOnTmpfs && mountTmpfs(storeDir, 64);
    const collector = await StreamCollector.start(env.nats.url, 'test');
    const system = new ChaosSystem(env, collector, options, await freePort(), storeDir, tmpfs);
    system.startServe();
    await system.waitReady(60_000);
    for (const node of system.liveNodes()) system.agents.set(node, await system.#connectAgent(node, false));
    system.cluster = await ClusterClient.connect({ servers: env.nats.url, cluster: 'test' });
    return system;
  }

  /** Whether disk-full faults can run (the store is on its own small tmpfs). */
  get canFillDisk(): boolean {
    return this.#tmpfs;
  }

  liveNodes(): string[] {
    return this.env.engine.model.list('Node').items.map((n) => n.object.metadata.name);
  }

  startServe(): void {
    this.#serve = spawnProcess(process.execPath, [
      bin, 'serve',
      ...this.env.serveArgs({ http: `127.0.0.1:${this.#port}`, store: `lmdb:${join(this.#storeDir, 'store')}`, batchMaxUpdates: '500', historyKeepUpdates: '5000', compactionIntervalMs: '2000' }),
    ], { env: { ...process.env, KUBEMETA_TEST_PUBLISH_FAULTS: JSON.stringify(this.#options.publishFaults) } });
  }

  async killServe(): Promise<void> {
    await this.#serve?.kill();
    this.#pastOutput = (this.#pastOutput + (this.#serve?.output() ?? '')).slice(-262_144);
  }

  async status(): Promise<{ state: string; head: number } | undefined> {
    try {
      return (await (await fetch(`http://127.0.0.1:${this.#port}/status`)).json()) as { state: string; head: number };
    } catch {
      return undefined;
    }
  }

  async waitReady(timeoutMs: number): Promise<void> {
    await waitFor(async () => (await this.status())?.state === 'ready', { what: 'serve to be ready', timeoutMs, intervalMs: 100 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.#serve?.output().slice(-3000) ?? ''}`);
    });
  }

  async killNats(): Promise<void> {
    this.#natsDown = true;
    await this.env.nats.kill();
  }

  async startNats(): Promise<void> {
    await this.env.nats.start();
    this.#natsDown = false;
  }

  /** Agents die (state in memory lost) and come back; half of them resume from persisted state. */
  async restartAgents(count: number, random: () => number): Promise<number> {
    const nodes = [...this.agents.keys()];
    let restarted = 0;
    for (let i = 0; i < count && nodes.length > 0; i++) {
      const node = nodes.splice(Math.floor(random() * nodes.length), 1)[0] as string;
      const persist = random() < 0.5;
      await this.agents.get(node)?.close();
      this.agents.delete(node);
      if (!this.liveNodes().includes(node)) continue;
      this.agents.set(node, await this.#connectAgent(node, persist));
      restarted++;
    }
    return restarted;
  }

  /** Fills the store's tmpfs, holds it full for `ms`, then frees it. */
  async fillDisk(ms: number): Promise<void> {
    if (!this.#tmpfs) return;
    const filler = join(this.#storeDir, 'filler');
    try {
      // fallocate would be instant, but tmpfs accepts it only up to the free space: write zeros.
      execFileSync('sh', ['-c', `dd if=/dev/zero of=${filler} bs=1M count=200 2>/dev/null || true`]);
      await new Promise((r) => setTimeout(r, ms));
    } finally {
      await rm(filler, { force: true });
    }
  }

  /**
   * Every consumer compared with the simulator: agents of live nodes with their node scope, the
   * cluster client with the cluster scope. Empty when all agree.
   */
  divergences(limit = 10): string[] {
    const expected = expectedScopes(this.env.engine.model);
    const out: string[] = [];
    const cluster = expected.get('cluster');
    if (cluster) out.push(...diffScopes(new Map([['cluster', cluster]]), () => actualScope(heldUpdates(this.cluster.state)), limit));
    for (const [node, agent] of this.agents) {
      const want = expected.get(`node/${node}`);
      if (!want) continue; // the node is gone: nothing to hold
      out.push(...diffScopes(new Map([[`node/${node}`, want]]), () => actualScope(heldUpdates(agent.state)), limit));
      if (out.length >= limit) break;
    }
    return out.slice(0, limit);
  }

  /** Waits until every consumer equals the truth; returns what still differs at the deadline. */
  async converge(timeoutMs: number): Promise<string[]> {
    let last: string[] = [];
    try {
      await waitFor(() => (last = this.divergences()).length === 0, { what: 'every consumer to equal the simulator', timeoutMs, intervalMs: 500 });
      return [];
    } catch {
      return last;
    }
  }

  /** What every serve process of this system wrote (the last 256 KiB). */
  serveOutput(): string {
    return (this.#pastOutput + (this.#serve?.output() ?? '')).slice(-262_144);
  }

  async stop(): Promise<void> {
    for (const a of this.agents.values()) await a.close().catch(() => undefined);
    await this.cluster?.close().catch(() => undefined);
    await this.#serve?.stop().catch(() => undefined);
    await this.collector.stop().catch(() => undefined);
    if (this.#natsDown) await this.env.nats.start().catch(() => undefined);
    if (this.#tmpfs) unmount(this.#storeDir);
    await this.env.stop();
  }

  #connectAgent(node: string, persist: boolean): Promise<NodeAgentClient> {
    return NodeAgentClient.connect({
      servers: this.env.nats.url,
      cluster: 'test',
      node,
      agentInstanceId: `agent-${node}`,
      ...(persist ? { persistDir: join(this.env.dir, 'agents', node), persistIntervalMs: 500 } : {}),
      // A serve that died for good must fail the schedule, not hang it.
      signal: AbortSignal.timeout(120_000),
    }).catch((err: unknown) => {
      throw new Error(`agent of ${node} could not connect: ${(err as Error).message}\nserve output:\n${this.serveOutput().slice(-3000)}`);
    });
  }
}

function mountTmpfs(dir: string, sizeMb: number): boolean {
  try {
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

