import { toError } from '../core/index.ts';
import { clusterSubjects, formatScope, type Kind, type Scope, type StreamId, type Version } from '../schema/index.ts';
import { ChangeFeed, type Change } from './changes.ts';
import type { ClientConfig } from './client-options.ts';
import { openConnection, type SdkConnection } from './connection.ts';
import { ClientClosedError } from './errors.ts';
import type { IssuedCredentials } from './issued-credentials.ts';
import { LocalState } from './local-state.ts';
import { StatePersistence, type PersistedState } from './persistence.ts';
import { ReplayClient } from './replay-client.ts';
import { ScopeSubscription, type SubscriptionStats } from './scope-subscription.ts';
import { StatusHub, type Status } from './status.ts';

/** Lifecycle of a client (style habit 8). */
export type ClientState = 'running' | 'draining' | 'closed' | 'failed';

export interface ClientCoreHooks {
  /** NATS client name. */
  readonly name: string;
  /** Called when a record is forgotten after retention. */
  readonly onPurge?: (kind: Kind, uid: string) => void;
  /** Extra state saved with the scope state (the node agent's processes). */
  readonly processes?: () => ReadonlyArray<readonly [number, number, string]>;
  /** NATS credentials from the credential issuer (a node agent with serviceAccountTokenFile): obtained before connecting, renewed while open. */
  readonly credentials?: IssuedCredentials;
}

export interface ClientStats extends SubscriptionStats {
  readonly statusDropped: number;
  readonly saves: number;
}

/**
 * What NodeAgentClient and ClusterClient share: one scope's local state kept in step by a
 * ScopeSubscription over a (possibly owned) NATS connection, the status and change streams,
 * retention sweeps, optional persistence, and the lifecycle (close, drain, closed).
 */
export class ClientCore {
  readonly config: ClientConfig;
  readonly scope: Scope;
  readonly scopeText: string;
  readonly state: LocalState;
  readonly statusHub: StatusHub;
  readonly feed: ChangeFeed;
  readonly subscription: ScopeSubscription;
  readonly connection: SdkConnection;
  /** Loaded from disk at start (already applied to the state), if any. */
  readonly persisted: PersistedState | undefined;
  readonly closed: Promise<void | Error>;
  readonly #owned: boolean;
  readonly #persistence: StatePersistence | undefined;
  readonly #hooks: ClientCoreHooks;
  readonly #closer = new AbortController();
  #lifecycle: ClientState = 'running';
  #resolveClosed!: (value: void | Error) => void;
  #shutdown: Promise<void> | undefined;
  #statusIterable: AsyncIterable<{ readonly type: string }> | undefined;
  #saved = { generation: -1, position: -1, atMs: 0 };
  #saves = 0;
  #saving: Promise<unknown> = Promise.resolve();

  private constructor(init: {
    config: ClientConfig; scope: Scope; state: LocalState; statusHub: StatusHub; feed: ChangeFeed; connection: SdkConnection; owned: boolean;
    persistence: StatePersistence | undefined; persisted: PersistedState | undefined; hooks: ClientCoreHooks;
  }) {
    this.config = init.config;
    this.scope = init.scope;
    this.scopeText = formatScope(init.scope);
    this.state = init.state;
    this.statusHub = init.statusHub;
    this.feed = init.feed;
    this.connection = init.connection;
    this.#owned = init.owned;
    this.#persistence = init.persistence;
    this.persisted = init.persisted;
    this.#hooks = init.hooks;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    const c = init.config;
    const replay = new ReplayClient({
      connection: init.connection, cluster: c.cluster, clock: c.clock, random: c.random, responseTimeoutMs: c.replayTimeoutMs,
      limit: c.replayLimit, maxChunkBytes: c.replayChunkBytes, inboxPrefix: c.source.natsOptions?.inboxPrefix,
    });
    this.subscription = new ScopeSubscription({
      connection: init.connection, cluster: c.cluster, scope: init.scope, sink: init.state, replay, status: init.statusHub, clock: c.clock,
      maxBufferedUpdates: c.maxBufferedUpdates, errorBackoff: { random: c.random }, heartbeatGraceMs: c.heartbeatGraceMs,
      resume: init.persisted ? { streamId: init.persisted.streamId, position: init.persisted.position } : undefined,
    });
  }

  /** Loads persisted state (if configured), connects, subscribes and starts the bootstrap. */
  static async open(config: ClientConfig, scope: Scope, hooks: ClientCoreHooks): Promise<ClientCore> {
    const scopeText = formatScope(scope);
    const statusHub = new StatusHub({ scope: scopeText, clock: config.clock, logger: config.logger.child({ module: 'sdk', scope: scopeText }), capacity: config.statusBufferSize });
    const feed = new ChangeFeed(config.changeBufferSize);
    const state = new LocalState({ clock: config.clock, retentionMs: config.retentionMs, changes: feed, onPurge: hooks.onPurge });
    const persistence = config.persistDir === undefined ? undefined : new StatePersistence(config.persistDir, config.cluster, scopeText);
    const persisted = persistence ? await loadPersisted(persistence, state, statusHub) : undefined;
    // Inboxes under `_INBOX.<scope subject>` (unless natsOptions says otherwise): NATS
    // permissions can then confine each user's inboxes to its scope (docs/security.md).
    const inboxPrefix = `_INBOX.${clusterSubjects(config.cluster).scope(scope)}`;
    let natsOptions = { inboxPrefix, ...config.source.natsOptions };
    if (hooks.credentials) {
      await hooks.credentials.obtain(statusHub, config.signal);
      // Expired or not-yet-renewed credentials are refused by the server: nats.js would give up
      // after two refusals in a row, while a renewal is on its way. Keep reconnecting instead.
      natsOptions = { ...natsOptions, authenticator: hooks.credentials.authenticator, ignoreAuthErrorAbort: true };
    }
    const { nc, owned } = await openConnection({ ...config.source, natsOptions }, hooks.name, config.signal);
    const core = new ClientCore({ config, scope, state, statusHub, feed, connection: nc, owned, persistence, persisted, hooks });
    core.#start();
    hooks.credentials?.startRenewal(statusHub, () => nc.reconnect?.() ?? Promise.resolve());
    return core;
  }

  get lifecycle(): ClientState {
    return this.#lifecycle;
  }
  get streamId(): StreamId | undefined {
    return this.subscription.streamId;
  }
  get head(): Version {
    return this.subscription.position;
  }
  get lag(): number {
    return this.subscription.lag;
  }
  get inSync(): boolean {
    return this.subscription.inSync;
  }

  stats(): ClientStats {
    return { ...this.subscription.stats(), statusDropped: this.statusHub.dropped, saves: this.#saves };
  }

  whenInSync(signal?: AbortSignal): Promise<void> {
    if (this.#lifecycle !== 'running') return Promise.reject(new ClientClosedError(`client for ${this.scopeText}`));
    return this.subscription.whenInSync(signal);
  }

  changes(): AsyncIterableIterator<Change> {
    return this.feed.changes();
  }

  status(): AsyncIterableIterator<Status> {
    return this.statusHub.status();
  }

  /**
   * Saves state, position and stream id now if they changed since the last save. Does nothing
   * without persistDir, or while the client has no consistent state (bootstrapping).
   */
  save(): Promise<boolean> {
    // One save at a time: a periodic save and the one at close must not interleave their writes.
    const next = this.#saving.then(() => this.#saveNow());
    this.#saving = next.catch(() => undefined);
    return next;
  }

  async #saveNow(): Promise<boolean> {
    const p = this.#persistence;
    const streamId = this.subscription.streamId;
    if (!p || streamId === undefined) return false;
    const position = this.subscription.position;
    if (this.state.generation === this.#saved.generation && position === this.#saved.position) return false;
    const generation = this.state.generation;
    const atMs = this.config.clock.now();
    const records = [...this.state.records()].map(({ epoch: _epoch, ...r }) => r);
    await p.save({
      cluster: this.config.cluster, scope: this.scopeText, streamId, position, savedAtMs: atMs, records, processes: this.#hooks.processes?.() ?? [],
    });
    this.#saved = { generation, position, atMs };
    this.#saves++;
    return true;
  }

  /** Stops now: no more replays or updates; state saved (if persisting); readers end. */
  close(): Promise<void> {
    return this.#stop('close', undefined);
  }

  /**
   * Lets a replay in flight finish (up to drainTimeoutMs, or until `signal` aborts), saves,
   * then closes.
   */
  drain(signal?: AbortSignal): Promise<void> {
    return this.#stop('drain', undefined, signal);
  }

  #start(): void {
    void this.#watchConnection();
    this.subscription.start();
    this.statusHub.emit({ type: 'connected', server: safeServer(this.connection) });
    void this.#housekeeping();
  }

  async #watchConnection(): Promise<void> {
    const iterable = this.connection.status();
    this.#statusIterable = iterable;
    try {
      for await (const s of iterable) {
        if (this.#lifecycle !== 'running') return;
        if (s.type === 'disconnect') {
          this.statusHub.emit({ type: 'disconnect' });
          this.subscription.onDisconnect();
        } else if (s.type === 'reconnect') {
          this.statusHub.emit({ type: 'reconnect' });
          this.subscription.onReconnect();
        }
      }
    } catch {
      // the connection's status stream failed: treated as closed below
    }
    if (this.#lifecycle === 'running') {
      // The NATS connection closed under the client: it cannot recover by itself.
      void this.#stop('close', new ClientClosedError('the NATS connection of this kubemeta client'));
    }
  }

  /** Retention sweeps and periodic saves, on the injected clock. */
  async #housekeeping(): Promise<void> {
    const c = this.config;
    try {
      for (;;) {
        await c.clock.sleep(c.sweepIntervalMs, this.#closer.signal);
        this.state.sweep();
        if (this.#persistence && c.clock.now() - this.#saved.atMs >= c.persistIntervalMs) await this.#saveReporting();
      }
    } catch {
      // closed
    }
  }

  async #saveReporting(): Promise<void> {
    try {
      await this.save();
    } catch (err) {
      this.statusHub.emit({ type: 'error', error: toError(err), retryInMs: this.config.persistIntervalMs });
    }
  }

  #stop(mode: 'close' | 'drain', failure: Error | undefined, signal?: AbortSignal): Promise<void> {
    this.#shutdown ??= this.#runStop(mode, failure, signal);
    return this.#shutdown;
  }

  async #runStop(mode: 'close' | 'drain', failure: Error | undefined, signal: AbortSignal | undefined): Promise<void> {
    if (mode === 'drain') {
      this.#lifecycle = 'draining';
      const timeout = AbortSignal.timeout(Math.max(1, this.config.drainTimeoutMs));
      await this.subscription.whenInSync(signal ? AbortSignal.any([timeout, signal]) : timeout).catch(() => undefined);
    }
    this.#lifecycle = failure ? 'failed' : 'closed';
    this.#closer.abort(new ClientClosedError(`client for ${this.scopeText}`));
    await this.#hooks.credentials?.close();
    (this.#statusIterable as { stop?: () => void } | undefined)?.stop?.();
    await this.subscription.close();
    await this.#saveReporting();
    if (failure) this.statusHub.emit({ type: 'error', error: failure, retryInMs: undefined });
    this.feed.close();
    this.statusHub.close();
    if (this.#owned && !this.connection.isClosed()) {
      // A drain needs the server (it ends with a flush); with NATS down it fails and would leave
      // the connection reconnecting forever, keeping the process alive: close it then.
      await (mode === 'drain' ? this.connection.drain() : this.connection.close()).catch(() => this.connection.close()).catch(() => undefined);
    }
    this.#resolveClosed(failure);
  }
}

async function loadPersisted(persistence: StatePersistence, state: LocalState, status: StatusHub): Promise<PersistedState | undefined> {
  const loaded = await persistence.load();
  if (loaded.kind === 'missing') return undefined;
  if (loaded.kind === 'invalid') {
    status.emit({ type: 'error', error: loaded.error, retryInMs: undefined });
    await persistence.discard().catch(() => undefined);
    return undefined;
  }
  for (const r of loaded.state.records) state.restore(r);
  state.setPosition(loaded.state.streamId, loaded.state.position);
  return loaded.state;
}

function safeServer(nc: SdkConnection): string | undefined {
  try {
    return nc.getServer();
  } catch {
    return undefined;
  }
}
