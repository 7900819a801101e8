// An in-memory NATS bus for tests of code that uses the SDK: the core semantics the SDK relies
// on (subjects, reply inboxes, the no-responders status, headers, asynchronous delivery,
// connection status events) and a hook that drops publishes as core NATS may lose them.
// FakeConnection implements the SDK's SdkConnection, so a client takes one as its `nc`.
import type { SdkConnection, SdkMsg } from '../sdk/index.ts';

interface Delivery {
  readonly subject: string;
  readonly msg: SdkMsg;
}

type Callback = (err: Error | null, msg: SdkMsg) => void;

class Headers {
  readonly #values: Record<string, string>;
  readonly code: number;
  constructor(values: Record<string, string>, code = 0) {
    this.#values = values;
    this.code = code;
  }
  get(key: string): string {
    return this.#values[key] ?? '';
  }
}

/** A message bus shared by the fake connections of one test. */
export class FakeBus {
  readonly #subs = new Map<string, Set<Callback>>();
  readonly #queue: Delivery[] = [];
  readonly #connections = new Set<FakeConnection>();
  #scheduled = false;
  /** Return true to drop a publish (lost in transit, as core NATS may lose messages). */
  dropFilter: ((subject: string, data: Uint8Array) => boolean) | undefined;
  delivered = 0;

  connect(): FakeConnection {
    const c = new FakeConnection(this);
    this.#connections.add(c);
    return c;
  }

  /** Emits a status event on every connection (e.g. 'disconnect', 'reconnect'). */
  statusEvent(type: string): void {
    for (const c of this.#connections) c.pushStatus(type);
  }

  /** Resolves once every queued message is delivered and the receivers' async work settled. */
  async settle(rounds = 20): Promise<void> {
    let quiet = 0;
    while (quiet < rounds) {
      await new Promise((resolve) => setImmediate(resolve));
      quiet = this.#queue.length === 0 ? quiet + 1 : 0;
    }
  }

  subscribe(subject: string, callback: Callback): () => void {
    let set = this.#subs.get(subject);
    if (!set) this.#subs.set(subject, (set = new Set()));
    set.add(callback);
    return () => {
      set.delete(callback);
      if (set.size === 0) this.#subs.delete(subject);
    };
  }

  hasSubscribers(subject: string): boolean {
    return (this.#subs.get(subject)?.size ?? 0) > 0;
  }

  publish(subject: string, data: Uint8Array, reply: string | undefined, headers: Headers | undefined): void {
    if (this.dropFilter?.(subject, data)) return;
    if (!this.hasSubscribers(subject)) {
      // nats-server answers a request nobody listens to with a 503 status message.
      if (reply !== undefined) this.#enqueue(reply, { subject: reply, data: new Uint8Array(), headers: new Headers({}, 503) });
      return;
    }
    this.#enqueue(subject, { subject, data, reply, headers });
  }

  #enqueue(subject: string, msg: SdkMsg): void {
    this.#queue.push({ subject, msg });
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    while (this.#queue.length > 0) {
      const d = this.#queue.shift() as Delivery;
      for (const cb of [...(this.#subs.get(d.subject) ?? [])]) {
        this.delivered++;
        cb(null, d.msg);
      }
    }
  }
}

let inboxCounter = 0;

/** One client's connection to the fake bus; implements the SDK's SdkConnection. */
export class FakeConnection implements SdkConnection {
  readonly #bus: FakeBus;
  readonly #unsubs = new Set<() => void>();
  readonly #statusQueue: string[] = [];
  #statusWake: (() => void) | undefined;
  #closed = false;

  constructor(bus: FakeBus) {
    this.#bus = bus;
  }

  publish(subject: string, payload: Uint8Array = new Uint8Array(), options?: { reply?: string }): void {
    if (this.#closed) throw new Error('connection closed');
    this.#bus.publish(subject, payload, options?.reply, undefined);
  }

  /** A message with NATS headers (the service's heartbeats). */
  publishWithHeaders(subject: string, payload: Uint8Array, headers: Record<string, string>): void {
    this.#bus.publish(subject, payload, undefined, new Headers(headers));
  }

  subscribe(subject: string, options: { callback: Callback }): { unsubscribe(): void } {
    const off = this.#bus.subscribe(subject, (err, msg) => {
      if (!this.#closed) options.callback(err, msg);
    });
    this.#unsubs.add(off);
    return {
      unsubscribe: () => {
        off();
        this.#unsubs.delete(off);
      },
    };
  }

  request(subject: string, payload: Uint8Array, options: { timeout: number }): Promise<SdkMsg> {
    const inbox = `_INBOX.fake.${++inboxCounter}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new Error(`request to ${subject} timed out`));
      }, options.timeout);
      const sub = this.subscribe(inbox, {
        callback: (_err, msg) => {
          clearTimeout(timer);
          sub.unsubscribe();
          if (msg.headers?.code === 503) reject(new Error(`no responders on ${subject}`));
          else resolve(msg);
        },
      });
      this.publish(subject, payload, { reply: inbox });
    });
  }

  pushStatus(type: string): void {
    this.#statusQueue.push(type);
    this.#statusWake?.();
  }

  status(): AsyncIterable<{ readonly type: string }> & { stop(): void } {
    let stopped = false;
    const self = this;
    return {
      stop: () => {
        stopped = true;
        self.#statusWake?.();
      },
      async *[Symbol.asyncIterator]() {
        while (!stopped && !self.#closed) {
          const next = self.#statusQueue.shift();
          if (next !== undefined) {
            yield { type: next };
            continue;
          }
          await new Promise<void>((resolve) => (self.#statusWake = resolve));
        }
      },
    };
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }
  drain(): Promise<void> {
    return this.close();
  }
  async close(): Promise<void> {
    this.#closed = true;
    for (const off of this.#unsubs) off();
    this.#unsubs.clear();
    this.#statusWake?.();
  }
  isClosed(): boolean {
    return this.#closed;
  }
  getServer(): string {
    return 'fake:4222';
  }
}
