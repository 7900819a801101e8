// NATS security for tests and for the shipped example (deploy/nats/kubemeta-nats.conf): the
// nats-server configuration with one account for kubemeta and per-role / per-node
// permissions, nkeys, a throwaway TLS CA, and a nats-server started with such a config.
// docs/security.md explains the permissions.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { nkeys } from '@nats-io/transport-node';
import { kubemetaPermissions } from '../schema/index.ts';

export { kubemetaPermissions };
import { startNatsServer, type NatsServer, type NatsServerOptions } from './nats-server.ts';
import { makeTempDir } from './processes.ts';

/**
 * How a user logs in: a public nkey (`U…`; the seed stays with the client, so the config holds
 * no secret), or a user name with a password. `password` may be a nats-server variable
 * reference such as `$KUBEMETA_SERVICE_PASSWORD` (read from the server's environment) or a
 * bcrypt hash (`nats-server --help` → `bcrypt`); a plain text password is for tests.
 */
export type NatsCredential = { readonly nkey: string } | { readonly user: string; readonly password: string };

export interface KubemetaNatsConfig {
  /** The `--cluster` of the service. */
  readonly cluster: string;
  /** The NATS account holding every kubemeta user (default `KUBEMETA`). */
  readonly account?: string;
  readonly service: NatsCredential;
  /**
   * One user per node: it may read only `kubemeta.<cluster>.node.<node>`, its telemetry query
   * subject `kubemeta.<cluster>.query.node.<node>` and its own inboxes.
   */
  readonly agents: ReadonlyArray<NatsCredential & { readonly node: string }>;
  /** Users that read the cluster scope and send telemetry queries to agents (query brokers, UIs). */
  readonly clusterClients?: readonly NatsCredential[];
  /**
   * Acks a consumer may publish to the reply subject of one replay response (`allow_responses`
   * max, default 16: at least the service's unacknowledged responses per answer, 4) and for
   * how long after the response arrived (default `2m`, well above the service's 10 s ack timeout).
   */
  readonly ackResponses?: { readonly max: number; readonly expires: string };
  /** TLS for client connections (paths as the server sees them). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile?: string; readonly verify?: boolean };
  /** Comment lines written at the top. */
  readonly header?: readonly string[];
}

/** Renders a nats-server configuration (nats-server 2.9+, plain config file, no JWT). */
export function renderKubemetaNatsConfig(config: KubemetaNatsConfig): string {
  const perms = kubemetaPermissions(config.cluster);
  const acks = config.ackResponses ?? { max: 16, expires: '2m' };
  const list = (subjects: readonly string[]): string => `[${subjects.map((x) => JSON.stringify(x)).join(', ')}]`;
  const login = (c: NatsCredential): string => ('nkey' in c ? `nkey: ${JSON.stringify(c.nkey)}` : `user: ${JSON.stringify(c.user)}, password: ${quoteSecret(c.password)}`);
  const lines: string[] = [...(config.header ?? []).map((h) => (h === '' ? '#' : `# ${h}`))];
  if (lines.length > 0) lines.push('');
  lines.push(
    '# Shared permission blocks (nats-server config variables).',
    `SERVICE_PERMISSIONS: { publish: { allow: ${list(perms.service.publish)} }, subscribe: { allow: ${list(perms.service.subscribe)} } }`,
    `CONSUMER_ACKS: { max: ${acks.max}, expires: ${JSON.stringify(acks.expires)} }`,
    `CLUSTER_CLIENT_PERMISSIONS: { publish: { allow: ${list(perms.clusterClient.publish)} }, subscribe: { allow: ${list(perms.clusterClient.subscribe)} }, allow_responses: $CONSUMER_ACKS }`,
    '',
  );
  if (config.tls) {
    const t = config.tls;
    lines.push('tls {', `  cert_file: ${JSON.stringify(t.certFile)}`, `  key_file: ${JSON.stringify(t.keyFile)}`);
    if (t.caFile !== undefined) lines.push(`  ca_file: ${JSON.stringify(t.caFile)}`);
    if (t.verify !== undefined) lines.push(`  verify: ${t.verify}`);
    lines.push('}', '');
  }
  lines.push('accounts {', `  ${config.account ?? 'KUBEMETA'}: {`, '    users: [');
  lines.push('      # the kubemeta service', `      { ${login(config.service)}, permissions: $SERVICE_PERMISSIONS }`);
  if ((config.clusterClients ?? []).length > 0) lines.push('      # cluster clients');
  for (const c of config.clusterClients ?? []) lines.push(`      { ${login(c)}, permissions: $CLUSTER_CLIENT_PERMISSIONS }`);
  if (config.agents.length > 0) lines.push('      # node agents: one user per node');
  for (const a of config.agents) {
    const p = perms.agent(a.node);
    // Publish is per node too: an agent reports processes on its own node's subject only.
    lines.push(`      { ${login(a)}, permissions: { publish: { allow: ${list(p.publish)} }, subscribe: { allow: ${list(p.subscribe)} }, allow_responses: $CONSUMER_ACKS } }`);
  }
  lines.push('    ]', '  }', '}', '');
  return lines.join('\n');
}

function quoteSecret(password: string): string {
  // `$NAME` is a variable reference (resolved from the environment), left unquoted.
  return /^\$[A-Za-z_][A-Za-z0-9_]*$/.test(password) ? password : JSON.stringify(password);
}

/** A new user nkey pair: give `publicKey` to the server config, `seed` to the client. */
export function createNkeyUser(): { readonly publicKey: string; readonly seed: Uint8Array } {
  const kp = nkeys.createUser();
  return { publicKey: kp.getPublicKey(), seed: kp.getSeed() };
}

/** The example behind deploy/nats/kubemeta-nats.conf (its public keys have no known seeds). */
export const KUBEMETA_NATS_EXAMPLE: KubemetaNatsConfig = {
  cluster: 'prod',
  header: [
    'kubemeta on a NATS server of its own account, with per-node permissions (nats-server 2.9+).',
    'Generated by renderKubemetaNatsConfig (src/testing/nats-auth.ts) for cluster "prod" and two',
    'nodes; test/integration/nats-permissions.test.ts checks that this file is what it renders and',
    'proves the isolation with the same rendering for its own cluster. docs/security.md explains it.',
    '',
    'Every user logs in with an nkey: the file holds public keys only, each client its own seed',
    '(kubemeta serve --nats-nkey-seed-file; the SDK: natsOptions.authenticator = nkeyAuthenticator(seed)).',
    'Replace the example keys (`nk -gen user -pubout`, or createNkeyUser()), and add one agent user',
    'per node (and reload nats-server as nodes come and go). This is the static alternative: the',
    'recommended setup needs no per-node entry (operator mode from `kubemeta nats-auth init`, agents',
    'get short-lived users of their node from kubemeta serve\'s credential issuer; docs/security.md).',
    'Subjects: the cluster and node names are escaped into one token each (wire-protocol §1).',
    'Run kubemeta serve with --require-scoped-inboxes, so that an agent can replay and register',
    'only its own node. Telemetry queries (docs/agents.md): cluster clients publish them to',
    'kubemeta.prod.query.node.<node>; each agent reads only its own and answers through allow_responses.',
    'Process reports (wire-protocol §12): each agent publishes only on kubemeta.prod.processes.node.<its node>.',
  ],
  service: { nkey: 'UB2PQQ6TU7DHHRVAZTO6GOIOSAKKZ56YAMIIYZK75XGF3CZZAZ4JHTK2' },
  clusterClients: [{ nkey: 'UCINM7LRJPZDVX3BFCMZD2SSHY2QXJPZXY22L6E5BV66IYYWXRHOABRX' }],
  agents: [
    { node: 'ip-10-0-1-17.ec2.internal', nkey: 'UA7EARGXSP4R2SMNJYKDDHLKWIGN5N2NRR3NOFSE4ZJSRWFLSEZWYXML' },
    { node: 'ip-10-0-2-33.ec2.internal', nkey: 'UBLMSAYQRUKXYRE2HK4GWJO2NOD6TSAHT4QE5D64KRYRVRJLBYMLHCFW' },
  ],
};

/** TLS material in PEM files: a CA, a server certificate for 127.0.0.1/localhost, a client certificate. */
export interface NatsTlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** A second CA that signed nothing here: trusting it instead of caFile must fail. */
  readonly otherCaFile: string;
}

/** Writes a throwaway CA, a server and a client certificate (both signed by it) into `dir`. */
export async function generateNatsTls(dir: string): Promise<NatsTlsFiles> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + 2 * 86_400_000);
  const base = { algorithm: 'sha256', keySize: 2048, notBeforeDate, notAfterDate };
  const caOf = (cn: string) =>
    generate([{ name: 'commonName', value: cn }], {
      ...base,
      extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }],
    });
  const ca = await caOf('kubemeta-test-nats-ca');
  const other = await caOf('kubemeta-test-other-ca');
  const leaf = (cn: string, usage: { serverAuth?: boolean; clientAuth?: boolean }) =>
    generate([{ name: 'commonName', value: cn }], {
      ...base,
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', ...usage },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
      ],
    });
  const server = await leaf('nats', { serverAuth: true });
  const client = await leaf('kubemeta', { clientAuth: true });
  const files = {
    caFile: join(dir, 'ca.pem'),
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server-key.pem'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client-key.pem'),
    otherCaFile: join(dir, 'other-ca.pem'),
  };
  await writeFile(files.caFile, ca.cert);
  await writeFile(files.certFile, server.cert);
  await writeFile(files.keyFile, server.private, { mode: 0o600 });
  await writeFile(files.clientCertFile, client.cert);
  await writeFile(files.clientKeyFile, client.private, { mode: 0o600 });
  await writeFile(files.otherCaFile, other.cert);
  return files;
}

export interface ConfiguredNatsServer extends NatsServer {
  /** The configuration file the server runs with. */
  readonly configFile: string;
  /** The temporary directory holding it (and whatever the caller wrote there); removed by stop(). */
  readonly dir: string;
}

/**
 * Starts a nats-server (127.0.0.1, a free port, monitoring on) with `config`: the text of a
 * configuration file, or a function of the temporary directory that writes what it needs there
 * (TLS files, seeds) and returns the text.
 */
export async function startConfiguredNatsServer(
  config: string | ((dir: string) => string | Promise<string>),
  options: Omit<NatsServerOptions, 'port'> = {},
): Promise<ConfiguredNatsServer> {
  const tmp = await makeTempDir('nats-conf');
  try {
    const text = typeof config === 'string' ? config : await config(tmp.path);
    const configFile = join(tmp.path, 'nats.conf');
    await writeFile(configFile, text);
    const server = await startNatsServer({ ...options, args: ['-c', configFile, ...(options.args ?? [])] });
    return {
      get url() {
        return server.url;
      },
      get port() {
        return server.port;
      },
      get monitorUrl() {
        return server.monitorUrl;
      },
      configFile,
      dir: tmp.path,
      async stop() {
        await server.stop();
        await tmp.remove();
      },
      kill: () => server.kill(),
      start: () => server.start(),
      output: () => server.output(),
    };
  } catch (err) {
    await tmp.remove();
    throw err;
  }
}
