// NATS operator (JWT) mode for kubemeta: the operator, account and signing keys, the user JWTs
// of each role, and the nats-server configuration that trusts them. Keys and JWTs are made by
// @nats-io/nkeys and @nats-io/jwt (no signing here). Permissions come from kubemetaPermissions,
// the same definition as the static per-node file's, so an issued agent credential grants
// exactly what a node's user there grants.
import { createAccount, createOperator, createUser, encodeAccount, encodeOperator, encodeUser, fmtCreds, fromPublic, fromSeed, type KeyPair } from '@nats-io/jwt';
import { fastSigningKey } from './fast-signer.ts';
import { CONSUMER_RESPONSES, kubemetaPermissions, type SubjectPermissions } from '../schema/index.ts';

/** A role's user: its JWT and the seed of its nkey, as nats.js and nats-server read them (`.creds`). */
export interface UserCreds {
  readonly jwt: string;
  readonly seed: string;
  /** The `.creds` file text (JWT and seed between the usual markers). */
  readonly creds: string;
}

/** Everything `kubemeta nats-auth init` generates for one cluster. */
export interface OperatorSetup {
  readonly cluster: string;
  /** Operator identity: signs the account JWTs. Keep its seed offline. */
  readonly operator: { readonly publicKey: string; readonly seed: string; readonly jwt: string };
  /** The system account nats-server needs for its own traffic (no kubemeta user is in it). */
  readonly system: { readonly publicKey: string; readonly jwt: string };
  /** The account every kubemeta user is in; its identity seed is needed only to re-sign its JWT. */
  readonly account: { readonly publicKey: string; readonly seed: string; readonly jwt: string; readonly name: string };
  /** The account signing key the service issues agent credentials with (`--issuer-signing-key-file`). */
  readonly signingKey: { readonly publicKey: string; readonly seed: string };
  readonly service: UserCreds;
  readonly clusterClient: UserCreds;
  /** What every agent logs in with before it has credentials of its node: it may only ask the issuer. */
  readonly agentBootstrap: UserCreds;
}

/** Responses a consumer may publish per received message (nats JWT `resp`; ttl in nanoseconds, as Go's time.Duration). */
const RESPONSES = { max: CONSUMER_RESPONSES.max, ttl: CONSUMER_RESPONSES.expiresMs * 1_000_000 };
/** Unlimited connections, subscriptions, data and payload for the kubemeta account (nats-server enforces none then). */
const UNLIMITED = { conn: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, leaf: -1 };

const text = new TextDecoder();

/** Generates operator, accounts, signing key and the users of the fixed roles for `cluster`. */
export async function createOperatorSetup(options: { cluster: string; operatorName?: string; accountName?: string }): Promise<OperatorSetup> {
  const perms = kubemetaPermissions(options.cluster);
  const okp = createOperator();
  const sys = createAccount();
  const akp = createAccount();
  const skp = createAccount();
  const accountName = options.accountName ?? 'KUBEMETA';
  const operatorJwt = await encodeOperator(options.operatorName ?? 'kubemeta', okp, { system_account: sys.getPublicKey() });
  const systemJwt = await encodeAccount('SYS', sys, {}, { signer: okp });
  const accountJwt = await encodeAccount(accountName, akp, { signing_keys: [skp.getPublicKey()], limits: UNLIMITED }, { signer: okp });
  const account = akp.getPublicKey();
  // Long-lived users (no expiry): the service, cluster clients and the bootstrap identity come
  // from Secrets, like the static file's seeds. Only agent credentials are short-lived.
  const user = (name: string, permissions: SubjectPermissions, responses: boolean): Promise<UserCreds> =>
    newUser(name, skp, account, permissions, responses, undefined);
  return {
    cluster: options.cluster,
    operator: { publicKey: okp.getPublicKey(), seed: text.decode(okp.getSeed()), jwt: operatorJwt },
    system: { publicKey: sys.getPublicKey(), jwt: systemJwt },
    account: { publicKey: account, seed: text.decode(akp.getSeed()), jwt: accountJwt, name: accountName },
    signingKey: { publicKey: skp.getPublicKey(), seed: text.decode(skp.getSeed()) },
    service: await user('kubemeta-serve', perms.service, false),
    clusterClient: await user('kubemeta-cluster-client', perms.clusterClient, true),
    agentBootstrap: await user('kubemeta-agent-bootstrap', perms.bootstrap, false),
  };
}

async function newUser(
  name: string,
  signer: KeyPair,
  account: string,
  permissions: SubjectPermissions,
  responses: boolean,
  expiresAtSec: number | undefined,
): Promise<UserCreds> {
  const ukp = createUser();
  const jwt = await encodeUser(name, ukp, signer, userClaims(account, permissions, responses), expiresAtSec === undefined ? {} : { exp: expiresAtSec });
  return { jwt, seed: text.decode(ukp.getSeed()), creds: text.decode(fmtCreds(jwt, ukp)) };
}

function userClaims(account: string, permissions: SubjectPermissions, responses: boolean) {
  return {
    issuer_account: account,
    pub: { allow: [...permissions.publish] },
    sub: { allow: [...permissions.subscribe] },
    ...(responses ? { resp: RESPONSES } : {}),
  };
}

/**
 * The nats-server configuration (2.9+) trusting this operator, with the accounts preloaded
 * (`resolver: MEMORY`): no account server, and agents come and go with no change here. It holds
 * JWTs only (public), no seed. Listen address, port and TLS are the deployment's.
 */
export function renderOperatorNatsConfig(setup: OperatorSetup, header: readonly string[] = []): string {
  const lines = header.map((h) => (h === '' ? '#' : `# ${h}`));
  if (lines.length > 0) lines.push('');
  lines.push(
    `operator: ${setup.operator.jwt}`,
    `system_account: ${setup.system.publicKey}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    `  # ${setup.account.name}: every kubemeta user; agents get short-lived users of it from the service's issuer`,
    `  ${setup.account.publicKey}: ${setup.account.jwt}`,
    '  # SYS: nats-server\'s own account',
    `  ${setup.system.publicKey}: ${setup.system.jwt}`,
    '}',
    '',
  );
  return lines.join('\n');
}

/** Signs the user JWTs of node agents with the account signing key the service holds. */
export class AgentCredentialSigner {
  readonly #signer: KeyPair;
  readonly #account: string;
  readonly #cluster: string;

  /** `signingKeySeed`: an account seed (`SA…`); `account`: the public key (`A…`) of the account it signs for. */
  constructor(options: { signingKeySeed: string; account: string; cluster: string }) {
    this.#signer = fastSigningKey(fromSeed(new TextEncoder().encode(options.signingKeySeed.trim())));
    if (!this.#signer.getPublicKey().startsWith('A')) throw new TypeError('the signing key is not an account key (its seed must start with SA)');
    if (!isAccountKey(options.account)) throw new TypeError(`the issuer account ${JSON.stringify(options.account)} is not an account public key (A…, 56 characters)`);
    this.#account = options.account;
    this.#cluster = options.cluster;
    kubemetaPermissions(options.cluster); // checks the cluster name now, not at the first request
  }

  /** A user JWT for `userPublicKey` with the node agent permissions of `node`, valid until `expiresAtSec`. */
  sign(userPublicKey: string, node: string, pod: { namespace: string; name: string; uid: string }, expiresAtSec: number): Promise<string> {
    const perms = kubemetaPermissions(this.#cluster).agent(node);
    return encodeUser(`kubemeta-agent/${node}`, userPublicKey, this.#signer, {
      ...userClaims(this.#account, perms, true),
      tags: [`pod:${pod.namespace}/${pod.name}`, `pod-uid:${pod.uid}`],
    }, { exp: expiresAtSec });
  }
}

/** True for a valid user public key (`U…`): what an agent must send. */
export function isUserPublicKey(key: string): boolean {
  try {
    return key.startsWith('U') && fromPublic(key).getPublicKey() === key;
  } catch {
    return false;
  }
}

function isAccountKey(key: string): boolean {
  try {
    return key.startsWith('A') && fromPublic(key).getPublicKey() === key;
  } catch {
    return false;
  }
}
