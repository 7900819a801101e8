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

/**
 * The `kubemeta` command. Returns the exit code: 0 ok, 1 failure, 2 bad usage or config.
 */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
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
    .action(async (o: { nats: string; cluster: string; node?: string; summary?: boolean }) => {
      await runTail(o, process.stdout, stop.signal);
    });
  registerConsoleCommand(program, ctx, (c) => { code = c; });
  registerAgentsCommand(program, ctx, (c) => { code = c; });
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
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
