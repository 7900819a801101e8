import { join } from 'node:path';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { ConfigError, loadConfig, serveConfigSchema, simConfigSchema } from '../config/index.ts';
import { toError, type Logger } from '../core/index.ts';
import { clusterSubjects, decodeUpdateBatch } from '../schema/index.ts';
import { MetadataService } from '../service/index.ts';
import { runAgents, type AgentFleet } from '../demo-agents/index.ts';
import { createAgentWorkload } from '../sim/index.ts';
import { makeTempDir, type NatsServer } from '../testing/index.ts';
import { DemoAgentCredentials, startDemoNats } from './demo-credentials.ts';
import { createLogger } from './logger.ts';
import type { CommandContext } from './serve-command.ts';
import { ServeConsole } from './serve-console.ts';
import { pause, stopInOrder } from './shutdown.ts';
import { startSim, type RunningSim } from './sim-command.ts';

/**
 * `kubemeta demo`: the whole system on one machine — a simulated cluster with churn, a local
 * nats-server, `serve` with the embedded LMDB store and the web console on its HTTP server — and
 * one summary line a second: what the cluster does, what kubemeta commits and publishes, and
 * what the API server sees of it.
 *
 * The secure setup is the demo's too (docs/security.md, "Issued agent credentials"): nats-server
 * runs in operator mode with keys from `kubemeta nats-auth init`, the service, the console and
 * the demo's subscriber log in as their own users, and every simulated node agent gets a NATS
 * user of its own node from the service's credential issuer, for the token of the agent pod the
 * sim's DaemonSet runs on that node.
 *
 * Ctrl-C (or SIGTERM) stops every part in order and the command returns 0. The nats-server
 * child runs in a process group of its own: a terminal's Ctrl-C signals the whole foreground
 * group, and a nats-server that stopped at the same moment as the demo left the service, the
 * console and the agents reconnecting to nothing (and the service's drain waiting to publish).
 * Here the consumers stop first, then the service drains into the still running nats-server,
 * then the simulated API server and nats-server stop.
 */
export async function runDemo(o: Record<string, string | undefined>, ctx: CommandContext, out: NodeJS.WritableStream): Promise<number> {
  const stop = ctx.stopRequested;
  const logger = quietWhenStopping(createLogger(ctx.env['KUBEMETA_LOG_LEVEL'] ?? 'warn', 'kubemeta-demo'), stop);
  let tmp: Awaited<ReturnType<typeof makeTempDir>> | undefined;
  let nats: NatsServer | undefined;
  let sim: RunningSim | undefined;
  let webConsole: ServeConsole | undefined;
  let service: MetadataService | undefined;
  let fleet: AgentFleet | undefined;
  let agentCredentials: DemoAgentCredentials | undefined;
  let watcher: { nc: NatsConnection; done: Promise<void> } | undefined;
  let failure: unknown;
  try {
    tmp = await makeTempDir('demo');
    const kubeconfig = join(tmp.path, 'kubeconfig');
    const simConfig = loadConfig(simConfigSchema, {
      flags: { nodes: o['nodes'], podsPerNode: o['podsPerNode'], churnRate: o['churnRate'], kubeconfigOut: kubeconfig, bookmarkIntervalMs: 5_000 },
    });
    const agentNodes = demoAgentNodes(o['agents'], simConfig.nodes);
    const limitMs = demoSeconds(o['seconds']) * 1000;
    const demoNats = await startDemoNats((o as Record<string, unknown>)['auth'] !== false, tmp.path);
    const files = demoNats.files;
    nats = demoNats.server;
    sim = await startSim(simConfig, logger);
    // The agents' ServiceAccount and DaemonSet: one agent pod per node, whose token proves the node.
    if (files) createAgentWorkload(sim.engine.model);
    const serveConfig = loadConfig(serveConfigSchema, {
      flags: {
        kubeconfig, natsUrls: nats.url, store: `lmdb:${o['data'] ?? join(tmp.path, 'store')}`, http: o['http'] ?? '127.0.0.1:0', cluster: 'demo', console: true,
        ...demoNats.serveFlags,
      },
    });
    // The console reads the cluster scope and queries agents: a cluster client, not the service's user.
    webConsole = await ServeConsole.prepare(files ? { ...serveConfig, natsCredsFile: files.clusterClientCreds } : serveConfig, logger, stop);
    const registerHttp = webConsole.registerHttp;
    service = await MetadataService.start(serveConfig, { logger, ...(registerHttp ? { registerHttp } : {}) });
    const consoleUrl = await webConsole.attach(service);
    // The agents follow the cluster through a client of their own: started before the service's
    // initial sync is complete, that client's replay requests are refused (UNAVAILABLE, retried)
    // with a warning each. The agents need the synced state anyway, so nothing is lost by waiting.
    await service.whenReady(stop);
    // Simulated node agents with synthetic telemetry, so the console's query box has something
    // to ask: every node of a small cluster, the first 50 of a large one (--agents).
    if (agentNodes !== 0) {
      const credentials = files && new DemoAgentCredentials({ sim, dir: tmp.path, servers: [nats.url], cluster: 'demo', bootstrapCredsFile: files.agentBootstrapCreds, logger, stop });
      agentCredentials = credentials;
      fleet = await runAgents({
        servers: nats.url, cluster: 'demo', nodes: agentNodes, logger, signal: stop,
        // Node discovery reads the cluster scope as a cluster client; each agent logs in as its node.
        natsOptions: demoNats.clusterClient,
        ...(credentials ? { natsOptionsFor: (node: string) => credentials.optionsFor(node) } : {}),
      });
    }
    out.write(
      [
        'kubemeta demo',
        `  simulated API server  ${sim.server.url}   (kubectl --kubeconfig ${kubeconfig} get pods -A)`,
        files
          ? `  nats-server           ${nats.url}   operator mode (npx kubemeta tail --nats ${nats.url} --cluster demo --nats-creds-file ${files.clusterClientCreds})`
          : `  nats-server           ${nats.url}   no authentication (npx kubemeta tail --nats ${nats.url} --cluster demo)`,
        `  kubemeta serve        ${service.httpUrl}/readyz   /metrics   /status`,
        `  web console           ${consoleUrl}   (open it in a browser)`,
        fleet
          ? `  node agents           simulated, ${agentNodes === 'all' ? 'one per node' : `on ${agentNodes} nodes`}${files ? ', each with NATS credentials of its node only, issued for its pod\'s token' : ''}   (query box: p99 latency by service in namespace <ns>)`
          : '  node agents           none (--agents 0)',
        '',
      ].join('\n') + '\n',
    );
    const seen = { received: 0, lastVersion: 0 };
    watcher = await watchClusterScope(nats.url, demoNats.clusterClient, seen, logger);
    const started = Date.now();
    for (;;) {
      // Woken by Ctrl-C at once: the stop starts now, not at the next summary line.
      await pause(Math.min(1_000, Math.max(0, limitMs - (Date.now() - started))), stop);
      if (stop.aborted || Date.now() - started >= limitMs) break;
      const api = sim.server.stats();
      out.write(
        `${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s  cluster: ${sim.engine.model.count('Pod')} pods, rv ${sim.engine.model.resourceVersion}` +
          `  |  kubemeta: ${service.state}, head ${service.head}` +
          `  |  subscriber: ${seen.received} updates, at ${seen.lastVersion}` +
          `  |  API server sees: ${api.openWatches} watches, ${sumOf(api.requests['list'])} lists` +
          `${fleet ? agentsSummary(fleet) : ''}\n`,
      );
    }
  } catch (err) {
    // Ctrl-C while starting (waiting for NATS, the initial sync, the agents): a stop, not a failure.
    if (!stop.aborted) failure = err;
  }
  // Consumers first (they would see the service go away and retry), then the service, which
  // drains into the nats-server it publishes to, then what it reads from and publishes to.
  const [w, f, a, c, s, k, n, t] = [watcher, fleet, agentCredentials, webConsole, service, sim, nats, tmp];
  const stopped = await stopInOrder([
    ['the demo subscriber', w && (async () => { await w.nc.close(); await w.done; })],
    ['the node agents', f && (() => f.close())],
    ['the agents\' credential renewals', a && (() => a.close())],
    ['the web console', c && (() => c.close())],
    ['kubemeta serve', s && (() => s.drain())],
    ['the simulated API server', k && (() => k.stop())],
    ['nats-server', n && (() => n.stop())],
    ['the temporary directory', t && (() => t.remove())],
  ]);
  if (failure !== undefined) throw failure;
  if (stopped) throw stopped;
  return 0;
}

/**
 * How long a warning waits before it is written: a stop requested meanwhile makes it a debug
 * line. A signal sent to the demo and its nats-server at once reaches both together, and the
 * service may notice the disconnect a moment before the demo handles its own signal.
 */
const STOP_GRACE_MS = 250;

/**
 * The demo's logger: warnings become debug lines when the demo is stopping. Everything runs on
 * this machine and stops together; should its nats-server go first anyway (a signal sent to it
 * too, as a terminal's Ctrl-C did when it shared the demo's process group), the service's "NATS
 * disconnected" and "did not finish" warnings describe the stop the user asked for, not a
 * problem. Errors stay errors and are written at once.
 */
function quietWhenStopping(logger: Logger, stopping: AbortSignal): Logger {
  const warn = (o: object, m?: string): void => {
    if (stopping.aborted) return logger.debug(o, m);
    // Not unref'd: a warning pending when the demo fails is still written (at most 250 ms late).
    setTimeout(() => (stopping.aborted ? logger.debug(o, m) : logger.warn(o, m)), STOP_GRACE_MS);
  };
  return {
    debug: (o, m) => logger.debug(o, m),
    info: (o, m) => logger.info(o, m),
    warn,
    error: (o, m) => logger.error(o, m),
    child: (bindings) => quietWhenStopping(logger.child(bindings), stopping),
  };
}

/** Counts the updates on the cluster scope, as any subscriber would see them. */
async function watchClusterScope(
  url: string,
  auth: Partial<ConnectionOptions>,
  seen: { received: number; lastVersion: number },
  logger: Logger,
): Promise<{ nc: NatsConnection; done: Promise<void> }> {
  const nc = await connect({ ...auth, servers: url, name: 'kubemeta-demo-watch' });
  const sub = nc.subscribe(clusterSubjects('demo').clusterScope);
  const done = (async () => {
    try {
      for await (const m of sub) {
        if (m.data.length === 0) continue; // a heartbeat: headers only (wire protocol §6.1)
        const batch = decodeUpdateBatch(m.data);
        seen.received += batch.updates.length;
        seen.lastVersion = batch.updates.at(-1)?.version ?? seen.lastVersion;
      }
    } catch (err) {
      // Only the summary line depends on it: the demo goes on without counts.
      logger.warn({ err: toError(err) }, 'the demo subscriber stopped');
    }
  })();
  return { nc, done };
}

function sumOf(byKind: Record<string, number> | undefined): number {
  return Object.values(byKind ?? {}).reduce((a, b) => a + b, 0);
}

/** `--agents`: "all", a count, or 0; default all nodes up to 50. */
function demoAgentNodes(option: string | undefined, nodes: number): 'all' | number {
  if (option === undefined) return nodes <= 50 ? 'all' : 50;
  if (option === 'all') return 'all';
  if (!/^\d{1,6}$/.test(option)) throw new ConfigError([{ option: '--agents', problem: `must be "all", a number of nodes, or 0 for none; got ${JSON.stringify(option)}` }]);
  return Number(option);
}

/** `--seconds`: a positive number; absent: until Ctrl-C. */
function demoSeconds(option: string | undefined): number {
  if (option === undefined) return Number.POSITIVE_INFINITY;
  const seconds = Number(option);
  if (!(seconds > 0 && Number.isFinite(seconds))) throw new ConfigError([{ option: '--seconds', problem: `must be a positive number of seconds; got ${JSON.stringify(option)}` }]);
  return seconds;
}

function agentsSummary(fleet: AgentFleet): string {
  const s = fleet.stats();
  return `  |  agents: ${s.inSync}/${s.agents} in sync, ${s.rowsRecorded} rows, ${s.queriesAnswered} queries`;
}
