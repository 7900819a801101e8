import { z } from 'zod';
import { checkNatsCredentials, natsCredentialsShape } from '../config/index.ts';
import { isValidClusterName } from '../schema/index.ts';

/** A list from repeated flags (already an array), or a comma-separated string (environment, file). */
const list = <T extends z.ZodType<string>>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',') : v), z.array(z.preprocess((s) => (typeof s === 'string' ? s.trim() : s), item)));

const address = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'must be host:port (port 0: any free port), e.g. 127.0.0.1:8090 or 0.0.0.0:8090');

/**
 * `kubemeta console` options (flags, KUBEMETA_* environment variables, or the `console` key of
 * a config file; see config/load.ts). Several clusters are followed at once with repeated
 * `--cluster` flags.
 */
export const consoleConfigSchema = z.object({
  /** NATS servers (comma-separated or repeated). */
  nats: list(z.string().regex(/^(nats|tls|wss?):\/\/\S+$/, 'must be a NATS URL such as nats://127.0.0.1:4222')).pipe(z.array(z.string()).min(1, 'needs at least one NATS URL')).default(['nats://127.0.0.1:4222']),
  /** Credentials and TLS for NATS, as `kubemeta serve` takes them (a cluster-client user: docs/security.md). */
  ...natsCredentialsShape,
  /** Cluster names, as each `kubemeta serve --cluster` publishes them. */
  cluster: list(z.string().refine(isValidClusterName, 'must be a cluster name (letters, digits, -, _, .)'))
    .pipe(z.array(z.string()).min(1, 'needs at least one cluster').refine((names) => new Set(names).size === names.length, 'lists a cluster twice'))
    .default(['default']),
  /** Where the API listens. */
  http: address.default('127.0.0.1:8090'),
  /** A file whose content (trimmed) is the bearer token the API requires; no auth without. */
  tokenFile: z.string().min(1).optional(),
  /** Origins whose scripts may call the API (CORS); none by default. */
  corsOrigins: list(z.string().regex(/^https?:\/\/[^/\s]+$/, 'must be an origin: scheme://host[:port]')).default([]),
  /** How long deleted entities stay findable, flagged. */
  retentionMs: z.coerce.number({ message: 'must be a number' }).int().min(0).max(7 * 24 * 3_600_000).default(3_600_000),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
}).superRefine(checkNatsCredentials);

export type ConsoleConfig = Readonly<z.output<typeof consoleConfigSchema>>;
export type ConsoleOptions = z.input<typeof consoleConfigSchema>;
