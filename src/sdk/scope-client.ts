import { timeNsFromMs, type StreamId, type TimeNs, type Version } from '../schema/index.ts';
import type { Change } from './changes.ts';
import type { ClientCore, ClientState } from './client-core.ts';
import type { IpOwner, StateView } from './state-view.ts';
import type { Status } from './status.ts';

/**
 * What NodeAgentClient and ClusterClient show alike: one scope's state kept in step, its
 * position, the change and status streams, and the lifecycle. Each subclass adds what its
 * consumers need (hydration for agents, query routing for brokers).
 */
export abstract class ScopeClient implements AsyncDisposable {
  readonly #core: ClientCore;

  protected constructor(core: ClientCore) {
    this.#core = core;
  }

  protected get core(): ClientCore {
    return this.#core;
  }

  /** The scope's objects (live by default; `includeStopped` for retained ones). */
  get state(): StateView {
    return this.#core.state;
  }
  get lifecycle(): ClientState {
    return this.#core.lifecycle;
  }
  get streamId(): StreamId | undefined {
    return this.#core.streamId;
  }
  /** The last version applied on the scope. */
  get head(): Version {
    return this.#core.head;
  }
  /** Versions between `head` and the newest head seen in heartbeats, batches and replay answers. */
  get lag(): number {
    return this.#core.lag;
  }
  get inSync(): boolean {
    return this.#core.inSync;
  }
  /** Resolves with the reason the client stopped: undefined after close()/drain(), an Error if it failed. */
  get closed(): Promise<void | Error> {
    return this.#core.closed;
  }

  whenInSync(signal?: AbortSignal): Promise<void> {
    return this.#core.whenInSync(signal);
  }

  /**
   * State changes in apply order, for one reader per call. Bounded: a reader that falls
   * behind by `changeBufferSize` loses the queued changes and receives one `overflow` change;
   * it must then re-read `state` (later changes continue from the current state).
   */
  changes(): AsyncIterableIterator<Change> {
    return this.#core.changes();
  }

  /** Connection and replay events (bounded per reader, oldest dropped; see Status). */
  status(): AsyncIterableIterator<Status> {
    return this.#core.status();
  }

  /**
   * The pod, service or node of this scope that held `ip` at `atNs` (default now), within
   * retention (docs/design.md §8). A node scope knows only its node's pods and their services.
   */
  resolveIp(ip: string, atNs?: TimeNs): IpOwner | undefined {
    return this.#core.state.resolveIp(ip, atNs ?? timeNsFromMs(this.#core.config.clock.now()));
  }

  /** Saves the state now (with persistDir); resolves false when nothing needed saving. */
  save(): Promise<boolean> {
    return this.#core.save();
  }

  close(): Promise<void> {
    return this.#core.close();
  }

  /**
   * Lets a replay in flight finish (up to `drainTimeoutMs`, or until `signal` aborts), saves
   * the state (with persistDir), then closes.
   */
  drain(signal?: AbortSignal): Promise<void> {
    return this.#core.drain(signal);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#core.close();
  }
}
