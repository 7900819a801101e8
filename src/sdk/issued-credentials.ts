import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, jwtAuthenticator, nkeys, type ConnectionOptions } from '@nats-io/transport-node';
import { Backoff, toError, type Clock } from '../core/index.ts';
import { clusterSubjects, decodeCredentialResponse, encodeCredentialRequest } from '../schema/index.ts';
import { CredentialsExpiredError, CredentialsRefusedError, SdkInvalidArgumentError } from './errors.ts';
import type { StatusHub } from './status.ts';

/** Shortest time between two renewals. */
const MIN_RENEWAL_INTERVAL_MS = 1_000;

/** Where an agent's issued credentials come from. */
export interface IssuedCredentialsOptions {
  readonly cluster: string;
  readonly servers: readonly string[];
  /** The projected service-account token (audience kubemeta); read anew for every request, as the kubelet rotates it. */
  readonly tokenFile: string;
  /** The `.creds` of the bootstrap user, which may only ask the issuer (`kubemeta nats-auth init` writes it). */
  readonly bootstrapCredsFile: string;
  /** TLS and other connection options, shared with the agent's own connection (never its authenticator). */
  readonly natsOptions: Partial<ConnectionOptions> | undefined;
  /** Timeout of one credential request (the issuer waits up to a few seconds for a new pod). */
  readonly requestTimeoutMs: number;
  readonly clock: Clock;
  readonly random: () => number;
}

/** Credentials the issuer handed out: a user JWT for our nkey, for `node`, until `expiresAtMs`. */
export interface AgentCredentials {
  readonly jwt: string;
  readonly node: string;
  readonly expiresAtMs: number;
}

/**
 * One request to the credential issuer (wire-protocol §11): connects as the bootstrap user,
 * sends the token and `publicKey`, closes. A separate short connection, not the agent's: the
 * agent's user may only do what node agents do (the static per-node file's permissions), and a
 * renewal must also work when the agent's credentials have already expired. Throws
 * CredentialsRefusedError (with the issuer's code when it answered).
 */
export async function requestAgentCredentials(options: Omit<IssuedCredentialsOptions, 'clock' | 'random'>, publicKey: string, signal?: AbortSignal): Promise<AgentCredentials> {
  const token = await readSecretFile(options.tokenFile, 'serviceAccountTokenFile');
  const creds = await readSecretFile(options.bootstrapCredsFile, 'bootstrapCredsFile');
  const subject = clusterSubjects(options.cluster).credentials;
  let nc;
  try {
    nc = await connect({
      ...options.natsOptions,
      servers: [...options.servers],
      name: 'kubemeta-agent-bootstrap',
      authenticator: credsAuthenticator(new TextEncoder().encode(creds)),
      // The bootstrap user may read answers only under this prefix (kubemetaPermissions().bootstrap).
      inboxPrefix: `_INBOX.${subject}`,
      reconnect: false,
      timeout: options.requestTimeoutMs,
    });
  } catch (err) {
    throw new CredentialsRefusedError(`cannot connect to NATS as the bootstrap user (${toError(err).message}): check bootstrapCredsFile against the NATS server's operator configuration`, undefined, { cause: err });
  }
  try {
    signal?.throwIfAborted();
    let msg;
    try {
      msg = await nc.request(subject, encodeCredentialRequest({ token: token.trim(), publicKey }), { timeout: options.requestTimeoutMs });
    } catch (err) {
      throw new CredentialsRefusedError(`no answer from the credential issuer on ${subject} (${toError(err).message}): is kubemeta serve running with --issuer-signing-key-file on this NATS and cluster?`, undefined, { cause: err });
    }
    const response = decodeCredentialResponse(msg.data);
    if (!response) throw new CredentialsRefusedError(`the answer on ${subject} is not a credential response`);
    if ('error' in response) {
      throw new CredentialsRefusedError(response.error.message, response.error.code, response.error.retryAfterMs === undefined ? {} : { retryAfterMs: response.error.retryAfterMs });
    }
    return response;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/**
 * A node agent's NATS identity from the credential issuer: an nkey made here (its seed never
 * leaves this process), a user JWT for it obtained with the pod's service-account token, renewed
 * before it expires. `authenticator` gives nats.js the current JWT on every (re)connect; after a
 * renewal the connection is moved onto the new JWT at once (`reconnect`), so the server never
 * cuts it off at the old one's expiry. The scope subscription treats that reconnect like any
 * other: its state and position stay, a gap is repaired by replay.
 */
export class IssuedCredentials implements AsyncDisposable {
  readonly #options: IssuedCredentialsOptions;
  readonly #keyPair = nkeys.createUser();
  readonly #closer = new AbortController();
  #current: AgentCredentials | undefined;
  #obtainedAtMs = 0;
  #renewals = 0;
  #running: Promise<void> | undefined;

  constructor(options: IssuedCredentialsOptions) {
    if (options.servers.length === 0) throw new SdkInvalidArgumentError('servers', 'serviceAccountTokenFile needs NATS server URLs (servers), not a connection (nc)');
    this.#options = options;
  }

  get current(): AgentCredentials | undefined {
    return this.#current;
  }

  /** Renewals done so far (the first credentials not counted). */
  get renewals(): number {
    return this.#renewals;
  }

  /** For nats.js: the current JWT and a signature of the server's nonce with our seed. */
  readonly authenticator = jwtAuthenticator(() => this.#current?.jwt ?? '', this.#keyPair.getSeed());

  /**
   * Gets the first credentials, retrying refusals with backoff (the token file is read anew each
   * time) and reporting each as an `error` status, until `signal` aborts: then the last refusal
   * is thrown, so the caller sees why (a wrong service account, an expired token …).
   */
  async obtain(status: StatusHub, signal: AbortSignal | undefined): Promise<AgentCredentials> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 30_000, random: this.#options.random });
    for (;;) {
      try {
        const creds = await requestAgentCredentials(this.#options, this.#keyPair.getPublicKey(), signal);
        this.#accept(creds, status);
        return creds;
      } catch (err) {
        if (signal?.aborted) throw err instanceof CredentialsRefusedError ? err : signal.reason;
        if (!(err instanceof CredentialsRefusedError)) throw err; // unreadable files: fix the configuration
        const delay = Math.max(backoff.next(), err.retryAfterMs ?? 0);
        status.emit({ type: 'error', error: err, retryInMs: delay });
        try {
          await this.#options.clock.sleep(delay, signal);
        } catch {
          throw err;
        }
      }
    }
  }

  /** Renews the credentials before they expire, for as long as the client runs; `reconnect` moves the connection onto them. */
  startRenewal(status: StatusHub, reconnect: () => Promise<void>): void {
    this.#running ??= this.#renewLoop(status, reconnect);
  }

  async close(): Promise<void> {
    this.#closer.abort();
    await this.#running;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #renewLoop(status: StatusHub, reconnect: () => Promise<void>): Promise<void> {
    const clock = this.#options.clock;
    const signal = this.#closer.signal;
    const backoff = new Backoff({ initialMs: 500, maxMs: 30_000, random: this.#options.random });
    let expiredReported = false;
    try {
      for (;;) {
        const current = this.#current as AgentCredentials;
        await clock.sleep(Math.max(0, this.#renewAt(current) - clock.now()), signal);
        for (;;) {
          try {
            const creds = await requestAgentCredentials(this.#options, this.#keyPair.getPublicKey(), signal);
            this.#accept(creds, status);
            this.#renewals++;
            backoff.reset();
            expiredReported = false;
            await reconnect().catch((err: unknown) => status.emit({ type: 'error', error: toError(err), retryInMs: undefined }));
            break;
          } catch (err) {
            if (signal.aborted) return;
            const error = err instanceof CredentialsRefusedError ? err : new CredentialsRefusedError(toError(err).message, undefined, { cause: err });
            const delay = Math.max(backoff.next(), error.retryAfterMs ?? 0);
            status.emit({ type: 'error', error, retryInMs: delay });
            if (!expiredReported && clock.now() >= current.expiresAtMs) {
              expiredReported = true;
              status.emit({ type: 'error', error: new CredentialsExpiredError(current.expiresAtMs), retryInMs: delay });
            }
            await clock.sleep(delay, signal);
          }
        }
      }
    } catch {
      // closed
    }
  }

  /**
   * When to renew: after 60–70 % of the lifetime (jittered, so that agents started together do
   * not all ask at once an hour later), leaving the rest for retries before the old ones expire.
   */
  #renewAt(creds: AgentCredentials): number {
    const lifetime = Math.max(0, creds.expiresAtMs - this.#obtainedAtMs);
    // At least a second after the last: with a clock far ahead of the issuer's, every credential
    // would look expired on arrival, and renewing at once would ask the issuer in a tight loop.
    return this.#obtainedAtMs + Math.max(MIN_RENEWAL_INTERVAL_MS, lifetime * (0.6 + 0.1 * this.#options.random()));
  }

  #accept(creds: AgentCredentials, status: StatusHub): void {
    this.#current = creds;
    this.#obtainedAtMs = this.#options.clock.now();
    status.emit({ type: 'credentials', node: creds.node, expiresAtMs: creds.expiresAtMs });
  }
}

async function readSecretFile(path: string, option: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    // Reported by option and path, never by content.
    throw new SdkInvalidArgumentError(option, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? toError(err).message}`, { cause: err });
  }
}
