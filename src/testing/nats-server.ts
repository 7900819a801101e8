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
  const dir = await makeTempDir('nats');
  const binary = options.binary ?? 'nats-server';
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  let clientPort = options.port ?? -1;
  let monitorPort = -1;
  let proc: SpawnedProcess | undefined;

  async function launch(): Promise<void> {
    const portsDir = await makeTempDir('nats-ports');
    const args = ['-a', '127.0.0.1', '-p', String(clientPort), '-m', String(monitorPort), '--ports_file_dir', portsDir.path];
    proc = spawnProcess(binary, [...args, ...(options.args ?? [])]);
    try {
      const ports = await readPortsFile(portsDir.path, proc, timeoutMs);
      clientPort = ports.client;
      monitorPort = ports.monitor;
    } catch (err) {
      await proc.kill();
      throw err;
    } finally {
      await portsDir.remove();
    }
  }

  await launch();
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

async function readPortsFile(dir: string, proc: SpawnedProcess, timeoutMs: number): Promise<{ client: number; monitor: number }> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    const name = (await readdir(dir)).find((f) => f.endsWith('.ports'));
    if (name) {
      try {
        const ports = JSON.parse(await readFile(join(dir, name), 'utf8')) as { nats?: string[]; monitoring?: string[] };
        const client = portOf(ports.nats?.[0]);
        const monitor = portOf(ports.monitoring?.[0]);
        if (client && monitor) return { client, monitor };
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
