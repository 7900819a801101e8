import { after, before } from 'node:test';
import { waitFor } from '../../src/core/index.ts';
import { ClusterModel, startSimApiServer, type SimApiServer } from '../../src/sim/index.ts';
import { deployment, populate } from '../fixtures/sim-objects.ts';

/** Plain-fetch helpers for talking to the sim's API in tests. */
export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export async function call<T = Record<string, unknown>>(base: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<JsonResponse<T>> {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  const res = await fetch(base + path, { ...init, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (e.g. /metrics)
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

export interface WatchEvent {
  type: string;
  object: { kind?: string; metadata: { name?: string; resourceVersion?: string; annotations?: Record<string, string> }; [field: string]: unknown };
}

export interface OpenWatch {
  status: number;
  events: WatchEvent[];
  /** Resolves when the server ends the stream (or it breaks); the value says which. */
  ended: Promise<'end' | 'error'>;
  isEnded(): boolean;
  close(): void;
  /** Waits until an event satisfying `predicate` has arrived and returns it. */
  next(predicate: (e: WatchEvent) => boolean, what: string): Promise<WatchEvent>;
}

/** Opens a watch and collects its newline-delimited events as they arrive. */
export async function openWatch(base: string, path: string, headers: Record<string, string> = {}): Promise<OpenWatch> {
  const abort = new AbortController();
  const res = await fetch(base + path, { signal: abort.signal, headers });
  const events: WatchEvent[] = [];
  let done = false;
  const ended = (async (): Promise<'end' | 'error'> => {
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (line.trim() !== '') events.push(JSON.parse(line) as WatchEvent);
        }
      }
      return 'end';
    } catch {
      return 'error';
    } finally {
      done = true;
    }
  })();
  return {
    status: res.status,
    events,
    ended,
    isEnded: () => done,
    close: () => abort.abort(),
    next: (predicate, what) => waitFor(() => events.find(predicate), { what, timeoutMs: 10_000 }),
  };
}

export function names(items: Array<{ metadata: { name: string } }>): string[] {
  return items.map((i) => i.metadata.name);
}

/** Shapes of the sim's JSON answers that the API tests read. */
export type Meta = { name: string; namespace?: string; resourceVersion: string; labels?: Record<string, string>; uid: string };
export type Item = { metadata: Meta; spec?: Record<string, unknown>; status?: Record<string, unknown> };
export type List = { kind: string; metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number }; items: Item[] };
export type Status = { kind: string; status: string; reason: string; code: number; message: string; metadata?: { continue?: string }; details?: Record<string, unknown> };

/** The sim's API server over a small cluster, shared by the tests of one describe block. */
export interface ServedSimModel {
  /** The cluster the server serves: tests write to it directly. */
  readonly model: ClusterModel;
  readonly sim: SimApiServer;
  /** The server's base URL. */
  readonly base: string;
  /** Opens a watch that is closed with the server if the test did not close it. */
  watch(path: string, headers?: Record<string, string>): Promise<OpenWatch>;
}

/**
 * Registers the describe block's before and after hooks: a ClusterModel of 3 nodes, 30 pods and
 * a Deployment `web` of 2 replicas (history of 1,000 events per kind), served with bookmarks
 * every 50 ms. Read its fields inside tests: they exist from `before` on.
 */
export function serveSimModelForSuite(): ServedSimModel {
  let model: ClusterModel | undefined;
  let sim: SimApiServer | undefined;
  const watches: OpenWatch[] = [];
  before(async () => {
    model = new ClusterModel({ historyPerKind: 1000 });
    populate(model, { nodes: 3, pods: 30 });
    model.create(deployment('web', 2));
    sim = await startSimApiServer(model, { bookmarkIntervalMs: 50 });
  });
  after(async () => {
    for (const w of watches) w.close();
    await sim?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the sim API server starts in the before hook: read it inside a test');
    return value;
  };
  return {
    get model() {
      return started(model);
    },
    get sim() {
      return started(sim);
    },
    get base() {
      return started(sim).url;
    },
    async watch(path, headers) {
      const w = await openWatch(started(sim).url, path, headers);
      watches.push(w);
      return w;
    },
  };
}
