// A whole local system for service tests: a simulated cluster (deterministic scenario with
// live controllers) behind its API server, a real nats-server (or NATS servers the caller
// runs: `natsUrls`), a kubeconfig, a temp store dir.
import { join } from 'node:path';
import { loadConfig, serveConfigSchema, type ServeConfig } from '../../src/config/index.ts';
import { ScenarioEngine, startSimApiServer, writeKubeconfig, type ScenarioOptions, type SimApiServer, type SimTokenOptions } from '../../src/sim/index.ts';
import { makeTempDir, startNatsServer, type NatsServer } from '../../src/testing/index.ts';

export interface ServeEnvBase {
  engine: ScenarioEngine;
  api: SimApiServer;
  /** The NATS URLs the serve config lists. */
  natsUrls: readonly string[];
  dir: string;
  kubeconfig: string;
  /** A serve config for this environment (store in the temp dir), with overrides. */
  serveConfig(overrides?: Record<string, unknown>): ServeConfig;
  /** The flags `kubemeta serve` needs for this environment (child-process tests). */
  serveArgs(overrides?: Record<string, string>): string[];
  /** Stops what the environment started (not NATS servers passed in as `natsUrls`). */
  stop(): Promise<void>;
}

export interface ServeEnv extends ServeEnvBase {
  nats: NatsServer;
}

export interface ServeEnvOptions {
  bookmarkIntervalMs?: number;
  /** The simulator serves WatchList (default true; false answers as older API servers do). */
  watchList?: boolean;
  /** NATS servers the caller runs (e.g. a NatsCluster): no nats-server is started. */
  natsUrls?: readonly string[];
  /** The simulator's service-account tokens (TokenRequest/TokenReview), e.g. a shorter minimum expiry. */
  tokens?: SimTokenOptions;
}

export async function startServeEnv(scenario: ScenarioOptions, options: ServeEnvOptions & { natsUrls: readonly string[] }): Promise<ServeEnvBase>;
export async function startServeEnv(scenario: ScenarioOptions, options?: ServeEnvOptions): Promise<ServeEnv>;
export async function startServeEnv(scenario: ScenarioOptions, options: ServeEnvOptions = {}): Promise<ServeEnvBase & { nats?: NatsServer }> {
  const tmp = await makeTempDir('serve');
  const engine = new ScenarioEngine(scenario);
  engine.populate();
  engine.controllers.start();
  const api = await startSimApiServer(engine.model, { bookmarkIntervalMs: options.bookmarkIntervalMs ?? 200, ...(options.watchList === undefined ? {} : { watchList: options.watchList }), ...(options.tokens ? { tokens: options.tokens } : {}) });
  const kubeconfig = join(tmp.path, 'kubeconfig');
  await writeKubeconfig(kubeconfig, { server: api.url });
  const nats = options.natsUrls ? undefined : await startNatsServer();
  const natsUrls = options.natsUrls ? [...options.natsUrls] : [(nats as NatsServer).url];
  const base = (): Record<string, string> => ({
    cluster: 'test',
    kubeconfig,
    natsUrls: natsUrls.join(','),
    store: `lmdb:${join(tmp.path, 'store')}`,
    http: '127.0.0.1:0',
    batchLingerMs: '2',
    logLevel: 'warn',
  });
  return {
    engine,
    api,
    ...(nats ? { nats } : {}),
    natsUrls,
    dir: tmp.path,
    kubeconfig,
    serveConfig: (overrides = {}) => loadConfig(serveConfigSchema, { flags: { ...base(), ...overrides } }),
    serveArgs: (overrides = {}) =>
      Object.entries({ ...base(), ...overrides }).flatMap(([k, v]) => [`--${k.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`, v]),
    async stop() {
      await engine.stopChurn();
      engine.controllers.close();
      await api.close();
      await nats?.stop();
      await tmp.remove();
    },
  };
}
