import { silentLogger, toError, type Logger } from '../core/index.ts';
import type { UpdateLog } from '../log/index.ts';
import type { Projector } from '../project/index.ts';
import { captureImage } from './restore.ts';

/**
 * When to write a new projector image while running: after this many versions since the last
 * one, at most this often. A restart replays the cluster scope's history after the image, so
 * what a kill -9 costs more than a graceful stop grows with both; an image at 150,000 pods is
 * 252 MB, so writing one every 15 s under steady churn would write 17 MB/s: once a minute is
 * 4 MB/s, and leaves at most a minute of churn to replay (at 1,500 updates/s, 90,000).
 */
export const IMAGE_EVERY_VERSIONS = 20_000;
export const IMAGE_MIN_INTERVAL_MS = 60_000;
const CHECK_INTERVAL_MS = 1_000;

export interface ImageKeeperOptions {
  path: string;
  log: UpdateLog;
  projector: Projector;
  /**
   * True when the projector equals the store at the log's head (nothing projected waits to be
   * committed) and the service is past its initial sync: the only moments an image may be taken.
   */
  quiet: () => boolean;
  /** The version of the image on disk, when the start restored from one. */
  imageHead?: number;
  logger?: Logger;
  everyVersions?: number;
  minIntervalMs?: number;
}

/**
 * Keeps the projector image (projector-image.ts) recent: writes one at the first quiet moment
 * after the initial sync, then whenever enough has changed, and a last one at a graceful stop.
 * One write at a time; a failed write is logged and leaves the previous image, which stays
 * valid (a restart replays more history after it).
 */
export class ImageKeeper {
  readonly #options: ImageKeeperOptions;
  readonly #log: Logger;
  #imageHead: number | undefined;
  #lastWriteAt = 0;
  #writing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #writes = 0;
  #failures = 0;

  constructor(options: ImageKeeperOptions) {
    this.#options = options;
    this.#log = (options.logger ?? silentLogger).child({ module: 'image' });
    this.#imageHead = options.imageHead;
  }

  start(): void {
    this.#timer ??= setInterval(() => this.#check(), CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  stats(): { imageHead: number | undefined; writes: number; failures: number } {
    return { imageHead: this.#imageHead, writes: this.#writes, failures: this.#failures };
  }

  /** Stops the periodic writes; then, if `final`, writes one for the log's head now (graceful stop). */
  async stop(final: boolean): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    if (final && this.#imageHead !== this.#options.log.head) await this.#write();
  }

  #check(): void {
    if (this.#writing || !this.#options.quiet()) return;
    const head = this.#options.log.head;
    const due =
      this.#imageHead === undefined ||
      (head - this.#imageHead >= (this.#options.everyVersions ?? IMAGE_EVERY_VERSIONS) && performance.now() - this.#lastWriteAt >= (this.#options.minIntervalMs ?? IMAGE_MIN_INTERVAL_MS));
    if (due) void this.#write();
  }

  /** Captures now (synchronously: the caller made sure the projector equals the store), writes after. */
  #write(): Promise<void> {
    const started = performance.now();
    const capture = captureImage(this.#options.log, this.#options.projector);
    this.#lastWriteAt = started;
    this.#writing = capture
      .write(this.#options.path)
      .then(
        (written) => {
          this.#imageHead = capture.head;
          this.#writes++;
          this.#log.info({ ...written, head: capture.head, ms: Math.round(performance.now() - started) }, 'wrote the projector image');
        },
        (err: unknown) => {
          this.#failures++;
          this.#log.warn({ err: toError(err) }, 'could not write the projector image (the previous one stays; a restart replays more history)');
        },
      )
      .finally(() => {
        this.#writing = undefined;
      });
    return this.#writing;
  }
}
