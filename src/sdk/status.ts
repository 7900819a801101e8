import { channel, type Channel } from 'node:diagnostics_channel';
import { silentLogger, type Clock, type Logger } from '../core/index.ts';
import type { StreamId, Version } from '../schema/index.ts';
import { DropQueue } from './drop-queue.ts';

/** Why a bootstrap (replay from version 0, answered by a snapshot) started. */
export type BootstrapReason = 'new' | 'streamReset' | 'versionInFuture';

/** Why the client saw (or suspects) missing updates. */
export type GapReason =
  /** A batch's prevVersion is not the position (docs/design.md §2). */
  | 'chain'
  /** A heartbeat announced a head beyond the position. */
  | 'heartbeat'
  /** The out-of-order buffer overflowed and was dropped. */
  | 'overflow'
  /** The NATS connection came back: messages published meanwhile are lost. */
  | 'reconnect';

interface StatusBase {
  /** The scope in wire form: "cluster" or "node/<name>". */
  readonly scope: string;
  /** When it happened, ms since the epoch on the client's clock. */
  readonly atMs: number;
}

/**
 * What a client reports about its connection and replay (style habit 6): a tagged union on
 * `type`. Read with `client.status()`, or subscribe to the diagnostics channel
 * `kubemeta:sdk:<type>` (e.g. `kubemeta:sdk:gap`) from anywhere in the process.
 */
export type Status =
  | (StatusBase & { readonly type: 'connected'; readonly server: string | undefined })
  | (StatusBase & { readonly type: 'bootstrapStarted'; readonly reason: BootstrapReason })
  | (StatusBase & {
      readonly type: 'snapshotApplied';
      readonly version: Version;
      readonly streamId: StreamId;
      readonly objects: number;
      readonly durationMs: number;
    })
  | (StatusBase & {
      readonly type: 'gap';
      readonly reason: GapReason;
      /** The position when the gap was seen. */
      readonly position: Version;
      /** The version that did not chain on, or the head announced. */
      readonly seen: Version;
    })
  | (StatusBase & { readonly type: 'replayStarted'; readonly after: Version; readonly bootstrap: boolean })
  | (StatusBase & {
      readonly type: 'replayDone';
      readonly position: Version;
      readonly head: Version;
      readonly requests: number;
      readonly updates: number;
      readonly durationMs: number;
    })
  | (StatusBase & {
      readonly type: 'streamReset';
      /** The stream the dropped state came from (undefined: none). */
      readonly from: StreamId | undefined;
      readonly to: StreamId;
    })
  | (StatusBase & { readonly type: 'reconnect' })
  | (StatusBase & { readonly type: 'disconnect' })
  | (StatusBase & { readonly type: 'inSync'; readonly position: Version; readonly head: Version })
  /** New NATS credentials from the credential issuer (serviceAccountTokenFile): the node they are for and when they expire. */
  | (StatusBase & { readonly type: 'credentials'; readonly node: string; readonly expiresAtMs: number })
  | (StatusBase & {
      readonly type: 'error';
      readonly error: Error;
      /** When the client tries again, if it does (ms); undefined when nothing is retried. */
      readonly retryInMs: number | undefined;
    });

export type StatusType = Status['type'];

export const STATUS_TYPES: readonly StatusType[] = Object.freeze([
  'connected', 'bootstrapStarted', 'snapshotApplied', 'gap', 'replayStarted', 'replayDone', 'streamReset',
  'reconnect', 'disconnect', 'inSync', 'credentials', 'error',
]);

/** The diagnostics channel name of a status type: `kubemeta:sdk:<type>`. */
export function statusChannelName(type: StatusType): string {
  return `kubemeta:sdk:${type}`;
}

type StatusInit = Status extends infer S ? (S extends Status ? Omit<S, 'atMs' | 'scope'> : never) : never;

export interface StatusHubOptions {
  scope: string;
  clock: Clock;
  logger?: Logger;
  /** Events buffered per reader before the oldest are dropped. */
  capacity: number;
}

const channels = new Map<StatusType, Channel>();
function channelOf(type: StatusType): Channel {
  let c = channels.get(type);
  if (!c) channels.set(type, (c = channel(statusChannelName(type))));
  return c;
}

/**
 * Fans status events out to every `status()` reader (each with its own bounded, drop-oldest
 * buffer: a slow reader loses old events, never blocks the client), to the diagnostics
 * channels, and to the optional logger (libraries emit, the service logs: habit 12).
 */
export class StatusHub implements AsyncDisposable {
  readonly #scope: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #capacity: number;
  readonly #readers = new Set<DropQueue<Status>>();
  #closedDropped = 0;
  #closed = false;

  constructor(options: StatusHubOptions) {
    this.#scope = options.scope;
    this.#clock = options.clock;
    this.#logger = options.logger ?? silentLogger;
    this.#capacity = options.capacity;
  }

  /** Status events lost by slow readers (all readers, also ones that stopped). */
  get dropped(): number {
    let n = this.#closedDropped;
    for (const r of this.#readers) n += r.dropped;
    return n;
  }

  emit(init: StatusInit): void {
    const status = { ...init, scope: this.#scope, atMs: this.#clock.now() } as Status;
    for (const r of this.#readers) r.push(status);
    const c = channelOf(status.type);
    if (c.hasSubscribers) c.publish(status);
    this.#log(status);
  }

  /** A new reader; events emitted from now on. Ends when the client closes. */
  status(): AsyncIterableIterator<Status> {
    const reader: DropQueue<Status> = new DropQueue<Status>({
      capacity: this.#capacity,
      policy: 'dropOldest',
      onClose: () => {
        this.#readers.delete(reader);
        this.#closedDropped += reader.dropped;
      },
    });
    if (this.#closed) reader.close();
    else this.#readers.add(reader);
    return reader;
  }

  close(): void {
    this.#closed = true;
    for (const r of [...this.#readers]) r.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  #log(s: Status): void {
    const { atMs: _at, ...fields } = s;
    switch (s.type) {
      case 'error':
        this.#logger.warn({ ...fields, err: s.error, error: undefined }, 'kubemeta client error');
        return;
      case 'streamReset':
        this.#logger.warn(fields, 'stream id changed: state dropped, bootstrapping by snapshot');
        return;
      case 'gap':
        this.#logger.info(fields, 'missing updates detected; replaying');
        return;
      default:
        this.#logger.debug(fields, s.type);
    }
  }
}
