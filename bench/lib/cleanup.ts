// Children and temporary directories a benchmark must not leave behind when it fails half way
// (an uncaught error, Ctrl-C): registered here, killed (SIGKILL) and removed on process exit.
// The normal path still stops them gracefully itself; this is the safety net.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
const hooks: Array<() => void> = [];
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const hook of hooks) {
      try {
        hook();
      } catch {
        // best effort
      }
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  // Without a handler a signal ends the process with no 'exit' event.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
}

/** Kills `child` when this process exits, if it is still running then. */
export function killOnExit(child: ChildProcess): ChildProcess {
  install();
  children.add(child);
  child.once('exit', () => children.delete(child));
  // An IPC send to a child that is gone must not crash the bench.
  child.on('error', () => undefined);
  return child;
}

/** Removes `path` (recursively) when this process exits. */
export function removeOnExit(path: string): string {
  install();
  dirs.add(path);
  return path;
}

/**
 * Runs `hook` (synchronously) when this process exits, e.g. `() => void nats.kill()`: an async
 * kill sends its signal before its first await, which is all an exit handler can do.
 */
export function atExit(hook: () => void): void {
  install();
  hooks.push(hook);
}
