import { loadConfig, serveConfigSchema, type ServeConfig } from '../config/index.ts';
import { MetadataService } from '../service/index.ts';
import { createLogger } from './logger.ts';

export interface CommandContext {
  /** Resolves when the user asks the process to stop (SIGINT/SIGTERM). */
  stopRequested: AbortSignal;
  env: NodeJS.ProcessEnv;
}

export function loadServeConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): ServeConfig {
  const { config: file, ...rest } = flags;
  return loadConfig(serveConfigSchema, { flags: rest, env, ...(typeof file === 'string' ? { file, fileSection: 'serve' } : {}) });
}

/** `kubemeta serve`: runs the metadata service until SIGINT/SIGTERM, then drains. */
export async function runServe(flags: Record<string, unknown>, ctx: CommandContext): Promise<number> {
  const config = loadServeConfig(flags, ctx.env);
  const logger = createLogger(config.logLevel, 'kubemeta');
  const service = await MetadataService.start(config, { logger });
  logger.info({ http: service.httpUrl, cluster: config.cluster }, 'kubemeta serve started');
  // Until asked to stop, or until the service fails for good (a deposed leader): then exit
  // non-zero so that the process is restarted (as a standby, with --leader-elect).
  await new Promise<void>((resolve) => {
    ctx.stopRequested.addEventListener('abort', () => resolve(), { once: true });
    service.failed.addEventListener('abort', () => resolve(), { once: true });
  });
  await service.drain();
  if (service.failed.aborted) {
    logger.error({ err: service.failed.reason as Error }, 'kubemeta serve failed; exiting');
    return 1;
  }
  logger.info({ head: service.head }, 'kubemeta serve stopped');
  return 0;
}
