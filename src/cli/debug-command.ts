// `kubemeta debug scope | agent | store` (docs/operating.md, "Debug dumps"). Exit codes as every
// command: 0 ok (`agent`: in step), 1 failure or, for `agent`, a difference found, 2 bad usage.
import { InvalidArgumentError, type Command } from 'commander';
import type { Scope } from '../schema/index.ts';
import { compareAgent, formatComparison } from './debug-agent.ts';
import { connectDebugNats, fetchScopeByReplay, fetchScopeFromStore, formatScopeTable, scopeArgument, scopeToJson, type NatsTarget } from './debug-scope.ts';
import { dumpStore, formatStoreDump } from './debug-store.ts';
import type { CommandContext } from './serve-command.ts';

interface NatsFlags {
  nats: string;
  cluster: string;
  natsCredsFile?: string;
  timeoutMs: number;
  json?: boolean;
}

const integer = (name: string, min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  return n;
};

const scopeParser = (v: string): Scope => {
  try {
    return scopeArgument(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

function natsOptions(c: Command): Command {
  return c
    .option('--nats <urls>', 'NATS servers, comma-separated', 'nats://127.0.0.1:4222')
    .option('--cluster <name>', 'cluster name (as kubemeta serve --cluster)', 'default')
    .option('--nats-creds-file <file>', "NATS .creds file (a cluster client's; with --require-scoped-inboxes, debug scope of a node needs the service's)")
    .option('--timeout-ms <ms>', 'how long to wait for NATS and each answer', integer('--timeout-ms', 1), 10_000)
    .option('--json', 'JSON instead of a table');
}

/** Adds `kubemeta debug` and its subcommands; `done` receives the exit code. */
export function registerDebugCommand(program: Command, ctx: CommandContext, done: (code: number) => void): void {
  const debug = program.command('debug').description('debug dumps: what the service, an agent and the store hold (docs/operating.md)');

  natsOptions(debug.command('scope').description('what the service holds for a scope: objects, head, chain (by replay from the running service, or --store)'))
    .argument('<scope>', '"cluster", "node/<name>" or a node name', scopeParser)
    .option('--store <spec>', 'read the store instead of asking the service: lmdb:<dir> or etcd:<url>[,<url>…] (read-only; works on a stopped service)')
    .option('--etcd-key-prefix <prefix>', 'key prefix in etcd (default kubemeta/<cluster>/)')
    .option('--chain <n>', 'chain links shown with --store (default 20)', integer('--chain', 0), 20)
    .action(async (scope: Scope, o: NatsFlags & { store?: string; etcdKeyPrefix?: string; chain: number }) => {
      const s = o.store !== undefined
        ? await fetchScopeFromStore({ store: o.store, cluster: o.cluster, ...(o.etcdKeyPrefix !== undefined ? { etcdKeyPrefix: o.etcdKeyPrefix } : {}) }, scope, o.chain)
        : await withNats(o, ctx, (nc) => fetchScopeByReplay(nc, o.cluster, scope, o.timeoutMs, ctx.stopRequested));
      process.stdout.write(o.json ? `${JSON.stringify(scopeToJson(s), null, 2)}\n` : formatScopeTable(s));
      done(0);
    });

  natsOptions(debug.command('agent').description("compare a node agent's state with the service's scope of its node: \"in step\" (exit 0) or the objects that differ (exit 1)"))
    .argument('<node>', 'node name')
    .option('--settle-ms <ms>', 'wait up to this long for agent and service to stand at the same version', integer('--settle-ms', 0), 5_000)
    .action(async (node: string, o: NatsFlags & { settleMs: number }) => {
      const scope = scopeParser(node);
      if (scope.kind !== 'node') throw new InvalidArgumentError('give a node name');
      const c = await withNats(o, ctx, (nc) => compareAgent(nc, { cluster: o.cluster, node: scope.node, timeoutMs: o.timeoutMs, settleMs: o.settleMs }, ctx.stopRequested));
      process.stdout.write(o.json ? `${JSON.stringify(c, null, 2)}\n` : formatComparison(c));
      done(c.inStep ? 0 : 1);
    });

  debug
    .command('store')
    .description('raw key ranges of the store, values decoded where the key is known (read-only; LMDB also while serve runs)')
    .requiredOption('--store <spec>', 'lmdb:<dir> or etcd:<url>[,<url>…]')
    .option('--cluster <name>', 'cluster name (for the default etcd key prefix)', 'default')
    .option('--etcd-key-prefix <prefix>', 'key prefix in etcd (default kubemeta/<cluster>/)')
    .option('--prefix <keyPrefix>', 'only keys starting with this (m/, h/, s/<scope>/, c/<scope>/, o/, t/, g/)')
    .option('--after <key>', 'start after this key (the "next" of the previous page)')
    .option('--limit <n>', 'most entries', integer('--limit', 1), 100)
    .option('--json', 'JSON instead of a table')
    .action(async (o: { store: string; cluster: string; etcdKeyPrefix?: string; prefix?: string; after?: string; limit: number; json?: boolean }) => {
      const d = await dumpStore({
        store: o.store, cluster: o.cluster, limit: o.limit,
        ...(o.etcdKeyPrefix !== undefined ? { etcdKeyPrefix: o.etcdKeyPrefix } : {}),
        ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
        ...(o.after !== undefined ? { after: o.after } : {}),
      });
      process.stdout.write(o.json ? `${JSON.stringify(d, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n` : formatStoreDump(d));
      done(0);
    });
}

async function withNats<T>(o: NatsFlags, ctx: CommandContext, fn: (nc: Awaited<ReturnType<typeof connectDebugNats>>) => Promise<T>): Promise<T> {
  const target: NatsTarget = { nats: o.nats, cluster: o.cluster, timeoutMs: o.timeoutMs, ...(o.natsCredsFile !== undefined ? { natsCredsFile: o.natsCredsFile } : {}) };
  const nc = await connectDebugNats(target, ctx.stopRequested);
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}


