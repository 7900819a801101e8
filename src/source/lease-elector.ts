import { silentLogger, systemClock, toError, type Clock, type Logger } from '../core/index.ts';
import type { KubeApiClient } from './api-client.ts';
import { LeadershipLostError, LeaseNamespaceMissingError, SourceError } from './errors.ts';

/**
 * Leader election through a coordination.k8s.io/v1 Lease, the way client-go's
 * tools/leaderelection does it (the API server is the arbiter; resourceVersion makes every
 * change a compare-and-swap):
 * - a candidate takes the Lease when it is absent, released, or not renewed for
 *   `leaseDurationMs` — measured on OUR clock from when we last saw the record change, never
 *   from the timestamps in it, so clock skew between replicas does not matter;
 * - the leader renews every `retryPeriodMs` and considers itself deposed when it could not renew
 *   for `renewDeadlineMs` (< leaseDurationMs: it stops before anyone else may start);
 * - every change of holder increments `leaseTransitions`: that number is the leadership's term,
 *   the fencing token the store checks on every commit (a deposed leader that is merely slow
 *   cannot commit after a successor claimed the store).
 */
export interface LeaseElectorOptions {
  client: KubeApiClient;
  namespace: string;
  name: string;
  /** Unique per process (hostname and pid, or the pod name). */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** Held while this process leads. */
export interface Leadership {
  /** leaseTransitions when we took the Lease: strictly greater than any earlier leader's. */
  readonly term: number;
  readonly identity: string;
  /** Aborted the moment leadership is lost (renewals failed for renewDeadlineMs) or released. */
  readonly signal: AbortSignal;
  /** Stops renewing and gives the Lease up, so a standby takes over without waiting. */
  release(): Promise<void>;
}

/** What a standby reports (the service's /readyz and /status). */
export interface LeaseElectionStatus {
  /** The identity holding the Lease when we last looked (absent: nobody, or not read yet). */
  readonly leader?: string;
  /** Why the last attempt to read or take the Lease failed (absent once one succeeds). */
  readonly error?: { readonly code: string; readonly message: string };
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface LeaseObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseSpec;
}

export class LeaseElector {
  readonly #options: Required<Omit<LeaseElectorOptions, 'logger' | 'clock'>>;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** The record as we last saw it, and when (our clock) it last changed. */
  #observed: { rv: string; spec: LeaseSpec; atMs: number } | undefined;
  /** Why the last round of acquire() failed; undefined after a round that read the Lease. */
  #lastError: Error | undefined;

  constructor(options: LeaseElectorOptions) {
    const leaseDurationMs = options.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > retryPeriodMs && retryPeriodMs > 0)) {
      throw new RangeError(`leader election needs leaseDuration (${leaseDurationMs}) > renewDeadline (${renewDeadlineMs}) > retryPeriod (${retryPeriodMs}) > 0`);
    }
    this.#options = { client: options.client, namespace: options.namespace, name: options.name, identity: options.identity, leaseDurationMs, renewDeadlineMs, retryPeriodMs };
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.logger ?? silentLogger).child({ module: 'leader-election', lease: `${options.namespace}/${options.name}` });
  }

  /** The identity holding the Lease when we last looked (undefined: nobody). */
  get observedLeader(): string | undefined {
    return this.#observed?.spec.holderIdentity || undefined;
  }

  /** The observed leader and, while the Lease cannot be read or taken, why. */
  status(): LeaseElectionStatus {
    const leader = this.observedLeader;
    const err = this.#lastError as (Error & { code?: unknown }) | undefined;
    return {
      ...(leader !== undefined ? { leader } : {}),
      ...(err ? { error: { code: typeof err.code === 'string' ? err.code : 'UNKNOWN', message: err.message } } : {}),
    };
  }

  /** Waits until this process holds the Lease; rejects only when `signal` aborts. */
  async acquire(signal: AbortSignal): Promise<Leadership> {
    let lastLeader: string | undefined;
    for (;;) {
      signal.throwIfAborted();
      try {
        const term = await this.#tryAcquireOrRenew(signal);
        if (this.#lastError instanceof LeaseNamespaceMissingError) this.#log.info({}, 'the Lease namespace exists now');
        this.#lastError = undefined;
        if (term !== undefined) return this.#lead(term);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        this.#failedRound(toError(err));
      }
      if (this.observedLeader !== lastLeader) {
        lastLeader = this.observedLeader;
        this.#log.info({ leader: lastLeader }, 'standing by: another replica leads');
      }
      await this.#clock.sleep(this.#jittered(), signal);
    }
  }

  /**
   * A missing namespace is an error an operator must fix, logged when it starts (not every
   * retry period, which would bury the log); any other failure is retried with a warning.
   */
  #failedRound(err: Error): void {
    const known = this.#lastError?.message === err.message;
    this.#lastError = err;
    if (!(err instanceof LeaseNamespaceMissingError)) this.#log.warn({ err }, 'leader election: cannot read or write the Lease; retrying');
    else if (!known) this.#log.error({ err }, err.message);
  }

  #lead(term: number): Leadership {
    const lost = new AbortController();
    const stop = new AbortController();
    this.#log.info({ term, identity: this.#options.identity }, 'became the leader');
    const renewing = this.#renewLoop(lost, stop.signal);
    const release = async (): Promise<void> => {
      if (stop.signal.aborted) return renewing;
      stop.abort();
      await renewing;
      if (!lost.signal.aborted) {
        lost.abort(new LeadershipLostError('leadership released'));
        await this.#release().catch((err: unknown) => this.#log.warn({ err: toError(err) }, 'could not release the Lease; it expires by itself'));
      }
    };
    return { term, identity: this.#options.identity, signal: lost.signal, release };
  }

  async #renewLoop(lost: AbortController, stop: AbortSignal): Promise<void> {
    let lastRenewedMs = this.#clock.now();
    while (!stop.aborted) {
      try {
        await this.#clock.sleep(this.#options.retryPeriodMs, stop);
      } catch {
        return;
      }
      try {
        const renewed = await this.#tryAcquireOrRenew(stop);
        if (renewed !== undefined) {
          lastRenewedMs = this.#clock.now();
          continue;
        }
        // Somebody else holds it now: we are deposed at once.
        this.#log.error({ leader: this.observedLeader }, 'lost the Lease to another replica; stopping as leader');
        lost.abort(new LeadershipLostError(`lost the Lease to ${this.observedLeader ?? 'another replica'}`));
        return;
      } catch (err) {
        if (stop.aborted) return;
        if (this.#clock.now() - lastRenewedMs >= this.#options.renewDeadlineMs) {
          this.#log.error({ err: toError(err) }, `could not renew the Lease for ${this.#options.renewDeadlineMs} ms; stopping as leader`);
          lost.abort(new LeadershipLostError('could not renew the Lease before the renew deadline'));
          return;
        }
        this.#log.warn({ err: toError(err) }, 'renewing the Lease failed; retrying');
      }
    }
  }

  /** One round of client-go's tryAcquireOrRenew: our term if we hold the Lease afterwards. */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<number | undefined> {
    const now = this.#clock.now();
    const current = await this.#get(signal);
    if (!current) {
      const created = await this.#write('POST', this.#record(undefined, now, 0), signal);
      return created ? 0 : undefined;
    }
    const spec = current.spec;
    const rv = current.metadata.resourceVersion ?? '';
    if (!this.#observed || this.#observed.rv !== rv) this.#observed = { rv, spec, atMs: now };
    const holder = spec.holderIdentity ?? '';
    const mine = holder === this.#options.identity;
    const expired = this.#observed.atMs + this.#options.leaseDurationMs <= now;
    if (holder !== '' && !mine && !expired) return undefined;
    const transitions = spec.leaseTransitions ?? 0;
    const term = mine ? transitions : transitions + 1;
    const next = this.#record(rv, now, term, mine ? spec.acquireTime : undefined);
    return (await this.#write('PUT', next, signal)) ? term : undefined;
  }

  #record(resourceVersion: string | undefined, nowMs: number, transitions: number, acquireTime?: string): LeaseObject {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.#options.name, namespace: this.#options.namespace, ...(resourceVersion ? { resourceVersion } : {}) },
      spec: {
        holderIdentity: this.#options.identity,
        leaseDurationSeconds: Math.ceil(this.#options.leaseDurationMs / 1000),
        acquireTime: acquireTime ?? microTime(nowMs),
        renewTime: microTime(nowMs),
        leaseTransitions: transitions,
      },
    };
  }

  /** Gives the Lease up: an empty holder lets a standby take it on its next round. */
  async #release(): Promise<void> {
    const current = await this.#get(AbortSignal.timeout(5_000));
    if (!current || current.spec.holderIdentity !== this.#options.identity) return;
    const released: LeaseObject = { ...current, spec: { ...current.spec, holderIdentity: '', renewTime: microTime(this.#clock.now()) } };
    await this.#write('PUT', released, AbortSignal.timeout(5_000));
  }

  async #get(signal: AbortSignal): Promise<LeaseObject | undefined> {
    try {
      return (await this.#options.client.getJson(this.#path(), {}, signal)) as LeaseObject;
    } catch (err) {
      if (err instanceof SourceError && err.httpStatus === 404) return undefined;
      throw err;
    }
  }

  /** false on a conflict (somebody changed it first: re-read next round). */
  async #write(method: 'POST' | 'PUT', lease: LeaseObject, signal: AbortSignal): Promise<boolean> {
    try {
      const written = (await this.#options.client.sendJson(method, method === 'POST' ? this.#collection() : this.#path(), lease, signal)) as LeaseObject;
      this.#observed = { rv: written.metadata.resourceVersion ?? '', spec: written.spec, atMs: this.#clock.now() };
      return true;
    } catch (err) {
      if (err instanceof SourceError && err.httpStatus === 409) return false;
      // A create into a namespace that does not exist is a 404 too, which reads as "the API
      // server does not serve this resource" although Leases are served: say what is missing.
      if (method === 'POST' && err instanceof SourceError && err.httpStatus === 404 && namespaceNotFound(err.message, this.#options.namespace)) {
        throw new LeaseNamespaceMissingError(this.#options.namespace, this.#options.name, { cause: err });
      }
      throw err;
    }
  }

  #collection(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.#options.namespace)}/leases`;
  }

  #path(): string {
    return `${this.#collection()}/${encodeURIComponent(this.#options.name)}`;
  }

  /** client-go waits retryPeriod × (1 + up to 1.2 jitter) between attempts of a standby. */
  #jittered(): number {
    return this.#options.retryPeriodMs * (1 + Math.random() * 1.2);
  }
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * The API server's answer to a create in a namespace that does not exist: a NotFound Status
 * whose message is `namespaces "<name>" not found` (the message is all that reaches us).
 */
function namespaceNotFound(message: string, namespace: string): boolean {
  return message.includes(`namespaces "${namespace}" not found`);
}
