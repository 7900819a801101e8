import { readFileSync } from 'node:fs';
import { AuthorizationError, connect, credsAuthenticator, nkeyAuthenticator, nkeys, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import type { ServeConfig } from '../config/index.ts';
import { Backoff, KubemetaError, abortable, sleep, toError } from '../core/index.ts';

export class NatsConfigError extends KubemetaError {
  constructor(message: string, options?: ErrorOptions) {
    super('SERVICE_NATS_CONFIG', message, options);
  }
}

/**
 * The NATS credential and TLS options every kubemeta command that connects to NATS takes
 * (`serve`, `console`, `agents`: `--nats-user` … `--nats-tls-key`, config/nats-credentials.ts).
 */
export type NatsCredentialConfig = Pick<ServeConfig, 'natsUser' | 'natsPassword' | 'natsToken' | 'natsNkeySeedFile' | 'natsCredsFile' | 'natsTlsCa' | 'natsTlsCert' | 'natsTlsKey'>;

/** Connection options from the serve config: servers, credentials, TLS; reconnect forever. */
export function natsOptions(config: ServeConfig, name: string): ConnectionOptions {
  return {
    servers: [...config.natsUrls],
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    pingInterval: 10_000,
    ...natsCredentialOptions(config),
  };
}

/**
 * nats.js options for the credentials and TLS files configured; the files are read now, so an
 * unreadable file or a file that holds no seed is a NatsConfigError naming the option.
 */
export function natsCredentialOptions(config: NatsCredentialConfig): Partial<ConnectionOptions> {
  const options: Partial<ConnectionOptions> = {};
  if (config.natsUser !== undefined) {
    options.user = config.natsUser;
    options.pass = config.natsPassword ?? '';
  }
  if (config.natsToken !== undefined) options.token = config.natsToken;
  if (config.natsNkeySeedFile !== undefined) options.authenticator = nkeyAuthenticator(readSeed(config.natsNkeySeedFile));
  if (config.natsCredsFile !== undefined) options.authenticator = credsAuthenticator(readCredential(config.natsCredsFile, 'nats-creds-file'));
  if (config.natsTlsCa !== undefined || config.natsTlsCert !== undefined) {
    options.tls = {
      ...(config.natsTlsCa !== undefined ? { caFile: config.natsTlsCa } : {}),
      ...(config.natsTlsCert !== undefined ? { certFile: config.natsTlsCert, keyFile: config.natsTlsKey } : {}),
    };
  }
  return options;
}

/** A NATS URL fit for logs: credentials in it (`nats://user:pass@host`) become `***`. */
export function redactNatsUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^@/]*@/, '$1***@');
}

function readCredential(path: string, option: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new NatsConfigError(`--${option}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function readSeed(path: string): Uint8Array {
  const seed = new TextEncoder().encode(new TextDecoder().decode(readCredential(path, 'nats-nkey-seed-file')).trim());
  try {
    nkeys.fromSeed(seed);
  } catch (err) {
    throw new NatsConfigError(`--nats-nkey-seed-file: ${path} does not hold an NKey seed (SU…): ${(err as Error).message}`, { cause: err });
  }
  return seed;
}

/** TLS failures a retry cannot repair: the certificates do not match the configuration. */
const TLS_ERROR = /CERT|UNABLE_TO_VERIFY|SELF_SIGNED|DEPTH_ZERO|ERR_TLS|ERR_SSL|HOSTNAME|IP_MISMATCH/;

/**
 * What is wrong when a connection failure is a configuration problem (retrying cannot help).
 * `urlsOption` is the flag that names the servers (`--nats-urls` for serve, `--nats` for the
 * console and the agents).
 */
function configurationProblem(err: unknown, urlsOption: string): string | undefined {
  const e = toError(err) as Error & { code?: unknown };
  if (err instanceof AuthorizationError || /authorization violation|authentication/i.test(e.message)) {
    return `NATS refused the credentials (${e.message}): check --nats-user/--nats-password, --nats-token, --nats-nkey-seed-file or --nats-creds-file against the NATS server's configuration`;
  }
  if (typeof e.code === 'string' && TLS_ERROR.test(e.code)) {
    return `TLS to NATS failed (${e.message}): --nats-tls-ca must name the CA that signed the server's certificate, and the certificate must be valid for the host in ${urlsOption}`;
  }
  if (/does not support 'tls'|doesn't exist/.test(e.message)) return `NATS TLS options cannot be used (${e.message}): check ${urlsOption} and the --nats-tls-* files`;
  return undefined;
}

/**
 * Connects to NATS (then nats.js reconnects forever). Until the first connection, servers that
 * cannot be reached are retried with backoff (`onRetry` says why); a refusal that retrying
 * cannot fix (credentials, TLS certificates, unreadable credential files) is thrown at once as
 * NatsConfigError (SERVICE_NATS_CONFIG) saying what to check.
 */
export async function connectNats(
  config: ServeConfig,
  name: string,
  signal?: AbortSignal,
  onRetry?: (err: Error, delayMs: number) => void,
): Promise<NatsConnection> {
  return connectNatsWith(natsOptions(config, name), { ...(signal ? { signal } : {}), ...(onRetry ? { onRetry } : {}) });
}

/**
 * connectNats with nats.js options of the caller's (`kubemeta console` and `kubemeta agents`
 * build them from their own flags with natsCredentialOptions). The first connection is retried
 * here, one attempt at a time, rather than by nats.js (`waitOnFirstConnect`): nats.js's own
 * retry loop cannot be cancelled, so a Ctrl-C while NATS is unreachable left its timers and
 * sockets running and the process alive.
 */
export async function connectNatsWith(
  connectionOptions: ConnectionOptions,
  options: { signal?: AbortSignal; onRetry?: (err: Error, delayMs: number) => void; urlsOption?: string } = {},
): Promise<NatsConnection> {
  const { signal, onRetry } = options;
  const attempt: ConnectionOptions = { ...connectionOptions, waitOnFirstConnect: false };
  const backoff = new Backoff({ initialMs: 250, maxMs: 5_000, jitter: 0.2 });
  for (;;) {
    signal?.throwIfAborted();
    try {
      return await connectOnce(attempt, signal);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const problem = configurationProblem(err, options.urlsOption ?? '--nats-urls');
      if (problem) throw new NatsConfigError(problem, { cause: err });
      const delayMs = backoff.next();
      onRetry?.(toError(err), delayMs);
      await sleep(delayMs, signal);
    }
  }
}

function connectOnce(options: ConnectionOptions, signal?: AbortSignal): Promise<NatsConnection> {
  return abortable(connect(options), signal, (nc) => nc.close());
}
