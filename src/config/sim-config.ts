import { z } from 'zod';

const port = z.coerce.number({ message: 'must be a number' }).int().min(0, 'must be 0 (any free port) to 65535').max(65535, 'must be 0 (any free port) to 65535');
/** true/false from a flag, or the strings an environment variable or file may hold. */
const BOOLEAN_WORDS = ['true', 'false', '1', '0', 'yes', 'no'];
export const booleanOption = z
  .custom<boolean | string>((v) => typeof v === 'boolean' || BOOLEAN_WORDS.includes(String(v)), { message: 'must be true or false' })
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const count = (max: number) => z.coerce.number({ message: 'must be a number' }).int().min(0).max(max, `must be at most ${max}`);

/**
 * `kubemeta sim` options. The defaults make a small cluster that starts in well under a
 * second; `--nodes 5000 --pods-per-node 30` is Kubernetes' published scalability limit.
 */
export const simConfigSchema = z.object({
  host: z.string().default('127.0.0.1'),
  port: port.default(0),
  tls: booleanOption.default(false),
  seed: z.coerce.number().int().min(0).max(0xffffffff).default(1),
  nodes: count(20_000).min(1).default(10),
  /** Application namespaces (besides default, kube-system, kube-public, kube-node-lease). */
  namespaces: count(10_000).min(1).default(3),
  /** Application Deployments; default: one per 25 application pods. */
  deployments: count(1_000_000).min(1).optional(),
  podsPerNode: count(110).min(1).default(10),
  /** Fraction of Deployments with a Service. */
  serviceFraction: z.coerce.number().min(0).max(1).default(0.7),
  daemonsets: booleanOption.default(true),
  statefulsets: count(1_000).default(1),
  cronjobs: count(1_000).default(1),
  /** Nodes show spec.podCIDRs (false: left empty, as some CNIs do; the sim's IPAM still gives each node a /24). */
  podCidrs: booleanOption.default(true),
  /** Churn actions per second after startup; 0 = a still cluster. */
  churnRate: z.coerce.number().min(0).max(1_000_000).default(0),
  bookmarkIntervalMs: z.coerce.number().int().min(50).max(3_600_000).default(5_000),
  historyPerKind: count(10_000_000).min(1).default(20_000),
  kubeconfigOut: z.string().optional(),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
});

export type SimConfig = Readonly<z.output<typeof simConfigSchema>>;
export type SimOptions = z.input<typeof simConfigSchema>;
