/**
 * The LMDB store opened for reading only (`kubemeta debug store`, `kubemeta debug scope
 * --store`): nothing in the store's directory is created or written.
 *
 * LMDB keeps its reader table in `lock.mdb`, and even a read-only environment registers there
 * (and creates the file if it is missing). Two cases:
 *
 * - **No process has the store open** (a stopped service, a copied volume): the data file is
 *   opened read-only through a symlink in a private temporary directory, with the lock file
 *   there (`noSubdir`: the lock file is `<data file>-lock`). The store's directory is left byte
 *   for byte as it was. No writer exists whose page reuse the private reader table would have
 *   to hold back.
 * - **A process holds it** (`kubemeta serve` running; seen as a POSIX lock on `lock.mdb` in
 *   /proc/locks, which every LMDB environment holds while open): the store is opened read-only
 *   in its own directory, as the concurrent reader LMDB is made for. Registering in the shared
 *   reader table is what keeps the writer from reusing the pages this reader still reads; the
 *   data file is not written, only the reader table in `lock.mdb` changes (a slot taken and
 *   freed). A private lock file here would let the writer overwrite pages under the reader.
 *
 * Where /proc/locks cannot be read (not Linux), the store counts as held: the safe choice.
 */
import { mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { LogErrorCode, StoreError } from '../errors.ts';
import { checkRange, type ScanOptions, type StoreReader } from '../store.ts';

/** A store opened only to read it. */
export interface ReadOnlyStore extends StoreReader {
  readonly backend: string;
  readonly location: string;
  /** How it was opened, for the operator (LMDB: `private-lock` or `shared-reader (pid …)`). */
  readonly access: string;
  close(): Promise<void>;
}

type Db = RootDatabase<Uint8Array, string>;

function openFailed(message: string, cause?: unknown): StoreError {
  return new StoreError(LogErrorCode.STORE_OPEN_FAILED, message, { backend: 'lmdb' }, { cause });
}

/** Opens the LMDB store in `path` read-only (see the file comment). Throws LOG_STORE_OPEN_FAILED. */
export async function openLmdbReadOnly(path: string): Promise<ReadOnlyStore> {
  const dir = resolve(path);
  const dataFile = join(dir, 'data.mdb');
  let isFile: boolean;
  try {
    isFile = (await stat(dataFile)).isFile();
  } catch (err) {
    throw openFailed(`no LMDB store in ${dir}: ${dataFile} cannot be read (${(err as Error).message}); give the directory of --store lmdb:<dir>`, err);
  }
  if (!isFile) throw openFailed(`no LMDB store in ${dir}: ${dataFile} is not a file; give the directory of --store lmdb:<dir>`, undefined);
  const holders = await lockHolders(join(dir, 'lock.mdb'));
  if (holders !== undefined && holders.length === 0) {
    const tmp = await mkdtemp(join(tmpdir(), 'kubemeta-debug-lmdb-'));
    try {
      await symlink(dataFile, join(tmp, 'data.mdb'));
      const db = openDb(join(tmp, 'data.mdb'), true, dir);
      return new LmdbReadOnly(db, dir, 'private-lock', () => rm(tmp, { recursive: true, force: true }));
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }
  const who = holders === undefined ? 'unknown holders: /proc/locks unreadable' : `pid ${holders.join(', ')}`;
  return new LmdbReadOnly(openDb(dir, false, dir), dir, `shared-reader (store held by ${who})`, async () => undefined);
}

function openDb(path: string, noSubdir: boolean, shown: string): Db {
  try {
    return open<Uint8Array, string>({ path, encoding: 'binary', readOnly: true, noSubdir });
  } catch (err) {
    throw openFailed(`cannot open the LMDB store in ${shown} read-only: ${String(err)}; check that this user may read data.mdb (and, while the service runs, lock.mdb)`, err);
  }
}

/**
 * Pids holding a POSIX lock on `lockFile` according to /proc/locks (`id: POSIX ADVISORY READ
 * pid maj:min:inode start end`); [] when none (or the file does not exist), undefined when
 * /proc/locks cannot be read. A pid in another pid namespace shows as 0 or its own number:
 * either way, the lock means a live environment.
 */
export async function lockHolders(lockFile: string): Promise<number[] | undefined> {
  let ino: number;
  try {
    ino = (await stat(lockFile)).ino;
  } catch {
    return [];
  }
  let text: string;
  try {
    text = await readFile('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  const pids: number[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // "1: POSIX  ADVISORY  READ 2084 fe:00:4244046 0 0"; blocked waiters are prefixed "->".
    const dev = f.find((x) => /^[0-9a-f]+:[0-9a-f]+:\d+$/.test(x));
    if (dev === undefined || Number(dev.split(':')[2]) !== ino) continue;
    const pid = Number(f[f.indexOf(dev) - 1]);
    if (Number.isInteger(pid) && !pids.includes(pid)) pids.push(pid);
  }
  return pids;
}

class LmdbReadOnly implements ReadOnlyStore {
  readonly backend = 'lmdb';
  readonly location: string;
  readonly access: string;
  readonly #db: Db;
  readonly #cleanup: () => Promise<unknown>;
  #closed = false;

  constructor(db: Db, location: string, access: string, cleanup: () => Promise<unknown>) {
    this.#db = db;
    this.location = location;
    this.access = access;
    this.#cleanup = cleanup;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.#check();
    return this.#db.get(key);
  }

  async getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    this.#check();
    return keys.map((k) => this.#db.get(k));
  }

  async scan(options: ScanOptions): Promise<Array<[string, Uint8Array]>> {
    this.#check();
    checkRange(options, this.backend);
    const { start, end, limit, reverse } = options;
    if (!(start < end) || limit === 0) return [];
    // lmdb-js reverse ranges start at the upper bound: exclude `end` itself, include `start`.
    const range = reverse ? { start: end, end: start, reverse: true, exclusiveStart: true, inclusiveEnd: true } : { start, end };
    const out: Array<[string, Uint8Array]> = [];
    for (const { key, value } of this.#db.getRange({ ...range, ...(limit === undefined ? {} : { limit }) })) out.push([key, value]);
    return out;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#db.close();
    await this.#cleanup();
  }

  #check(): void {
    if (this.#closed) throw new StoreError(LogErrorCode.STORE_CLOSED, 'the read-only LMDB store is closed', { backend: 'lmdb' });
  }
}
