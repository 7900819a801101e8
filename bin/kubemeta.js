#!/usr/bin/env node
// The kubemeta command. The sources are TypeScript run through tsx, so the CLI works from a
// checkout with no build step (Node 20 has no type stripping).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
// The command is done and has closed what it opened; the process ends when nothing is left in
// the event loop. Should a library keep a handle open (a socket, a timer), a stopped service
// must still exit — a supervisor waiting on it would otherwise kill it without its exit code.
// Unref'd: this timer never keeps the process alive itself.
setTimeout(() => {
  const left = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
  process.stderr.write(`kubemeta: still running 10 s after the command ended (open: ${left.join(', ') || 'timers'}); exiting\n`);
  process.exit();
}, 10_000).unref();
