import pino from 'pino';
import type { Logger } from '../core/index.ts';

/**
 * The service's logger: pino, JSON lines on stderr (stdout is for data, e.g. `kubemeta tail`),
 * errors under `err`, stable field names.
 */
export function createLogger(level: string, name: string): Logger {
  return pino({ name, level, base: { pid: process.pid }, errorKey: 'err' }, pino.destination({ fd: 2, sync: false }));
}
