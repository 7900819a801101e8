import { emptyProjection, type Projector, type SourceKind } from '../project/index.ts';
import type { ObjectEventType } from '../core/index.ts';
import type { RawObject, ReflectorSink, WatchedKindName } from '../source/index.ts';
import type { GroupCommitter } from './group-committer.ts';

/**
 * The source watches exactly the kinds the projector accepts: a kind added on one side only
 * fails to compile here.
 */
type SameKinds = [WatchedKindName] extends [SourceKind] ? ([SourceKind] extends [WatchedKindName] ? true : false) : false;
const sameKinds: SameKinds = true;
void sameKinds;

/**
 * The seam between source and log: every reflector delivers here, the projector turns what
 * arrives into updates, and the group committer makes them durable with the resourceVersion
 * they bring the kind to. Awaiting the committer gives the reflectors backpressure.
 */
export class Ingest implements ReflectorSink {
  readonly #projector: Projector;
  readonly #committer: GroupCommitter;
  readonly #namespace: string | undefined;

  /** `namespace`: this sink serves a reflector that watches only that namespace. */
  constructor(projector: Projector, committer: GroupCommitter, namespace?: string) {
    this.#projector = projector;
    this.#committer = committer;
    this.#namespace = namespace;
  }

  /** The key the kind's resume position is stored under. */
  static resumeKey(kind: WatchedKindName, namespace: string | undefined): string {
    return namespace === undefined ? kind : `${kind}@${namespace}`;
  }

  async listStart(kind: WatchedKindName): Promise<void> {
    this.#projector.listStart(kind, this.#namespace);
  }

  async listPage(kind: WatchedKindName, items: readonly RawObject[]): Promise<void> {
    const out = emptyProjection();
    this.#projector.listPage(kind, items, out, this.#namespace);
    // No resourceVersion until the LIST is complete: a crash mid-list lists again.
    await this.#committer.add(out);
  }

  async listDone(kind: WatchedKindName, resourceVersion: string): Promise<void> {
    const out = this.#projector.listDone(kind, undefined, this.#namespace);
    await this.#committer.add(out, Ingest.resumeKey(kind, this.#namespace), resourceVersion);
  }

  async event(kind: WatchedKindName, type: ObjectEventType, object: RawObject): Promise<void> {
    const out = this.#projector.apply(kind, type, object);
    const rv = object.metadata?.resourceVersion;
    await this.#committer.add(out, Ingest.resumeKey(kind, this.#namespace), typeof rv === 'string' && rv !== '' ? rv : undefined);
  }

  async bookmark(kind: WatchedKindName, resourceVersion: string): Promise<void> {
    await this.#committer.add(emptyProjection(), Ingest.resumeKey(kind, this.#namespace), resourceVersion);
  }
}
