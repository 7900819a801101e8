// Store wrappers that misbehave on command (style.md §11), for the log half of the conformance
// suite: they work over any backend, so every backend is tested with the same faults.
import {
  LogErrorCode,
  StoreError,
  type CommitGuard,
  type ScanOptions,
  type StoreLimits,
  type StoreOp,
  type StoreView,
  type UpdateStore,
} from '../../src/log/index.ts';

export type FaultMode =
  /** Pass through (to fail a later commit). */
  | 'ok'
  /** Throw before the inner store sees the commit (definitely not applied). */
  | 'fail'
  /** Let the inner commit apply, then throw an ambiguous StoreError (an etcd timeout after the Txn applied). */
  | 'apply-then-fail'
  /** Throw a plain Error (a backend breaking its contract); the log must treat it as unknown outcome. */
  | 'throw-plain';

export class FaultyStore implements UpdateStore {
  readonly inner: UpdateStore;
  readonly limits: StoreLimits;
  #faults: FaultMode[] = [];
  /** Commits that reached this wrapper (including failed ones). */
  commits = 0;

  constructor(inner: UpdateStore, limits?: Partial<StoreLimits>) {
    this.inner = inner;
    this.limits = { ...inner.limits, ...limits };
  }

  get backend(): string {
    return this.inner.backend;
  }

  get location(): string {
    return this.inner.location;
  }

  /** The next commits fail as listed, in order. */
  failNext(...modes: FaultMode[]): void {
    this.#faults.push(...modes);
  }

  /** Fails the commit after `n` more successful ones. */
  failAfter(n: number, mode: FaultMode = 'fail'): void {
    this.#faults.push(...Array.from({ length: n }, (): FaultMode => 'ok'), mode);
  }

  async commit(ops: readonly StoreOp[], guards?: readonly CommitGuard[]): Promise<void> {
    this.commits++;
    const fault = this.#faults.shift();
    if (fault === 'fail') {
      throw new StoreError(LogErrorCode.COMMIT_FAILED, 'injected commit failure', { backend: this.backend });
    }
    if (fault === 'throw-plain') throw new Error('injected plain error');
    if (ops.length > this.limits.maxOpsPerCommit) {
      throw new StoreError(LogErrorCode.COMMIT_INVALID, `too many ops: ${ops.length}`, { backend: this.backend });
    }
    await this.inner.commit(ops, guards);
    if (fault === 'apply-then-fail') {
      throw new StoreError(LogErrorCode.COMMIT_FAILED, 'injected: applied, then the reply was lost', {
        backend: this.backend,
        ambiguous: true,
      });
    }
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }

  getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    return this.inner.getMany(keys);
  }

  scan(options: ScanOptions): Promise<Array<[string, Uint8Array]>> {
    return this.inner.scan(options);
  }

  readView(): Promise<StoreView> {
    return this.inner.readView();
  }

  sizeBytes(): Promise<number> {
    return this.inner.sizeBytes();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
