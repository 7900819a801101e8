import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from '../core/index.ts';
import { makeTempDir, spawnProcess, TestServerError, type SpawnedProcess } from './processes.ts';

export interface NatsServerOptions {
  /** Fixed client port; default: one the server picks (-1), read back from its ports file. */
  port?: number;
  /** Extra nats-server arguments (e.g. `--user`, `--pass`, `-c config`). */
  args?: string[];
  binary?: string;
  startTimeoutMs?: number;
  /** In a process group of its own, so that a terminal's Ctrl-C does not reach it (spawnProcess). */
  ownProcessGroup?: boolean;
}

export interface NatsServer {
  /** `nats://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly monitorUrl: string;
  /** Stops the server (SIGTERM, then SIGKILL) and deletes its temporary directory. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL (an outage); `start()` brings it back on the same ports. */
  kill(): Promise<void>;
  /** Starts the server again after `kill()`, on the same ports. */
  start(): Promise<void>;
  output(): string;
}

/**
 * Starts a real nats-server bound to 127.0.0.1 on a port it picks itself (`-p -1`; the port is
 * read from `--ports_file_dir`, as nats.js's test launcher does), with HTTP monitoring on.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const server = await natsProcess(options, () => []);
  await server.start();
  return server;
}

/**
 * One nats-server whose ports are pinned after its first start (so `start()` after `kill()`
 * comes back on the same client, monitoring and cluster ports). `dynamicArgs` is asked on
 * every start (a cluster member's routes name the other members' ports).
 */
async function natsProcess(options: NatsServerOptions, dynamicArgs: (self: { clusterPort: number }) => string[]): Promise<NatsServer & { readonly clusterPort: number; readonly running: boolean }> {
  const dir = await makeTempDir('nats');
  const binary = options.binary ?? 'nats-server';
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  let clientPort = options.port ?? -1;
  let monitorPort = -1;
  const self = { clusterPort: -1 };
  let proc: SpawnedProcess | undefined;

  async function launch(): Promise<void> {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) throw new TestServerError(`nats-server on port ${clientPort} is already running`);
    const portsDir = await makeTempDir('nats-ports');
    const args = ['-a', '127.0.0.1', '-p', String(clientPort), '-m', String(monitorPort), '--ports_file_dir', portsDir.path];
    const extra = dynamicArgs(self);
    proc = spawnProcess(binary, [...args, ...extra, ...(options.args ?? [])], { ...(options.ownProcessGroup ? { ownProcessGroup: true } : {}) });
    try {
      const ports = await readPortsFile(portsDir.path, proc, timeoutMs, extra.includes('--cluster'));
      clientPort = ports.client;
      monitorPort = ports.monitor;
      if (ports.cluster !== undefined) self.clusterPort = ports.cluster;
    } catch (err) {
      await proc.kill();
      throw err;
    } finally {
      await portsDir.remove();
    }
  }

  return {
    get url() {
      return `nats://127.0.0.1:${clientPort}`;
    },
    get port() {
      return clientPort;
    },
    get monitorUrl() {
      return `http://127.0.0.1:${monitorPort}`;
    },
    get clusterPort() {
      return self.clusterPort;
    },
    get running() {
      return proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null;
    },
    async stop() {
      await proc?.stop();
      await dir.remove();
    },
    async kill() {
      await proc?.kill();
    },
    start: launch,
    output: () => proc?.output() ?? '',
  };
}

export interface NatsClusterOptions {
  /** Number of servers (default 3). */
  size?: number;
  /** `--cluster_name` (default `kubemeta-test`). */
  name?: string;
  binary?: string;
  startTimeoutMs?: number;
  /** How long to wait for the full mesh of routes (default 15 s). */
  routesTimeoutMs?: number;
}

/** A member of a NatsCluster: `kill()` is an outage, `start()` brings it back and waits for its routes. */
export interface NatsClusterMember extends NatsServer {
  readonly index: number;
  /** Its route listener's port (-1 before its first start). */
  readonly clusterPort: number;
  /** `nats://127.0.0.1:PORT` of its route listener. */
  readonly clusterUrl: string;
  /** False between `kill()` and `start()`. */
  readonly running: boolean;
  /** Its current server id (`/varz` server_id; a new one after each start). */
  serverId(): Promise<string>;
  /** The names of the client connections it holds now (`/connz`). */
  clientNames(): Promise<string[]>;
}

export interface NatsCluster {
  readonly servers: readonly NatsClusterMember[];
  /** Client URLs of all members, in member order. */
  readonly urls: string[];
  /** Resolves once every running member has a route to every other running member (`/routez`). */
  waitForRoutes(timeoutMs?: number): Promise<void>;
  /** The running members that hold a client connection with this name (`/connz`). */
  membersWithClient(name: string): Promise<NatsClusterMember[]>;
  /** Stops every member and deletes their directories. */
  stop(): Promise<void>;
}

/**
 * Starts `size` nats-servers on 127.0.0.1 forming one cluster (`--cluster_name`): each picks
 * its client, monitoring and route ports itself; the first is the seed the others route to,
 * and once the ports are known every restart routes to all the other members. Resolves once
 * the full mesh of routes is up.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const size = options.size ?? 3;
  if (!Number.isInteger(size) || size < 1) throw new TestServerError(`startNatsCluster: size must be a positive integer, got ${String(size)}`);
  const name = options.name ?? 'kubemeta-test';
  const routesTimeoutMs = options.routesTimeoutMs ?? 15_000;
  const members: NatsClusterMember[] = [];
  const routeUrl = (port: number): string => `nats://127.0.0.1:${port}`;

  const waitForRoutes = async (timeoutMs = routesTimeoutMs): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      try {
        const running = members.filter((m) => m.running);
        const ids = await Promise.all(running.map((m) => m.serverId()));
        const routes = await Promise.all(running.map((m) => monitor<{ num_routes: number; routes?: Array<{ remote_id: string }> }>(m.monitorUrl, '/routez')));
        const problems = running.flatMap((m, i) => {
          const want = new Set(ids.filter((_, j) => j !== i));
          const r = routes[i] as { num_routes: number; routes?: Array<{ remote_id: string }> };
          const have = new Set((r.routes ?? []).map((x) => x.remote_id));
          const ok = r.num_routes === want.size && have.size === want.size && [...want].every((id) => have.has(id));
          return ok ? [] : [`server ${m.index} has ${r.num_routes} routes, wants ${want.size}`];
        });
        if (problems.length === 0) return;
        last = problems.join('; ');
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() >= deadline) {
        throw new TestServerError(`nats cluster routes not up within ${timeoutMs} ms: ${last}\n${members.map((m) => `--- server ${m.index}:\n${m.output().slice(-2000)}`).join('\n')}`);
      }
      await sleep(100);
    }
  };

  try {
    for (let index = 0; index < size; index++) {
      const proc = await natsProcess({ ...(options.binary ? { binary: options.binary } : {}), ...(options.startTimeoutMs ? { startTimeoutMs: options.startTimeoutMs } : {}) }, (self) => {
        // Before every member has started, only the ones already up are known: a new member
        // routes to them (gossip completes the mesh); later restarts route to all the others.
        const others = members.filter((m) => m.index !== index && m.clusterPort !== -1).map((m) => routeUrl(m.clusterPort));
        return ['--cluster', routeUrl(self.clusterPort), '--cluster_name', name, ...(others.length > 0 ? ['--routes', others.join(',')] : [])];
      });
      const member: NatsClusterMember = {
        index,
        get url() {
          return proc.url;
        },
        get port() {
          return proc.port;
        },
        get monitorUrl() {
          return proc.monitorUrl;
        },
        get clusterPort() {
          return proc.clusterPort;
        },
        get clusterUrl() {
          return routeUrl(proc.clusterPort);
        },
        get running() {
          return proc.running;
        },
        stop: () => proc.stop(),
        kill: () => proc.kill(),
        async start() {
          await proc.start();
          await waitForRoutes();
        },
        output: () => proc.output(),
        serverId: async () => (await monitor<{ server_id: string }>(proc.monitorUrl, '/varz')).server_id,
        clientNames: async () => ((await monitor<{ connections?: Array<{ name?: string }> }>(proc.monitorUrl, '/connz?limit=4096')).connections ?? []).map((c) => c.name ?? ''),
      };
      members.push(member);
      await proc.start();
    }
    await waitForRoutes();
  } catch (err) {
    for (const m of members) await m.stop();
    throw err;
  }

  return {
    servers: members,
    get urls() {
      return members.map((m) => m.url);
    },
    waitForRoutes,
    async membersWithClient(clientName: string) {
      const running = members.filter((m) => m.running);
      const names = await Promise.all(running.map((m) => m.clientNames().catch(() => [] as string[])));
      return running.filter((_, i) => (names[i] as string[]).includes(clientName));
    },
    async stop() {
      for (const m of members) await m.stop();
    },
  };
}

async function monitor<T>(monitorUrl: string, path: string): Promise<T> {
  const res = await fetch(`${monitorUrl}${path}`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new TestServerError(`${monitorUrl}${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

async function readPortsFile(dir: string, proc: SpawnedProcess, timeoutMs: number, wantCluster: boolean): Promise<{ client: number; monitor: number; cluster?: number }> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    const name = (await readdir(dir)).find((f) => f.endsWith('.ports'));
    if (name) {
      try {
        const ports = JSON.parse(await readFile(join(dir, name), 'utf8')) as { nats?: string[]; monitoring?: string[]; cluster?: string[] };
        const client = portOf(ports.nats?.[0]);
        const monitor = portOf(ports.monitoring?.[0]);
        const cluster = portOf(ports.cluster?.[0]);
        if (client && monitor && (!wantCluster || cluster)) return { client, monitor, ...(cluster ? { cluster } : {}) };
      } catch {
        // the file may be half written; read it again
      }
    }
    await sleep(20);
  }
  throw new TestServerError(`nats-server did not start within ${timeoutMs} ms (is it installed? apt-get install -y nats-server). Output:\n${proc.output()}`);
}

function portOf(url: string | undefined): number | undefined {
  if (!url) return undefined;
  const port = Number(new URL(url).port);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}
