import { z } from 'zod';
import { ConsoleError, ConsoleErrorCode } from '../errors.ts';

/**
 * The API's query parameters, checked with zod. Every parameter is a single value (a repeated
 * one is refused, except `cluster`, which may repeat or be comma-separated), unknown parameters
 * are refused (a typo such as `limt` must not be silently ignored), and every problem comes back
 * as a 400 naming the parameter.
 */

const single = (what: string) =>
  z.string({ message: `${what} must be given once, as text` }).max(512, `${what} must be at most 512 characters`);

const listOf = (what: string) =>
  z
    .union([z.string(), z.array(z.string())], { message: `${what} must be text` })
    .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== ''));

const count = (what: string, max: number, fallback: number) =>
  z.coerce
    .number({ message: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(1, `${what} must be between 1 and ${max}`)
    .max(max, `${what} must be between 1 and ${max}`)
    .default(fallback);

const flag = (what: string) =>
  z.enum(['true', 'false'], { message: `${what} must be true or false` }).transform((v) => v === 'true').default(false);

export function autocompleteParams(maxLimit: number) {
  return z
    .object({
      q: single('q').refine((v) => !/[\u0000-\u001f]/.test(v), 'q must not contain control characters'),
      kind: single('kind').optional(),
      cluster: listOf('cluster').optional(),
      limit: count('limit', maxLimit, Math.min(10, maxLimit)),
    })
    .strict();
}

export function entityListParams(maxPage: number) {
  return z
    .object({
      cluster: listOf('cluster').optional(),
      namespace: single('namespace').regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'namespace must be a namespace name (lowercase letters, digits, -)').optional(),
      limit: count('limit', maxPage, Math.min(100, maxPage)),
      after: single('after').optional(),
      includeDeleted: flag('includeDeleted'),
    })
    .strict();
}

/** `?cluster=` of a page about one cluster (entity, cluster page): optional when the console follows one. */
export const oneClusterParams = z
  .object({
    cluster: z.string({ message: 'cluster must be given once, as text' }).max(253, 'cluster must be at most 253 characters').optional(),
  })
  .strict();

/**
 * The followed cluster a page asks for (`requested`, or the only one followed), with its name;
 * ConsoleError BAD_REQUEST when several are followed and none is named, UNKNOWN_CLUSTER for one
 * that is not followed.
 */
export function followedCluster<T>(clusters: ReadonlyMap<string, T>, requested: string | undefined): { name: string; followed: T } {
  const names = [...clusters.keys()];
  if (requested === undefined && names.length !== 1) throw new ConsoleError(ConsoleErrorCode.BAD_REQUEST, `cluster is required: this console follows ${names.join(', ')}`);
  const name = requested ?? (names[0] as string);
  const followed = clusters.get(name);
  if (followed === undefined) throw new ConsoleError(ConsoleErrorCode.UNKNOWN_CLUSTER, `unknown cluster "${name}"; this console follows ${names.join(', ')}`);
  return { name, followed };
}

/** Parses `input` with `schema`, or throws ConsoleError BAD_REQUEST with every problem named. */
export function parseParams<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const given = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const result = schema.safeParse(given);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `unknown parameter ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    const key = issue.path[0];
    if (typeof key === 'string' && given[key] === undefined) return `${key} is required`;
    return issue.message;
  });
  throw new ConsoleError(ConsoleErrorCode.BAD_REQUEST, problems.join('; '));
}
