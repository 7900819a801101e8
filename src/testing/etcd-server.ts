import { sleep } from '../core/index.ts';
import { freePort, makeTempDir, spawnProcess, TestServerError, type SpawnedProcess } from './processes.ts';

export interface EtcdServerOptions {
  binary?: string;
  startTimeoutMs?: number;
  /** --max-txn-ops (etcd's default 128): pass the same to the store's `maxTxnOps`. */
  maxTxnOps?: number;
  /** --max-request-bytes (etcd's default 1.5 MiB): pass the same to the store's `maxRequestBytes`. */
  maxRequestBytes?: number;
  /** --quota-backend-bytes (etcd's default 2 GiB): a small quota makes "database space exceeded" testable. */
  quotaBackendBytes?: number;
  /**
   * Serve clients over TLS (`https://` URL) with this certificate and key; with
   * `trustedCaFile`, also require client certificates signed by that CA (--client-cert-auth).
   */
  tls?: { certFile: string; keyFile: string; trustedCaFile?: string };
  /** More etcd flags, appended as given. */
  extraArgs?: readonly string[];
}

export interface EtcdServer {
  /** `http://127.0.0.1:PORT` (`https://` with `tls`) */
  readonly url: string;
  stop(): Promise<void>;
  /** SIGKILL (an outage); `start()` brings it back with the same data and ports. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP: etcd stops answering but keeps its connections (calls time out, outcome unknown). */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
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
  const flags = [
    ...(options.maxTxnOps === undefined ? [] : ['--max-txn-ops', String(options.maxTxnOps)]),
    ...(options.maxRequestBytes === undefined ? [] : ['--max-request-bytes', String(options.maxRequestBytes)]),
    ...(options.quotaBackendBytes === undefined ? [] : ['--quota-backend-bytes', String(options.quotaBackendBytes)]),
    ...(options.tls ? ['--cert-file', options.tls.certFile, '--key-file', options.tls.keyFile] : []),
    ...(options.tls?.trustedCaFile ? ['--client-cert-auth', '--trusted-ca-file', options.tls.trustedCaFile] : []),
    ...(options.extraArgs ?? []),
  ];
  const scheme = options.tls ? 'https' : 'http';
  let ports: { client: number; peer: number; metrics: number } | undefined;
  let proc: SpawnedProcess | undefined;

  async function launchOnce(): Promise<boolean> {
    ports ??= { client: await freePort(), peer: await freePort(), metrics: await freePort() };
    const client = `${scheme}://127.0.0.1:${ports.client}`;
    const peer = `http://127.0.0.1:${ports.peer}`;
    // Health is asked on the metrics listener: plain HTTP also when clients use TLS.
    const metrics = `http://127.0.0.1:${ports.metrics}`;
    proc = spawnProcess(binary, [
      '--name', 'kubemeta-test',
      '--data-dir', dir.path,
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `kubemeta-test=${peer}`,
      '--listen-metrics-urls', metrics,
      '--log-level', 'warn',
      ...flags,
    ]);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (proc.child.exitCode !== null) return false;
      try {
        const res = await fetch(`${metrics}/health`, { signal: AbortSignal.timeout(1_000) });
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
      return `${scheme}://127.0.0.1:${ports?.client ?? 0}`;
    },
    async stop() {
      await proc?.stop();
      await dir.remove();
    },
    async kill() {
      await proc?.kill();
    },
    start: launch,
    pause: () => void proc?.child.kill('SIGSTOP'),
    resume: () => void proc?.child.kill('SIGCONT'),
    output: () => proc?.output() ?? '',
  };
}
