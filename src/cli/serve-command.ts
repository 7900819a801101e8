import { ConfigError, loadConfig, serveConfigSchema, type ServeConfig } from '../config/index.ts';
import { MetadataService } from '../service/index.ts';
import { createLogger } from './logger.ts';
import { ServeConsole } from './serve-console.ts';
import type { PublishFaults } from '../bus/index.ts';

export interface CommandContext {
  /** Aborted when the user asks the process to stop (SIGINT, SIGTERM, SIGHUP: main.ts). */
  stopRequested: AbortSignal;
  env: NodeJS.ProcessEnv;
}

export function loadServeConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): ServeConfig {
  const { config: file, ...rest } = flags;
  return loadConfig(serveConfigSchema, { flags: rest, env, ...(typeof file === 'string' ? { file, fileSection: 'serve' } : {}) });
}

/**
 * `kubemeta serve`: runs the metadata service until SIGINT/SIGTERM, then drains and returns 0;
 * 1 when the service failed for good (a deposed leader, NATS refusing the credentials).
 */
export async function runServe(flags: Record<string, unknown>, ctx: CommandContext): Promise<number> {
  const config = loadServeConfig(flags, ctx.env);
  const logger = createLogger(config.logLevel, 'kubemeta');
  const publishFaults = testPublishFaults(ctx.env);
  if (publishFaults) logger.warn({ publishFaults }, 'TEST HOOK KUBEMETA_TEST_PUBLISH_FAULTS is set: published messages are dropped/duplicated on purpose');
  // --console: the client connects first, because the console's routes go on the HTTP server
  // before it listens (MetadataServiceDeps.registerHttp).
  let webConsole: ServeConsole | undefined;
  try {
    webConsole = config.console ? await ServeConsole.prepare(config, logger, ctx.stopRequested) : undefined;
  } catch (err) {
    // Ctrl-C while NATS did not answer yet: a stop, not a failure (nothing else started).
    if (ctx.stopRequested.aborted) return 0;
    throw err;
  }
  let service: MetadataService;
  try {
    const registerHttp = webConsole?.registerHttp;
    service = await MetadataService.start(config, { logger, ...(publishFaults ? { publishFaults } : {}), ...(registerHttp ? { registerHttp } : {}) });
  } catch (err) {
    await webConsole?.close();
    throw err;
  }
  logger.info({ http: service.httpUrl, cluster: config.cluster }, 'kubemeta serve started');
  if (webConsole) logger.info({ url: await webConsole.attach(service) }, 'web console');
  // Until asked to stop, or until the service fails for good (a deposed leader): then exit
  // non-zero so that the process is restarted (as a standby, with --leader-elect).
  await new Promise<void>((resolve) => {
    ctx.stopRequested.addEventListener('abort', () => resolve(), { once: true });
    service.failed.addEventListener('abort', () => resolve(), { once: true });
  });
  await webConsole?.close();
  await service.drain();
  if (service.failed.aborted) {
    logger.error({ err: service.failed.reason as Error }, 'kubemeta serve failed; exiting');
    return 1;
  }
  logger.info({ head: service.head }, 'kubemeta serve stopped');
  return 0;
}

/**
 * Fault injection for the chaos suite (test/chaos), from the environment only so that it cannot
 * be set by accident in a config file: `KUBEMETA_TEST_PUBLISH_FAULTS='{"dropFraction":0.05,
 * "duplicateFraction":0.02}'` drops or duplicates that fraction of published messages.
 */
function testPublishFaults(env: NodeJS.ProcessEnv): PublishFaults | undefined {
  const raw = env['KUBEMETA_TEST_PUBLISH_FAULTS'];
  if (raw === undefined || raw === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError([{ option: 'KUBEMETA_TEST_PUBLISH_FAULTS', problem: `is not JSON: ${raw}` }]);
  }
  const o = (parsed ?? {}) as { dropFraction?: unknown; duplicateFraction?: unknown };
  const fraction = (v: unknown, name: string): number => {
    if (v === undefined) return 0;
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new ConfigError([{ option: 'KUBEMETA_TEST_PUBLISH_FAULTS', problem: `${name} must be a number in [0, 1]` }]);
    return v;
  };
  return { dropFraction: fraction(o.dropFraction, 'dropFraction'), duplicateFraction: fraction(o.duplicateFraction, 'duplicateFraction') };
}
