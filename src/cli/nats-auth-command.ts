import { access, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createOperatorSetup, renderOperatorNatsConfig, type OperatorSetup } from '../bus/index.ts';
import { KubemetaError } from '../core/index.ts';
import { clusterSubjects } from '../schema/index.ts';

/** The files `kubemeta nats-auth init` writes, by role. */
export interface NatsAuthFiles {
  /** nats-server configuration: operator JWT, system account, accounts preloaded (no secret). */
  readonly natsConf: string;
  /** The account's public key, for `kubemeta serve --issuer-account`. */
  readonly accountPublicKey: string;
  /** Seed of the account signing key: `kubemeta serve --issuer-signing-key-file` (a Secret). */
  readonly issuerSigningKey: string;
  /** `kubemeta serve --nats-creds-file`. */
  readonly serviceCreds: string;
  /** Query brokers, consoles, `kubemeta console/agents --nats-creds-file`. */
  readonly clusterClientCreds: string;
  /** Every node agent before it has credentials of its node (`bootstrapCredsFile`); may only ask the issuer. */
  readonly agentBootstrapCreds: string;
  /** Operator and account identity seeds: keep offline; needed only to re-sign the account (new signing key). */
  readonly operatorSeed: string;
  readonly accountSeed: string;
}

export class NatsAuthInitError extends KubemetaError {
  declare readonly code: 'CLI_NATS_AUTH_INIT';
  constructor(message: string, options?: ErrorOptions) {
    super('CLI_NATS_AUTH_INIT', message, options);
  }
}

/**
 * Generates NATS operator-mode (JWT) authentication for one kubemeta cluster into `dir`: the
 * operator, system and kubemeta accounts, the account signing key the service issues agent
 * credentials with, the long-lived users of the service, cluster clients and the agents'
 * bootstrap identity, and the nats-server configuration that trusts them. Refuses to overwrite
 * existing keys unless `force` (new keys invalidate every credential made with the old ones).
 */
export async function initNatsAuth(options: { dir: string; cluster: string; force?: boolean }): Promise<{ files: NatsAuthFiles; setup: OperatorSetup }> {
  clusterSubjects(options.cluster); // a bad cluster name fails before anything is written
  const dir = resolve(options.dir);
  const files: NatsAuthFiles = {
    natsConf: join(dir, 'nats.conf'),
    accountPublicKey: join(dir, 'account.pub'),
    issuerSigningKey: join(dir, 'issuer-signing-key.nk'),
    serviceCreds: join(dir, 'service.creds'),
    clusterClientCreds: join(dir, 'cluster-client.creds'),
    agentBootstrapCreds: join(dir, 'agent-bootstrap.creds'),
    operatorSeed: join(dir, 'operator.nk'),
    accountSeed: join(dir, 'account.nk'),
  };
  if (!options.force) {
    for (const f of Object.values(files)) {
      if (await exists(f)) throw new NatsAuthInitError(`${f} exists: kubemeta nats-auth init does not overwrite keys (every credential made with them would stop working); use another --out or --force`);
    }
  }
  const setup = await createOperatorSetup({ cluster: options.cluster });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const secret = (path: string, text: string) => writeFile(path, text.endsWith('\n') ? text : `${text}\n`, { mode: 0o600 });
  await writeFile(files.natsConf, renderOperatorNatsConfig(setup, natsConfHeader(options.cluster)));
  await writeFile(files.accountPublicKey, `${setup.account.publicKey}\n`);
  await secret(files.issuerSigningKey, setup.signingKey.seed);
  await secret(files.serviceCreds, setup.service.creds);
  await secret(files.clusterClientCreds, setup.clusterClient.creds);
  await secret(files.agentBootstrapCreds, setup.agentBootstrap.creds);
  await secret(files.operatorSeed, setup.operator.seed);
  await secret(files.accountSeed, setup.account.seed);
  return { files, setup };
}

function natsConfHeader(cluster: string): string[] {
  return [
    `kubemeta NATS authentication in operator (JWT) mode for cluster "${cluster}", from kubemeta nats-auth init.`,
    'nats-server 2.9+: nats-server -c nats.conf (add listen/port and a tls block for production).',
    'Holds JWTs only (public); the seeds are in the .nk and .creds files next to it.',
    'Node agents need no entry here: kubemeta serve issues each a short-lived user of its node',
    '(docs/security.md, "Issued agent credentials"); nodes come and go with no change and no reload.',
  ];
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** `kubemeta nats-auth init`: writes the files and says what goes where. */
export async function runNatsAuthInit(options: { out: string; cluster: string; force?: boolean }, out: NodeJS.WritableStream): Promise<number> {
  const { files, setup } = await initNatsAuth({ dir: options.out, cluster: options.cluster, ...(options.force ? { force: true } : {}) });
  out.write(
    [
      `NATS operator-mode authentication for cluster ${options.cluster} written to ${resolve(options.out)}:`,
      `  nats.conf                nats-server -c ${files.natsConf}`,
      `  service.creds            kubemeta serve --nats-creds-file ${files.serviceCreds}`,
      `  issuer-signing-key.nk    kubemeta serve --issuer-signing-key-file ${files.issuerSigningKey} --issuer-account ${setup.account.publicKey}`,
      `  agent-bootstrap.creds    node agents: bootstrapCredsFile (with serviceAccountTokenFile)`,
      `  cluster-client.creds     query brokers and consoles: --nats-creds-file`,
      `  operator.nk, account.nk  keep offline (re-signing the account only)`,
      '',
    ].join('\n'),
  );
  return 0;
}
