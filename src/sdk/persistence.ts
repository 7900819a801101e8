import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createResourceUpdate,
  decodeResourceUpdate,
  encodeResourceUpdate,
  escapeSubjectToken,
  isKind,
  isStreamId,
  isVersion,
  kinds,
  updateIdentity,
  type Kind,
  type ResourceUpdateInit,
  type StreamId,
  type Version,
} from '../schema/index.ts';
import type { KubeObject } from './changes.ts';
import { PersistenceError } from './errors.ts';
import type { GoneReason, StateRecord } from './state-view.ts';

const FORMAT = 1;

/** What a client keeps on disk: its state, position and stream id (and the agent's processes). */
export interface PersistedState {
  readonly cluster: string;
  readonly scope: string;
  readonly streamId: StreamId;
  readonly position: Version;
  readonly savedAtMs: number;
  readonly records: ReadonlyArray<Omit<StateRecord, 'epoch'>>;
  /** Registered processes: [pid, start time ticks, container id]. */
  readonly processes: ReadonlyArray<readonly [number, number, string]>;
}

interface FileObject {
  k: string;
  v: number;
  p: string;
  g?: GoneReason;
  x?: number;
}

interface FileFormat {
  format: number;
  cluster: string;
  scope: string;
  streamId: string;
  position: number;
  savedAtMs: number;
  objects: FileObject[];
  processes?: Array<[number, number, string]>;
}

export type LoadResult =
  | { readonly kind: 'loaded'; readonly state: PersistedState }
  | { readonly kind: 'missing' }
  | { readonly kind: 'invalid'; readonly error: PersistenceError };

const GONE = new Set<GoneReason>(['deleted', 'exited', 'absent']);

/**
 * Local persistence of one client's scope state, so that an agent restart resumes with a tail
 * replay after its last version instead of a snapshot (wire-protocol §6 step 2). One JSON file
 * per (cluster, scope) in `dir`; payloads are the wire bytes (base64) re-encoded from the
 * state. Writes are atomic: a temporary file is written and fsynced, renamed over the old one,
 * and the directory fsynced — a crash leaves the old file or the new one, never half of one.
 * A file that does not parse, is from another cluster or scope, or whose stream id differs from
 * the service's, is discarded (docs/design.md §7): the client then bootstraps by snapshot.
 */
export class StatePersistence {
  readonly dir: string;
  readonly path: string;
  readonly #cluster: string;
  readonly #scope: string;

  constructor(dir: string, cluster: string, scope: string) {
    this.dir = dir;
    this.#cluster = cluster;
    this.#scope = scope;
    this.path = join(dir, `kubemeta-${escapeSubjectToken(cluster)}-${escapeSubjectToken(scope)}.json`);
  }

  async load(): Promise<LoadResult> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      return { kind: 'invalid', error: new PersistenceError(this.path, 'cannot be read', { cause: err }) };
    }
    try {
      return { kind: 'loaded', state: this.#parse(JSON.parse(text) as unknown) };
    } catch (err) {
      const error = err instanceof PersistenceError ? err : new PersistenceError(this.path, 'is not a kubemeta state file', { cause: err });
      return { kind: 'invalid', error };
    }
  }

  /** Writes `state` atomically (temp file, fsync, rename, directory fsync). */
  async save(state: PersistedState): Promise<void> {
    const file: FileFormat = {
      format: FORMAT,
      cluster: state.cluster,
      scope: state.scope,
      streamId: state.streamId,
      position: state.position,
      savedAtMs: state.savedAtMs,
      objects: state.records.map(toFileObject),
      processes: state.processes.map(([pid, ticks, cid]) => [pid, ticks, cid]),
    };
    const tmp = `${this.path}.tmp-${process.pid}`;
    try {
      await mkdir(this.dir, { recursive: true });
      const handle = await open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(JSON.stringify(file));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.path);
      await syncDir(this.dir);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw new PersistenceError(this.path, 'could not be written (disk full? permissions?)', { cause: err });
    }
  }

  async discard(): Promise<void> {
    await rm(this.path, { force: true });
  }

  #parse(value: unknown): PersistedState {
    const f = value as Partial<FileFormat>;
    const bad = (problem: string): PersistenceError => new PersistenceError(this.path, problem);
    if (typeof f !== 'object' || f === null || f.format !== FORMAT) throw bad(`has format ${String(f?.format)}, expected ${FORMAT}`);
    if (f.cluster !== this.#cluster || f.scope !== this.#scope) throw bad(`belongs to ${String(f.cluster)}/${String(f.scope)}`);
    if (!isStreamId(f.streamId) || !isVersion(f.position) || typeof f.savedAtMs !== 'number' || !Array.isArray(f.objects)) {
      throw bad('lacks a valid stream id, position, time or objects');
    }
    const processes = Array.isArray(f.processes) ? f.processes.filter(isProcess) : [];
    return {
      cluster: f.cluster,
      scope: f.scope,
      streamId: f.streamId,
      position: f.position,
      savedAtMs: f.savedAtMs,
      records: f.objects.map((o) => fromFileObject(o, bad)),
      processes,
    };
  }
}

function toFileObject(r: Omit<StateRecord, 'epoch'>): FileObject {
  const init = { object: { case: kinds[r.kind].update, value: r.object } } as unknown as ResourceUpdateInit;
  const out: FileObject = { k: r.kind, v: r.version, p: Buffer.from(encodeResourceUpdate(createResourceUpdate(init))).toString('base64') };
  if (r.gone !== undefined) out.g = r.gone;
  if (r.expiresAtMs !== undefined) out.x = r.expiresAtMs;
  return out;
}

function fromFileObject(o: FileObject, bad: (problem: string) => PersistenceError): Omit<StateRecord, 'epoch'> {
  if (typeof o !== 'object' || o === null || !isKind(o.k) || !isVersion(o.v) || typeof o.p !== 'string') throw bad('holds a malformed object');
  const update = decodeResourceUpdate(new Uint8Array(Buffer.from(o.p, 'base64')));
  const identity = updateIdentity(update);
  if (identity.kind !== o.k || identity.scopeExit) throw bad(`holds a ${identity.kind} where a ${o.k} was recorded`);
  const gone = o.g !== undefined && GONE.has(o.g) ? o.g : undefined;
  return {
    kind: o.k as Kind,
    uid: identity.uid,
    version: o.v,
    object: update.object.value as KubeObject,
    gone,
    expiresAtMs: gone !== undefined && typeof o.x === 'number' ? o.x : undefined,
  };
}

function isProcess(p: unknown): p is [number, number, string] {
  return Array.isArray(p) && p.length === 3 && Number.isInteger(p[0]) && Number.isSafeInteger(p[1]) && typeof p[2] === 'string' && p[2] !== '';
}

async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  }
}
