import type { Readable } from 'node:stream';
import { apiStatusError, malformedResponseError, networkError, SourceError } from './errors.ts';
import type { RawObject, WatchEvent } from './objects.ts';

export interface WatchStreamOptions {
  /** A watch that delivers neither an event nor a bookmark for this long is dead (docs/design.md §10). */
  idleTimeoutMs: number;
  /** Names the watch in errors. */
  what: string;
  /** Longest accepted line; a larger one means a broken or hostile stream. */
  maxLineBytes?: number;
}

/**
 * Decodes a watch response (newline-delimited JSON events) into WatchEvents. Throws a
 * SourceError for an ERROR event (410 → expired), a malformed line, or an idle stream, and
 * destroys the response when the consumer stops early.
 */
export async function* readWatchEvents(body: Readable, options: WatchStreamOptions): AsyncGenerator<WatchEvent> {
  const maxLine = options.maxLineBytes ?? 64 * 1024 * 1024;
  let idle = false;
  let timer: NodeJS.Timeout | undefined;
  const armIdleTimer = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      idle = true;
      body.destroy();
    }, options.idleTimeoutMs);
  };
  armIdleTimer();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  try {
    for await (const chunk of body) {
      let buf = chunk as Buffer;
      let newline = buf.indexOf(10);
      while (newline !== -1) {
        pending.push(buf.subarray(0, newline));
        const line = Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
        buf = buf.subarray(newline + 1);
        newline = buf.indexOf(10);
        if (line.length === 0) continue;
        armIdleTimer();
        yield decodeLine(line, options.what);
      }
      if (buf.length > 0) {
        pending.push(buf);
        pendingBytes += buf.length;
        if (pendingBytes > maxLine) throw malformedResponseError(options.what, `watch line longer than ${maxLine} bytes`);
      }
    }
    if (idle) throw idleError(options);
  } catch (err) {
    if (idle) throw idleError(options);
    if (err instanceof SourceError) throw err;
    throw networkError(options.what, err);
  } finally {
    clearTimeout(timer);
    body.destroy();
  }
}

function idleError(options: WatchStreamOptions): SourceError {
  return new SourceError(
    'SOURCE_WATCH_IDLE',
    `${options.what}: no event or bookmark for ${options.idleTimeoutMs} ms; treating the watch as dead and resuming`,
    { errorClass: 'retriable' },
  );
}

/** The annotation on the BOOKMARK that ends a WatchList's initial events (KEP-3157). */
const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

function decodeLine(line: Buffer, what: string): WatchEvent {
  let parsed: { type?: unknown; object?: unknown };
  try {
    parsed = JSON.parse(line.toString('utf8')) as { type?: unknown; object?: unknown };
  } catch (err) {
    throw malformedResponseError(what, `malformed watch event: ${(err as Error).message}`, err);
  }
  const object = parsed.object;
  if (typeof object !== 'object' || object === null) {
    throw malformedResponseError(what, `watch event without an object (type ${String(parsed.type)})`);
  }
  switch (parsed.type) {
    case 'ADDED':
    case 'MODIFIED':
    case 'DELETED':
      return { type: parsed.type, object: object as RawObject };
    case 'BOOKMARK': {
      const meta = (object as RawObject).metadata;
      const rv = meta?.resourceVersion;
      if (typeof rv !== 'string' || rv === '') throw malformedResponseError(what, 'bookmark without a resourceVersion');
      const annotations = meta?.['annotations'] as Record<string, unknown> | undefined;
      return { type: 'BOOKMARK', resourceVersion: rv, initialEventsEnd: annotations?.[INITIAL_EVENTS_END] === 'true' };
    }
    case 'ERROR': {
      const status = object as { code?: unknown; message?: unknown };
      const code = typeof status.code === 'number' ? status.code : 500;
      throw apiStatusError(what, code, typeof status.message === 'string' ? status.message : 'watch ERROR event');
    }
    default:
      throw malformedResponseError(what, `unknown watch event type ${JSON.stringify(parsed.type)}`);
  }
}
