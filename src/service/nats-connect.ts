import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import type { ServeConfig } from '../config/index.ts';
import { KubemetaError } from '../core/index.ts';

export class NatsConfigError extends KubemetaError {
  constructor(message: string, options?: ErrorOptions) {
    super('SERVICE_NATS_CONFIG', message, options);
  }
}

/** Connection options from the serve config: servers, credentials, TLS; reconnect forever. */
export function natsOptions(config: ServeConfig, name: string): ConnectionOptions {
  const options: ConnectionOptions = {
    servers: [...config.natsUrls],
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    pingInterval: 10_000,
  };
  if (config.natsUser !== undefined) {
    options.user = config.natsUser;
    options.pass = config.natsPassword ?? '';
  }
  if (config.natsToken !== undefined) options.token = config.natsToken;
  if (config.natsNkeySeedFile !== undefined) options.authenticator = nkeyAuthenticator(readCredential(config.natsNkeySeedFile, 'nats-nkey-seed-file'));
  if (config.natsCredsFile !== undefined) options.authenticator = credsAuthenticator(readCredential(config.natsCredsFile, 'nats-creds-file'));
  if (config.natsTlsCa !== undefined || config.natsTlsCert !== undefined) {
    options.tls = {
      ...(config.natsTlsCa !== undefined ? { caFile: config.natsTlsCa } : {}),
      ...(config.natsTlsCert !== undefined ? { certFile: config.natsTlsCert, keyFile: config.natsTlsKey } : {}),
    };
  }
  return options;
}

function readCredential(path: string, option: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new NatsConfigError(`--${option}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export async function connectNats(config: ServeConfig, name: string, signal?: AbortSignal): Promise<NatsConnection> {
  const pending = connect(natsOptions(config, name));
  if (!signal) return pending;
  return await new Promise<NatsConnection>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason);
      void pending.then((nc) => nc.close()).catch(() => undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
