import { decodeResourceUpdate, updateIdentity, type StreamId, type UpdateFrame, type Version } from '../schema/index.ts';
import type { AppliedUpdate } from './local-state.ts';

/** Decodes a frame's payload into what the state applies; throws SchemaError. */
export function decodeApplied(frame: UpdateFrame): AppliedUpdate {
  const update = decodeResourceUpdate(frame.payload);
  return { version: frame.version, update, identity: updateIdentity(update) };
}

/**
 * The entries of a snapshot being received (wire-protocol §7): decoded as the chunks arrive,
 * applied all at once at snapshot_end so that the state is replaced atomically (docs/design.md §4).
 * Its size is the scope's size, which the state will hold anyway.
 */
export class SnapshotStaging {
  readonly version: Version;
  readonly streamId: StreamId;
  readonly startedMs: number;
  readonly entries: AppliedUpdate[] = [];

  constructor(version: Version, streamId: StreamId, startedMs: number) {
    this.version = version;
    this.streamId = streamId;
    this.startedMs = startedMs;
  }

  /** Stages frames; one that does not decode is reported to `onBad` and skipped. */
  add(frames: readonly UpdateFrame[], onBad: (frame: UpdateFrame, cause: unknown) => void): void {
    for (const f of frames) {
      try {
        this.entries.push(decodeApplied(f));
      } catch (cause) {
        onBad(f, cause);
      }
    }
  }
}
