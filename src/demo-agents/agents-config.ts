import { z } from 'zod';
import { isValidClusterName } from '../schema/index.ts';

/** A list from repeated flags (already an array), or a comma-separated string (environment, file). */
const list = <T extends z.ZodType<string>>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',') : v), z.array(z.preprocess((s) => (typeof s === 'string' ? s.trim() : s), item)));

const count = (min: number, max: number) => z.coerce.number({ message: 'must be a number' }).int('must be an integer').min(min).max(max);

/**
 * `kubemeta agents` options (flags, KUBEMETA_* environment variables, or the `agents` key of a
 * config file): simulated node agents with synthetic telemetry (docs/agents.md).
 */
export const agentsConfigSchema = z.object({
  /** NATS servers (comma-separated or repeated). */
  nats: list(z.string().regex(/^(nats|tls|wss?):\/\/\S+$/, 'must be a NATS URL such as nats://127.0.0.1:4222')).pipe(z.array(z.string()).min(1, 'needs at least one NATS URL')).default(['nats://127.0.0.1:4222']),
  /** The cluster name, as `kubemeta serve --cluster` publishes it. */
  cluster: z.string().refine(isValidClusterName, 'must be a cluster name (letters, digits, -, _, .)').default('default'),
  /** `all` (follow nodes joining and leaving) or how many nodes (the first N by name). */
  nodes: z
    .union([z.literal('all'), count(1, 100_000)], { message: "must be 'all' or a positive integer" })
    .default('all'),
  /** Rows recorded per second per agent. */
  rate: z.coerce.number({ message: 'must be a number' }).min(0).max(1_000_000).default(20),
  /** Seed of the synthetic processes and rows. */
  seed: count(0, 0xffffffff).default(1),
  /** Rows each agent keeps. */
  ringCapacity: count(1, 10_000_000).default(20_000),
  /** Agents per shared NATS connection; 1: one connection per agent (needed with --require-scoped-inboxes). */
  agentsPerConnection: count(1, 10_000).default(50),
  /** How often the summary line is printed. */
  summaryIntervalMs: count(100, 3_600_000).default(5_000),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
});

export type AgentsConfig = Readonly<z.output<typeof agentsConfigSchema>>;
export type AgentsOptions = z.input<typeof agentsConfigSchema>;
