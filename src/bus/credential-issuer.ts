import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { InvalidArgumentError, silentLogger, systemClock, toError, type Clock, type Logger } from '../core/index.ts';
import {
  CredentialRefusal,
  clusterSubjects,
  decodeCredentialRequest,
  encodeCredentialResponse,
  type CredentialRefusalCode,
  type CredentialResponse,
} from '../schema/index.ts';
import { CredentialRefusedError } from './errors.ts';
import { AgentCredentialSigner, isUserPublicKey } from './nats-jwt.ts';
import { isRefusedReplySubject } from './reply-subjects.ts';

/** The pod a token proved, as the service's check found it in its own state. */
export interface AuthorizedAgent {
  readonly node: string;
  readonly namespace: string;
  readonly pod: string;
  readonly podUid: string;
}

export interface CredentialIssuerOptions {
  connection: NatsConnection;
  cluster: string;
  /** Signs the issued user JWTs (the account signing key the service holds). */
  signer: AgentCredentialSigner;
  /**
   * Decides whose token it is: resolves to the agent's pod and node, or throws
   * CredentialRefusedError. The service's check calls the API server's TokenReview.
   */
  authorize: (token: string, signal: AbortSignal) => Promise<AuthorizedAgent>;
  /** Lifetime of an issued credential (default 1 h). */
  ttlMs?: number;
  /** Requests checked per second on average (each is one TokenReview), and the burst (defaults 50 and 100). */
  ratePerSec?: number;
  burst?: number;
  /** Requests checked at once; beyond, BUSY (default 32). */
  maxConcurrent?: number;
  /** Called once per answer: the outcome for /metrics. */
  onOutcome?: (outcome: 'issued' | CredentialRefusalCode) => void;
  /** NATS queue group (default 'kubemeta-credentials'): every replica answers a share. */
  queueGroup?: string;
  clock?: Clock;
  logger?: Logger;
}

export interface CredentialIssuerStats {
  readonly received: number;
  readonly issued: number;
  readonly refused: Readonly<Record<string, number>>;
  readonly droppedNoReply: number;
  /** Requests whose reply subject is not under `_INBOX.<credentials subject>.`. */
  readonly droppedBadReply: number;
}

/**
 * The credential issuer (issue 15; docs/security.md): a node agent trades its projected
 * service-account token for a NATS user JWT that may read only its node's subjects, for a public
 * key whose seed stays with the agent. NATS request/reply rather than an HTTPS endpoint: agents
 * already reach the service only through NATS (replay, registration), so there is no second
 * listener to expose, no server certificate to distribute, and several replicas share the load
 * through a queue group. An agent with no credentials yet logs in with the shared bootstrap
 * user, which may publish here and read `_INBOX.<credentials subject>.>` only.
 *
 * Every request costs the API server one TokenReview: the rate and concurrency are bounded, and
 * beyond them the agent is told BUSY with a retry delay. Answers go only into inboxes under
 * `_INBOX.<credentials subject>.`: the service may publish on every kubemeta subject, and a
 * chosen reply subject must not make it publish there for someone else.
 */
export class CredentialIssuer implements AsyncDisposable {
  readonly #nc: NatsConnection;
  readonly #subject: string;
  readonly #inbox: string;
  readonly #options: CredentialIssuerOptions;
  readonly #ttlMs: number;
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxConcurrent: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  #tokens: number;
  #refilledAt: number;
  #sub: Subscription | undefined;
  #stats = { received: 0, issued: 0, droppedNoReply: 0, droppedBadReply: 0 };
  readonly #refused: Record<string, number> = {};

  constructor(options: CredentialIssuerOptions) {
    this.#nc = options.connection;
    this.#subject = clusterSubjects(options.cluster).credentials;
    this.#inbox = `_INBOX.${this.#subject}.`;
    this.#options = options;
    this.#ttlMs = positive('ttlMs', options.ttlMs ?? 3_600_000);
    if (this.#ttlMs < 1_000) throw new InvalidArgumentError('ttlMs', 'must be at least 1000 (JWT expiry has a granularity of one second)');
    this.#rate = positive('ratePerSec', options.ratePerSec ?? 50);
    this.#burst = positive('burst', options.burst ?? 100);
    this.#maxConcurrent = positive('maxConcurrent', options.maxConcurrent ?? 32);
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger ?? silentLogger;
    this.#tokens = this.#burst;
    this.#refilledAt = this.#clock.now();
  }

  start(): void {
    this.#sub = this.#nc.subscribe(this.#subject, {
      queue: this.#options.queueGroup ?? 'kubemeta-credentials',
      callback: (err, msg) => {
        if (!err) this.#receive(msg);
      },
    });
  }

  stats(): CredentialIssuerStats {
    return { ...this.#stats, refused: { ...this.#refused } };
  }

  /** Stops taking requests and waits for the ones being checked (their reviews are aborted). */
  async close(): Promise<void> {
    try {
      this.#sub?.unsubscribe();
    } catch {
      // connection already closed
    }
    this.#abort.abort();
    await Promise.allSettled([...this.#inFlight]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #receive(msg: Msg): void {
    this.#stats.received++;
    const reply = msg.reply;
    if (!reply) {
      this.#stats.droppedNoReply++;
      return;
    }
    if (!reply.startsWith(this.#inbox) || isRefusedReplySubject(reply)) {
      this.#stats.droppedBadReply++;
      return;
    }
    const request = decodeCredentialRequest(msg.data);
    if (!request) return this.#refuse(reply, CredentialRefusal.BAD_REQUEST, 'the request is not a credential request (JSON with token and publicKey, wire-protocol §11)');
    if (!isUserPublicKey(request.publicKey)) return this.#refuse(reply, CredentialRefusal.BAD_REQUEST, 'publicKey is not a NATS user public key (U…)');
    if (this.#inFlight.size >= this.#maxConcurrent || !this.#takeToken()) {
      return this.#refuse(reply, CredentialRefusal.BUSY, 'the credential issuer is at its request rate; retry later', 1_000);
    }
    const run = this.#issue(reply, request.token, request.publicKey).finally(() => this.#inFlight.delete(run));
    this.#inFlight.add(run);
  }

  async #issue(reply: string, token: string, publicKey: string): Promise<void> {
    let agent: AuthorizedAgent;
    try {
      agent = await this.#options.authorize(token, this.#abort.signal);
    } catch (err) {
      if (err instanceof CredentialRefusedError) return this.#refuse(reply, err.code, err.message, err.retryAfterMs);
      if (this.#abort.signal.aborted) return; // closing: the check was cut short, the requester retries
      this.#log.warn({ err: toError(err) }, 'credential check failed');
      return this.#refuse(reply, CredentialRefusal.UNAVAILABLE, 'the credential issuer could not check the token now; retry', 2_000);
    }
    try {
      const expiresAtSec = Math.floor((this.#clock.now() + this.#ttlMs) / 1000);
      const jwt = await this.#options.signer.sign(publicKey, agent.node, { namespace: agent.namespace, name: agent.pod, uid: agent.podUid }, expiresAtSec);
      this.#stats.issued++;
      this.#options.onOutcome?.('issued');
      this.#answer(reply, { jwt, node: agent.node, expiresAtMs: expiresAtSec * 1000 });
    } catch (err) {
      this.#log.error({ err: toError(err) }, 'could not sign an agent credential');
      this.#refuse(reply, CredentialRefusal.UNAVAILABLE, 'the credential issuer could not sign a credential; retry', 5_000);
    }
  }

  #refuse(reply: string, code: CredentialRefusalCode, message: string, retryAfterMs?: number): void {
    this.#refused[code] = (this.#refused[code] ?? 0) + 1;
    this.#options.onOutcome?.(code);
    this.#log.debug({ code }, 'credential request refused');
    this.#answer(reply, { error: { code, message, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) } });
  }

  #answer(reply: string, response: CredentialResponse): void {
    try {
      this.#nc.publish(reply, encodeCredentialResponse(response));
    } catch (err) {
      this.#log.debug({ err: toError(err) }, 'could not answer a credential request');
    }
  }

  /** A token bucket: `rate` per second, up to `burst` saved. */
  #takeToken(): boolean {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) / 1000) * this.#rate);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(name, `must be a positive number, got ${value}`);
  return value;
}
