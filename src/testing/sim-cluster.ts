import { join } from 'node:path';
import { ScenarioEngine, startSimApiServer, writeKubeconfig, type ScenarioOptions, type SimApiServer } from '../sim/index.ts';
import { makeTempDir } from './processes.ts';

export interface SimClusterOptions extends ScenarioOptions {
  /** Serve HTTPS with a generated CA (the kubeconfig carries it). */
  https?: boolean;
  /** Watch bookmark interval (default 1 s, so clients see bookmarks quickly in tests). */
  bookmarkIntervalMs?: number;
  /** Churn actions per second once started (default 0: a still cluster). */
  churnRate?: number;
}

export interface SimCluster {
  /** The API server's base URL. */
  readonly url: string;
  /** A kubeconfig for kubectl, @kubernetes/client-node and `kubemeta serve --kubeconfig`. */
  readonly kubeconfig: string;
  /** The scenario: `step(n)` churns deterministically, `model` is the cluster's truth. */
  readonly engine: ScenarioEngine;
  readonly server: SimApiServer;
  stop(): Promise<void>;
}

/**
 * A simulated Kubernetes cluster for tests (ours and SDK users'): a seeded scenario with
 * live controllers behind the sim's API server on 127.0.0.1, and a kubeconfig for it in a
 * temporary directory that `stop()` removes.
 */
export async function startSimCluster(options: SimClusterOptions = {}): Promise<SimCluster> {
  const { https, bookmarkIntervalMs, churnRate, ...scenario } = options;
  const dir = await makeTempDir('sim');
  const engine = new ScenarioEngine(scenario);
  engine.populate();
  engine.controllers.start();
  const server = await startSimApiServer(engine.model, { https: https === true, bookmarkIntervalMs: bookmarkIntervalMs ?? 1_000 });
  const kubeconfig = join(dir.path, 'kubeconfig');
  await writeKubeconfig(kubeconfig, { server: server.url, ...(server.tls ? { caPem: server.tls.caPem } : {}) });
  if (churnRate !== undefined && churnRate > 0) engine.startChurn({ ratePerSecond: churnRate });
  return {
    url: server.url,
    kubeconfig,
    engine,
    server,
    async stop() {
      await engine.stopChurn();
      engine.controllers.close();
      await server.close();
      await dir.remove();
    },
  };
}
