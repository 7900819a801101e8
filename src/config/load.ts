import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from './errors.ts';

/**
 * Where option values come from, lowest precedence first: defaults (in the schema) < config
 * file < environment (KUBEMETA_<OPTION_IN_SCREAMING_SNAKE>) < command-line flags. Every
 * source is keyed by the schema's camelCase option names.
 */
export interface ConfigSources {
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** A YAML or JSON file whose top level holds options (for `serve`: under the key given). */
  file?: string;
  /** Take only this key of the file (e.g. 'serve', 'sim'); the whole file when absent. */
  fileSection?: string;
}

/** KUBEMETA_NATS_URLS for natsUrls. */
export function envName(option: string): string {
  return `KUBEMETA_${option.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/**
 * Validates options with `schema` (zod), applying its defaults, and returns a deep-frozen
 * config. Throws ConfigError listing every problem with the option's name as the user
 * wrote it. Inner modules get this object and never read process.env themselves.
 */
export function loadConfig<S extends z.ZodType<object, object>>(schema: S, sources: ConfigSources): Readonly<z.output<S>> {
  const keys = Object.keys(shapeOf(schema));
  const fromFile = sources.file ? readConfigFile(sources.file, sources.fileSection) : {};
  const fromEnv = envValues(keys, sources.env ?? {});
  const fromFlags = Object.fromEntries(Object.entries(sources.flags ?? {}).filter(([k, v]) => keys.includes(k) && v !== undefined));
  const origin = (key: string): string =>
    key in fromFlags ? `--${kebab(key)}` : key in fromEnv ? envName(key) : key in fromFile ? `${sources.file}: ${key}` : kebab(key);
  const unknown = Object.keys(fromFile).filter((k) => !keys.includes(k));
  const problems: ConfigProblem[] = unknown.map((k) => ({ option: `${sources.file}: ${k}`, problem: `unknown option (known: ${keys.join(', ')})` }));
  const result = schema.safeParse({ ...fromFile, ...fromEnv, ...fromFlags });
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = String(issue.path[0] ?? '');
      const rest = issue.path.slice(1).join('.');
      problems.push({ option: key ? origin(key) + (rest ? `.${rest}` : '') : '(config)', problem: issue.message });
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return deepFreeze(result.data);
}

function readConfigFile(path: string, section: string | undefined): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ option: '--config', problem: `cannot read ${path}: ${(err as Error).message}` }], { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError([{ option: '--config', problem: `${path} is not valid YAML/JSON: ${(err as Error).message}` }], { cause: err });
  }
  const body = section && isRecord(parsed) && section in parsed ? parsed[section] : parsed;
  if (body === null || body === undefined) return {};
  if (!isRecord(body)) throw new ConfigError([{ option: '--config', problem: `${path} must hold a mapping of options` }]);
  return body;
}

function envValues(keys: string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of keys) {
    const value = env[envName(key)];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

function kebab(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Freezes an object graph so a config cannot be changed after validation. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** The option names of an object schema, also when it is wrapped (superRefine, pipe). */
function shapeOf(schema: z.ZodType): Record<string, unknown> {
  const def = (schema as unknown as { def?: { shape?: Record<string, unknown>; in?: z.ZodType; schema?: z.ZodType } }).def;
  if (def?.shape) return def.shape;
  if (def?.in) return shapeOf(def.in);
  if (def?.schema) return shapeOf(def.schema);
  return (schema as unknown as { shape?: Record<string, unknown> }).shape ?? {};
}
