import { emptyProjection, type Projector, type SourceKind } from '../project/index.ts';
import type { ObjectEventType } from '../core/index.ts';
import type { RawObject, ReflectorSink } from '../source/index.ts';
import type { GroupCommitter } from './group-committer.ts';

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
  static resumeKey(kind: string, namespace: string | undefined): string {
    return namespace === undefined ? kind : `${kind}@${namespace}`;
  }

  async listStart(kind: string): Promise<void> {
    this.#projector.listStart(kind as SourceKind, this.#namespace);
  }

  async listPage(kind: string, items: readonly RawObject[]): Promise<void> {
    const out = emptyProjection();
    for (const item of items) this.#projector.listObject(kind as SourceKind, item, out, this.#namespace);
    // No resourceVersion until the LIST is complete: a crash mid-list lists again.
    await this.#committer.add(out);
  }

  async listDone(kind: string, resourceVersion: string): Promise<void> {
    const out = this.#projector.listDone(kind as SourceKind, undefined, this.#namespace);
    await this.#committer.add(out, Ingest.resumeKey(kind, this.#namespace), resourceVersion);
  }

  async event(kind: string, type: ObjectEventType, object: RawObject): Promise<void> {
    const out = this.#projector.apply(kind as SourceKind, type, object);
    const rv = object.metadata?.resourceVersion;
    await this.#committer.add(out, Ingest.resumeKey(kind, this.#namespace), typeof rv === 'string' && rv !== '' ? rv : undefined);
  }

  async bookmark(kind: string, resourceVersion: string): Promise<void> {
    await this.#committer.add(emptyProjection(), Ingest.resumeKey(kind, this.#namespace), resourceVersion);
  }
}
