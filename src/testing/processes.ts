import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubemetaError } from '../core/index.ts';

/** A helper process failed to start; the message names the binary and what it printed. */
export class TestServerError extends KubemetaError {
  declare readonly code: 'TESTING_SERVER_FAILED';
  constructor(message: string, options?: ErrorOptions) {
    super('TESTING_SERVER_FAILED', message, options);
  }
}

/** A fresh temporary directory; `remove()` deletes it with everything inside. */
export async function makeTempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `kubemeta-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Asks the OS for a free loopback port (there is a short race until the caller binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface SpawnedProcess {
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far (last 64 KiB). */
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL now (a crash, for fault tests); resolves when the process is gone. */
  kill(): Promise<void>;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  /**
   * Start the process in a process group of its own. A terminal's Ctrl-C signals the whole
   * foreground process group: a child in it would stop on its own, at the same moment as its
   * parent, while the parent may still need it to shut down in order (`kubemeta demo` drains
   * the service into its nats-server, then stops the server). Such a child no longer dies with
   * the group, so it is killed (SIGKILL) when this process exits without having stopped it (an
   * uncaught exception, process.exit); only a SIGKILL of this process can still leave it behind.
   */
  ownProcessGroup?: boolean;
}

export function spawnProcess(command: string, args: string[], options: SpawnOptions = {}): SpawnedProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(options.env ? { env: options.env } : {}), ...(options.ownProcessGroup ? { detached: true } : {}) });
  if (options.ownProcessGroup) {
    const killOnExit = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
  }
  let output = '';
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-65_536);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (err) => {
      output += `\n${String(err)}`;
      resolve(null);
    });
  });
  const isRunning = (): boolean => child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  return {
    child,
    output: () => output,
    exited,
    async stop(graceMs = 5_000) {
      if (!isRunning()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (!isRunning()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
