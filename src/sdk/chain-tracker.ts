import type { Clock } from '../core/index.ts';
import type { StreamId, UpdateFrame, Version } from '../schema/index.ts';
import type { ChainBuffer, DrainOutcome } from './chain-buffer.ts';
import { ReplayLostError } from './errors.ts';
import type { AppliedUpdate, ScopeSink } from './local-state.ts';
import { decodeApplied, type SnapshotStaging } from './snapshot-staging.ts';
import type { BootstrapReason, StatusHub } from './status.ts';

/**
 * How long heartbeats must keep showing a head behind the position before the client decides
 * the service's store went back. Longer than a heartbeat can be in flight behind a replay answer.
 */
const REWIND_CONFIRM_MS = 3_000;

export interface ChainTrackerOptions {
  readonly sink: ScopeSink;
  readonly status: StatusHub;
  readonly clock: Clock;
  /** The scope as text, for error messages. */
  readonly scopeText: string;
  /** Resume from persisted state instead of bootstrapping. */
  readonly resume?: { readonly streamId: StreamId; readonly position: Version } | undefined;
  /** An update this SDK cannot decode: reported, skipped, the chain kept. */
  readonly onUndecodable: (problem: string, cause: unknown) => void;
}

/** What a heartbeat's head says about the chain (see `ChainTracker.heartbeatHead`). */
export type HeartbeatHeadVerdict = 'current' | 'behind' | 'rewound';

/** Counters of what the tracker applied and skipped. */
export interface ChainCounts {
  readonly applied: number;
  readonly duplicates: number;
  readonly snapshots: number;
  readonly streamResets: number;
}

/**
 * One scope's position on the service's chain (wire-protocol §6): which stream the state comes
 * from, the last version applied, the newest head seen. Applies updates only in chain order
 * into the sink, skips duplicates (versions at or below the position: at-least-once delivery,
 * replay overlap, design §3), reports where a gap starts (design §2) and notices when the
 * service's store went back (a rewind).
 */
export class ChainTracker {
  readonly #sink: ScopeSink;
  readonly #status: StatusHub;
  readonly #clock: Clock;
  readonly #scopeText: string;
  readonly #onUndecodable: (problem: string, cause: unknown) => void;
  #streamId: StreamId | undefined;
  #position: Version = 0;
  #latestHead: Version = 0;
  #bootstrapReason: BootstrapReason = 'new';
  /** When heartbeats started to show a head behind the position (see heartbeatHead). */
  #behindSince: number | undefined;
  readonly #counts = { applied: 0, duplicates: 0, snapshots: 0, streamResets: 0 };

  constructor(options: ChainTrackerOptions) {
    this.#sink = options.sink;
    this.#status = options.status;
    this.#clock = options.clock;
    this.#scopeText = options.scopeText;
    this.#onUndecodable = options.onUndecodable;
    if (options.resume) {
      this.#streamId = options.resume.streamId;
      this.#position = options.resume.position;
    }
  }

  /** The stream the state comes from; undefined until a snapshot (or resume) gives one. */
  get streamId(): StreamId | undefined {
    return this.#streamId;
  }
  /** The last version applied on the scope (0: none). */
  get position(): Version {
    return this.#position;
  }
  /** The newest head seen in batches, heartbeats and replay answers. */
  get latestHead(): Version {
    return this.#latestHead;
  }
  /** Why the next bootstrap happens ('new' unless the position was dropped). */
  get bootstrapReason(): BootstrapReason {
    return this.#bootstrapReason;
  }
  counts(): ChainCounts {
    return { ...this.#counts };
  }

  /** A head announced by a batch, heartbeat or answer. */
  seeHead(head: Version): void {
    this.#latestHead = Math.max(this.#latestHead, head);
  }

  /**
   * Applies a live batch's frames in order (duplicates skipped). Returns the index of the
   * first frame that does not chain on the position (a gap starts there), or frames.length.
   */
  applyLive(frames: readonly UpdateFrame[]): number {
    const last = frames[frames.length - 1];
    if (last) this.seeHead(last.version);
    let i = 0;
    for (const f of frames) {
      if (f.version <= this.#position) this.#counts.duplicates++;
      else if (f.prevVersion === this.#position) this.#apply(f);
      else return i;
      i++;
    }
    return frames.length;
  }

  /** After a replay: applies what the buffer holds and now chains on, in version order. */
  applyHeld(buffer: ChainBuffer): DrainOutcome {
    if (this.#streamId === undefined) return { kind: 'empty' };
    const apply = (f: UpdateFrame): Version => (this.#apply(f), this.#position);
    return buffer.drain(this.#streamId, this.#position, apply, () => this.#counts.duplicates++);
  }

  /**
   * Tail updates of an answer: the service sends exactly the updates after our `after`, so the
   * first may chain on a version below the position (one not on this scope's chain); after
   * that each chains on the one before. Anything else means the answer is broken: ask again.
   */
  applyTail(streamId: StreamId, frames: readonly UpdateFrame[]): void {
    if (streamId !== this.#streamId) throw new ReplayLostError(this.#scopeText, `tail from stream ${streamId} while the state is from ${this.#streamId ?? 'none'}`);
    for (const f of frames) {
      if (f.version <= this.#position) this.#counts.duplicates++;
      else if (f.prevVersion <= this.#position) this.#apply(f);
      else throw new ReplayLostError(this.#scopeText, `tail update ${f.version} follows ${f.prevVersion}, not ${this.#position}`);
    }
  }

  /** Replaces the state with a complete snapshot (design §4); it may come from a new stream. */
  applySnapshot(staging: SnapshotStaging): void {
    const from = this.#streamId;
    if (from !== undefined && from !== staging.streamId) {
      this.#counts.streamResets++;
      this.#status.emit({ type: 'streamReset', from, to: staging.streamId });
    }
    this.#sink.applySnapshot(staging.entries, staging.version, staging.streamId);
    if (from !== staging.streamId) this.#latestHead = 0;
    this.#streamId = staging.streamId;
    this.#position = staging.version;
    this.seeHead(staging.version);
    this.#counts.snapshots++;
    this.#bootstrapReason = 'new';
    this.#status.emit({
      type: 'snapshotApplied', version: staging.version, streamId: staging.streamId, objects: staging.entries.length, durationMs: this.#clock.now() - staging.startedMs,
    });
  }

  /** An answer's end marker: the answer brought us to `lastVersion` (§6 step 2). */
  endAnswer(streamId: StreamId, head: Version, lastVersion: Version): void {
    if (streamId !== this.#streamId) throw new ReplayLostError(this.#scopeText, `an answer from stream ${streamId} without a snapshot`);
    this.seeHead(head);
    if (lastVersion > this.#position) {
      this.#position = lastVersion;
      this.#sink.setPosition(this.#streamId, this.#position);
    }
  }

  /**
   * A heartbeat of this stream announced `head`. A head behind the position proves nothing at
   * first: the heartbeat may have been published before the replay answer that moved our
   * position was read (the answer comes on our inbox, the heartbeat on the scope subject: no
   * order between them). Heartbeats still behind REWIND_CONFIRM_MS later mean the service's
   * store went back (restored from an older copy): the versions after its head will be issued
   * again for other updates, which we would skip as duplicates. That is 'rewound', reported
   * only when `canRebootstrap` (no replay in flight); the caller then drops the position.
   */
  heartbeatHead(head: Version, canRebootstrap: boolean): HeartbeatHeadVerdict {
    if (head < this.#position) {
      const now = this.#clock.now();
      this.#behindSince ??= now;
      if (now - this.#behindSince >= REWIND_CONFIRM_MS && canRebootstrap) {
        this.#behindSince = undefined;
        return 'rewound';
      }
      return 'behind';
    }
    this.#behindSince = undefined;
    this.seeHead(head);
    return 'current';
  }

  /** Forgets the position (the state stays visible until the snapshot replaces it). */
  drop(reason: BootstrapReason): void {
    this.#streamId = undefined;
    this.#position = 0;
    this.#latestHead = 0;
    this.#bootstrapReason = reason;
    this.#sink.setPosition(undefined, 0);
  }

  #apply(f: UpdateFrame): void {
    let update: AppliedUpdate | undefined;
    try {
      update = decodeApplied(f);
    } catch (cause) {
      // An update this SDK cannot read (a newer schema's kind): skip it but keep the chain,
      // otherwise every later update would look like a gap.
      this.#onUndecodable(`update version ${f.version} does not decode`, cause);
    }
    if (update) {
      this.#sink.apply(update);
      this.#counts.applied++;
    }
    this.#position = f.version;
    this.#sink.setPosition(this.#streamId, f.version);
  }
}
