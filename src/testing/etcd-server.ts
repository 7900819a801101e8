import { sleep } from '../core/index.ts';
import { freePort, makeTempDir, spawnProcess, TestServerError, type SpawnedProcess } from './processes.ts';

export interface EtcdServerOptions {
  binary?: string;
  startTimeoutMs?: number;
}

export interface EtcdServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  stop(): Promise<void>;
  /** SIGKILL (an outage); `start()` brings it back with the same data and ports. */
  kill(): Promise<void>;
  start(): Promise<void>;
  output(): string;
}

/**
 * Starts a real single-member etcd with every URL on 127.0.0.1 (so nothing binds a default
 * port or another interface) and a temporary data dir. Ports are picked just before start and
 * picked again if etcd cannot bind them.
 */
export async function startEtcdServer(options: EtcdServerOptions = {}): Promise<EtcdServer> {
  const dir = await makeTempDir('etcd');
  const binary = options.binary ?? 'etcd';
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  let ports: { client: number; peer: number; metrics: number } | undefined;
  let proc: SpawnedProcess | undefined;

  async function launchOnce(): Promise<boolean> {
    ports ??= { client: await freePort(), peer: await freePort(), metrics: await freePort() };
    const client = `http://127.0.0.1:${ports.client}`;
    const peer = `http://127.0.0.1:${ports.peer}`;
    proc = spawnProcess(binary, [
      '--name', 'kubemeta-test',
      '--data-dir', dir.path,
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `kubemeta-test=${peer}`,
      '--listen-metrics-urls', `http://127.0.0.1:${ports.metrics}`,
      '--log-level', 'warn',
    ]);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (proc.child.exitCode !== null) return false;
      try {
        const res = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1_000) });
        if (res.ok) return true;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    await proc.kill();
    throw new TestServerError(`etcd did not become healthy within ${timeoutMs} ms. Output:\n${proc.output()}`);
  }

  async function launch(): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await launchOnce()) return;
      if (!/address already in use/.test(proc?.output() ?? '')) break;
      ports = undefined; // another process took a port between pick and bind: pick again
    }
    throw new TestServerError(`etcd exited at start (is it installed? apt-get install -y etcd-server). Output:\n${proc?.output() ?? ''}`);
  }

  await launch();
  return {
    get url() {
      return `http://127.0.0.1:${ports?.client ?? 0}`;
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
