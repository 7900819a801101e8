import { SimApiError } from '../model/errors.ts';

/**
 * Fault injection: a fake that misbehaves on command, so clients' error paths run in tests
 * and demos. Every fault is also reachable over HTTP under /_sim/faults (see `handleAdmin`).
 *
 * Failures, expiries, stalls and event drops apply to resource requests only (not to
 * discovery, /metrics or /_sim/), each consumed by the first request that matches it.
 */
export interface FailureOptions {
  /** How many matching requests fail (default 1). */
  count?: number;
  /** HTTP status to answer with (default 500). */
  status?: number;
  /** Only requests with this verb (list, watch, get, create, update, patch, delete, deletecollection). */
  verb?: string;
  /** Only requests for this kind (Pod, Deployment, ...). */
  kind?: string;
  /** Sent as Retry-After (and Status details.retryAfterSeconds), e.g. with 429. */
  retryAfterSeconds?: number;
  message?: string;
}

export interface PendingFailure {
  remaining: number;
  readonly status: number;
  readonly verb: string | undefined;
  readonly kind: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly message: string;
}

export type ExpireTarget = 'watch' | 'continue' | 'both';
export type DropMode = 'end' | 'reset';

export interface FaultState {
  failures: PendingFailure[];
  expireWatches: number;
  expireContinues: number;
  stall: { ms: number; remaining: number | null };
  dropWatchEvents: { remaining: number; kind: string | undefined };
}

/** What the faults act on: the watch hub and the model, supplied by the API server. */
export interface FaultTargets {
  dropAllWatches(mode: DropMode): number;
  compactHistory(): number;
}

export class SimFaults {
  readonly #targets: FaultTargets;
  #state: FaultState = emptyState();

  constructor(targets: FaultTargets) {
    this.#targets = targets;
  }

  /** Fails the next `count` matching requests with `status` (a Status body, as real). */
  failNext(options: FailureOptions = {}): void {
    const status = options.status ?? 500;
    if (!Number.isInteger(status) || status < 400 || status > 599) throw badFault(`status must be an HTTP error code 400..599, got ${status}`);
    this.#state.failures.push({
      remaining: count(options.count),
      status,
      verb: options.verb,
      kind: options.kind,
      retryAfterSeconds: options.retryAfterSeconds,
      message: options.message ?? `kubemeta sim: injected failure (HTTP ${status})`,
    });
  }

  /** The failure the request (verb, kind) must answer with, if one is pending; consumes it. */
  takeFailure(verb: string, kind: string): PendingFailure | undefined {
    const failure = this.#state.failures.find((f) => (f.verb === undefined || f.verb === verb) && (f.kind === undefined || f.kind === kind));
    if (!failure) return undefined;
    if (--failure.remaining <= 0) this.#state.failures = this.#state.failures.filter((f) => f !== failure);
    return failure;
  }

  /** Answers the next `count` watch requests (ERROR event) and/or LIST continues (HTTP 410) with Expired. */
  expireNext(countValue = 1, on: ExpireTarget = 'both'): void {
    const n = count(countValue);
    if (on === 'watch' || on === 'both') this.#state.expireWatches += n;
    if (on === 'continue' || on === 'both') this.#state.expireContinues += n;
  }

  takeExpire(on: 'watch' | 'continue'): boolean {
    const field = on === 'watch' ? 'expireWatches' : 'expireContinues';
    if (this.#state[field] <= 0) return false;
    this.#state[field]--;
    return true;
  }

  /** Delays each resource request by `ms` (the next `count`, or until cleared with ms 0). */
  stall(ms: number, countValue?: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw badFault(`ms must be a non-negative number, got ${ms}`);
    this.#state.stall = { ms, remaining: ms === 0 ? 0 : countValue === undefined ? null : count(countValue) };
  }

  takeStallMs(): number {
    const s = this.#state.stall;
    if (s.ms === 0 || s.remaining === 0) return 0;
    if (s.remaining !== null) s.remaining--;
    return s.ms;
  }

  /** Silently drops the next `count` watch events and bookmarks (optionally of one kind only). */
  dropWatchEvents(countValue = 1, kind?: string): void {
    this.#state.dropWatchEvents = { remaining: count(countValue), kind };
  }

  takeEventDrop(kind: string): boolean {
    const d = this.#state.dropWatchEvents;
    if (d.remaining <= 0 || (d.kind !== undefined && d.kind !== kind)) return false;
    d.remaining--;
    return true;
  }

  /** Closes every open watch now; 'reset' destroys the connections instead of ending them. Returns how many. */
  dropAllWatches(mode: DropMode = 'end'): number {
    return this.#targets.dropAllWatches(mode);
  }

  /** Drops the event history: every watch resumed from an older resourceVersion gets 410. Returns the RV compacted to. */
  compactHistory(): number {
    return this.#targets.compactHistory();
  }

  reset(): void {
    this.#state = emptyState();
  }

  state(): FaultState {
    return structuredClone(this.#state);
  }

  /** The /_sim/faults endpoints; `body` is the parsed JSON body ({} when empty). */
  handleAdmin(method: string, action: string, body: Record<string, unknown>): unknown {
    const route = `${method} ${action}`;
    switch (route) {
      case 'GET ':
        return this.state();
      case 'DELETE ':
        this.reset();
        return this.state();
      case 'POST fail':
        this.failNext(pick(body, ['count', 'status', 'verb', 'kind', 'retryAfterSeconds', 'message']) as FailureOptions);
        return this.state();
      case 'POST expire':
        this.expireNext(numberOr(body['count'], 1), expireTarget(body['on']));
        return this.state();
      case 'POST stall':
        this.stall(numberOr(body['ms'], 0), body['count'] === undefined ? undefined : numberOr(body['count'], 1));
        return this.state();
      case 'POST drop-watch-events':
        this.dropWatchEvents(numberOr(body['count'], 1), typeof body['kind'] === 'string' ? body['kind'] : undefined);
        return this.state();
      case 'POST drop-watches':
        return { dropped: this.dropAllWatches(body['mode'] === 'reset' ? 'reset' : 'end') };
      case 'POST compact':
        return { compactedResourceVersion: this.compactHistory() };
      default:
        throw new SimApiError(
          'NotFound',
          `unknown fault endpoint ${route.trim()}: use GET|DELETE /_sim/faults, or POST /_sim/faults/{fail,expire,stall,drop-watch-events,drop-watches,compact}`,
        );
    }
  }
}

function emptyState(): FaultState {
  return { failures: [], expireWatches: 0, expireContinues: 0, stall: { ms: 0, remaining: 0 }, dropWatchEvents: { remaining: 0, kind: undefined } };
}

function count(value: number | undefined): number {
  const n = value ?? 1;
  if (!Number.isInteger(n) || n < 0) throw badFault(`count must be a non-negative integer, got ${String(value)}`);
  return n;
}

function numberOr(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw badFault(`expected a number, got ${JSON.stringify(value)}`);
  return value;
}

function expireTarget(value: unknown): ExpireTarget {
  if (value === undefined) return 'both';
  if (value === 'watch' || value === 'continue' || value === 'both') return value;
  throw badFault(`"on" must be watch, continue or both, got ${JSON.stringify(value)}`);
}

function pick(body: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const numbers = new Set(['count', 'status', 'retryAfterSeconds']);
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = body[key];
    if (value === undefined) continue;
    if (numbers.has(key) ? typeof value !== 'number' : typeof value !== 'string') throw badFault(`${key} has the wrong type: ${JSON.stringify(value)}`);
    out[key] = value;
  }
  return out;
}

function badFault(problem: string): SimApiError {
  return new SimApiError('BadRequest', `invalid fault: ${problem}`);
}
