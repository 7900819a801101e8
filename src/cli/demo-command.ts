import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { loadConfig, serveConfigSchema, simConfigSchema } from '../config/index.ts';
import { clusterSubjects, decodeUpdateBatch } from '../schema/index.ts';
import { MetadataService } from '../service/index.ts';
import { makeTempDir, startNatsServer } from '../testing/index.ts';
import { createLogger } from './logger.ts';
import type { CommandContext } from './serve-command.ts';
import { startSim } from './sim-command.ts';

/**
 * `kubemeta demo`: the whole system on one machine — a simulated cluster with churn, a local
 * nats-server, `serve` with the embedded LMDB store — and one summary line a second: what the
 * cluster does, what kubemeta commits and publishes, and what the API server sees of it.
 */
export async function runDemo(o: Record<string, string | undefined>, ctx: CommandContext, out: NodeJS.WritableStream): Promise<number> {
  const logger = createLogger(ctx.env['KUBEMETA_LOG_LEVEL'] ?? 'warn', 'kubemeta-demo');
  const tmp = await makeTempDir('demo');
  const kubeconfig = join(tmp.path, 'kubeconfig');
  const simConfig = loadConfig(simConfigSchema, {
    flags: { nodes: o['nodes'], podsPerNode: o['podsPerNode'], churnRate: o['churnRate'], kubeconfigOut: kubeconfig, bookmarkIntervalMs: 5_000 },
  });
  const nats = await startNatsServer();
  const sim = await startSim(simConfig, logger);
  const serveConfig = loadConfig(serveConfigSchema, {
    flags: { kubeconfig, natsUrls: nats.url, store: `lmdb:${o['data'] ?? join(tmp.path, 'store')}`, http: '127.0.0.1:0', cluster: 'demo' },
  });
  const service = await MetadataService.start(serveConfig, { logger });
  out.write(
    [
      'kubemeta demo',
      `  simulated API server  ${sim.server.url}   (kubectl --kubeconfig ${kubeconfig} get pods -A)`,
      `  nats-server           ${nats.url}   (npx kubemeta tail --nats ${nats.url} --cluster demo)`,
      `  kubemeta serve        ${service.httpUrl}/readyz   /metrics   /status`,
      '',
    ].join('\n') + '\n',
  );
  const nc = await connect({ servers: nats.url, name: 'kubemeta-demo-watch' });
  let received = 0;
  let lastVersion = 0;
  const sub = nc.subscribe(clusterSubjects('demo').clusterScope);
  void (async () => {
    for await (const m of sub) {
      if (m.data.length === 0) continue; // a heartbeat: headers only (wire protocol §6.1)
      const batch = decodeUpdateBatch(m.data);
      received += batch.updates.length;
      lastVersion = batch.updates.at(-1)?.version ?? lastVersion;
    }
  })();
  const started = Date.now();
  const limitMs = o['seconds'] !== undefined ? Number(o['seconds']) * 1000 : Number.POSITIVE_INFINITY;
  while (!ctx.stopRequested.aborted && Date.now() - started < limitMs) {
    await new Promise((r) => setTimeout(r, 1_000));
    const api = sim.server.stats();
    const pods = sim.engine.model.count('Pod');
    out.write(
      `${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s  cluster: ${pods} pods, rv ${sim.engine.model.resourceVersion}` +
        `  |  kubemeta: ${service.state}, head ${service.head}` +
        `  |  subscriber: ${received} updates, at ${lastVersion}` +
        `  |  API server sees: ${api.openWatches} watches, ${sumOf(api.requests['list'])} lists\n`,
    );
  }
  await nc.drain();
  await service.drain();
  await sim.stop();
  await nats.stop();
  await tmp.remove();
  return 0;
}

function sumOf(byKind: Record<string, number> | undefined): number {
  return Object.values(byKind ?? {}).reduce((a, b) => a + b, 0);
}
