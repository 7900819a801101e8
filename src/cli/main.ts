import { constants as osConstants } from 'node:os';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/index.ts';
import { isKubemetaError } from '../core/index.ts';
import { addOptions, SERVE_OPTIONS, SIM_OPTIONS } from './options.ts';
import { runServe, type CommandContext } from './serve-command.ts';
import { runSim } from './sim-command.ts';
import { runTail } from './tail-command.ts';
import { runDemo } from './demo-command.ts';
import { registerConsoleCommand } from './console-command.ts';
import { registerAgentsCommand } from './agents-command.ts';
import { runNatsAuthInit } from './nats-auth-command.ts';
import { registerDebugCommand } from './debug-command.ts';

/** The signals that ask a command to stop: Ctrl-C, what Kubernetes and supervisors send, a closed terminal. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * The `kubemeta` command. Returns the exit code: 0 ok — also after a stop asked for by SIGINT,
 * SIGTERM or SIGHUP, which every command handles by closing what it started —, 1 failure, 2 bad
 * usage or config. A second signal while stopping exits at once with 128 + the signal's number
 * (130 for Ctrl-C, as a shell reports a process killed by it), through process.exit, so that
 * 'exit' handlers still stop child processes (the demo's nats-server).
 */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!stop.signal.aborted) {
      stop.abort();
      return;
    }
    process.stderr.write(`kubemeta: ${signal} while stopping; exiting now\n`);
    process.exit(128 + (osConstants.signals[signal] ?? 0));
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  const ctx: CommandContext = { stopRequested: stop.signal, env };
  let code = 0;
  const program = new Command('kubemeta')
    .description('Kubernetes workload metadata for every telemetry component, with one client on the control plane')
    .exitOverride()
    .showHelpAfterError();

  addOptions(program.command('serve').description('run the metadata service').option('--config <file>', 'YAML/JSON config file (key "serve")'), SERVE_OPTIONS)
    .action(async (flags: Record<string, unknown>) => { code = await runServe(flags, ctx); });
  addOptions(program.command('sim').description('run a simulated Kubernetes API server').option('--config <file>', 'YAML/JSON config file (key "sim")'), SIM_OPTIONS)
    .action(async (flags: Record<string, unknown>) => { code = await runSim(flags, ctx, process.stdout); });
  program
    .command('tail')
    .description('print the live update stream as JSON lines')
    .option('--nats <urls>', 'NATS servers, comma-separated', 'nats://127.0.0.1:4222')
    .option('--cluster <name>', 'cluster name', 'default')
    .option('--node <name>', "a node's scope (default: the cluster scope)")
    .option('--summary', 'one line per second with counts instead of every update')
    .option('--nats-creds-file <file>', 'NATS .creds file (a cluster client\'s, from kubemeta nats-auth init)')
    .action(async (o: { nats: string; cluster: string; node?: string; summary?: boolean; natsCredsFile?: string }) => {
      await runTail(o, process.stdout, stop.signal);
    });
  registerConsoleCommand(program, ctx, (c) => { code = c; });
  registerAgentsCommand(program, ctx, (c) => { code = c; });
  registerDebugCommand(program, ctx, (c) => { code = c; });
  program
    .command('nats-auth')
    .description('NATS authentication for kubemeta')
    .command('init')
    .description('generate operator-mode NATS keys, the nats-server config and the credentials of every role (docs/operating.md)')
    .requiredOption('--out <dir>', 'directory to write into (created; existing keys are not overwritten)')
    .option('--cluster <name>', 'cluster name used in NATS subjects (as kubemeta serve --cluster)', 'default')
    .option('--force', 'overwrite existing keys (every credential made with them stops working)')
    .action(async (o: { out: string; cluster: string; force?: boolean }) => { code = await runNatsAuthInit(o, process.stdout); });
  program
    .command('demo')
    .description('the whole system locally: sim + nats-server + serve (embedded store) + web console + a live summary')
    .option('--nodes <n>', 'simulated nodes', '20')
    .option('--pods-per-node <n>', 'pods per node', '10')
    .option('--churn-rate <n>', 'churn actions per second', '20')
    .option('--agents <n>', 'simulated node agents with telemetry for the query box: "all", a number, or 0 for none (default: all up to 50 nodes)')
    .option('--data <dir>', 'store directory (default: a new temporary directory)')
    .option('--http <host:port>', 'address of serve\'s HTTP server and the web console (default 127.0.0.1:0: any free port)')
    .option('--seconds <n>', 'stop after this many seconds (default: run until Ctrl-C)')
    .option('--no-auth', 'a nats-server without authentication (default: operator mode, agents with issued credentials of their node only; docs/security.md)')
    .action(async (o: Record<string, string | undefined>) => { code = await runDemo(o, ctx, process.stdout); });

  try {
    await program.parseAsync(argv as string[]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof ConfigError) {
      process.stderr.write(`kubemeta: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`kubemeta: ${isKubemetaError(err) ? `[${err.code}] ` : ''}${(err as Error).message ?? String(err)}\n`);
    return 1;
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
}
