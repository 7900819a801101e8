// Seeded fuzzing for the service's NATS listeners and the SDK's scope subjects (issue 8,
// "Hostile and malformed input"): a small PRNG, a raw protobuf writer (to write what the
// typed encoders refuse: wrong wire types, huge varints, cut lengths, repeated fields), and
// byte mutations of valid messages. Every input is reproducible from (seed, index).
import { RequestErrorCode } from '../../src/schema/index.ts';

/** mulberry32: tiny, fast, good enough to pick mutations; seeded so a failure replays. */
export class Prng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** [0, 1) */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  /** A length: mostly small, sometimes large. */
  length(max: number): number {
    return this.chance(0.8) ? this.int(Math.min(64, max) + 1) : this.int(max + 1);
  }
}

/** Seed and inputs per target from the environment (a longer run: KUBEMETA_FUZZ_INPUTS=20000). */
export function fuzzSettings(defaults: { inputs: number; seed: number }): { inputs: number; seed: number } {
  const inputs = Number(process.env['KUBEMETA_FUZZ_INPUTS'] ?? defaults.inputs);
  const seed = Number(process.env['KUBEMETA_FUZZ_SEED'] ?? defaults.seed);
  if (!Number.isInteger(inputs) || inputs < 1) throw new Error(`KUBEMETA_FUZZ_INPUTS must be a positive integer, got ${process.env['KUBEMETA_FUZZ_INPUTS']}`);
  if (!Number.isInteger(seed)) throw new Error(`KUBEMETA_FUZZ_SEED must be an integer, got ${process.env['KUBEMETA_FUZZ_SEED']}`);
  return { inputs, seed };
}

/** Writes protobuf wire format field by field, whatever the schema says. */
export class RawProto {
  readonly #parts: number[] = [];

  varint(value: bigint | number): this {
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      this.#parts.push(v > 0n ? byte | 0x80 : byte);
    } while (v > 0n);
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((BigInt(field) << 3n) | BigInt(wire));
  }
  /** A varint field (wire type 0). */
  uint(field: number, value: bigint | number): this {
    return this.tag(field, 0).varint(value);
  }
  /** A length-delimited field (wire type 2); `declaredLength` may lie. */
  bytesField(field: number, data: Uint8Array | string, declaredLength?: number): this {
    const b = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    this.tag(field, 2).varint(declaredLength ?? b.length);
    for (const x of b) this.#parts.push(x);
    return this;
  }
  fixed64(field: number, value: bigint): this {
    this.tag(field, 1);
    let v = BigInt.asUintN(64, value);
    for (let i = 0; i < 8; i++, v >>= 8n) this.#parts.push(Number(v & 0xffn));
    return this;
  }
  fixed32(field: number, value: number): this {
    this.tag(field, 5);
    for (let i = 0; i < 4; i++) this.#parts.push((value >>> (8 * i)) & 0xff);
    return this;
  }
  raw(bytes: Uint8Array | readonly number[]): this {
    for (const x of bytes) this.#parts.push(x);
    return this;
  }
  /** A varint of 11 bytes (more than any varint may have). */
  overlongVarint(field: number): this {
    return this.tag(field, 0).raw([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  }
  build(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}

export type Mutation = 'flip' | 'set' | 'insert' | 'delete' | 'truncate' | 'duplicate' | 'append' | 'zero';

/** 1–`max` random mutations of `bytes` (never in place). */
export function mutate(rnd: Prng, bytes: Uint8Array, max = 4): { bytes: Uint8Array; how: Mutation[] } {
  let b = Array.from(bytes);
  const how: Mutation[] = [];
  const n = 1 + rnd.int(max);
  for (let i = 0; i < n; i++) {
    const m = rnd.pick<Mutation>(['flip', 'set', 'insert', 'delete', 'truncate', 'duplicate', 'append', 'zero']);
    how.push(m);
    const at = rnd.int(b.length + 1);
    switch (m) {
      case 'flip':
        if (b.length > 0) b[at % b.length] = (b[at % b.length] as number) ^ (1 << rnd.int(8));
        break;
      case 'set':
        if (b.length > 0) b[at % b.length] = rnd.pick([0x00, 0x7f, 0x80, 0xff, rnd.int(256)]);
        break;
      case 'insert':
        b = b.slice(0, at).concat(Array.from(rnd.bytes(1 + rnd.int(8))), b.slice(at));
        break;
      case 'delete':
        b.splice(at, 1 + rnd.int(8));
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'duplicate': {
        // Spreads would overflow the stack on large messages: concat instead.
        const len = 1 + rnd.int(Math.max(1, Math.min(4096, b.length - at)));
        b = b.slice(0, at).concat(b.slice(at, at + len), b.slice(at));
        break;
      }
      case 'append':
        b = b.concat(Array.from(rnd.bytes(1 + rnd.int(16))));
        break;
      case 'zero':
        for (let j = at; j < Math.min(b.length, at + 4); j++) b[j] = 0;
        break;
    }
  }
  return { bytes: Uint8Array.from(b), how };
}

/** Strings a field may be given: empty, huge, invalid UTF-8, unicode, control characters, lookalikes. */
export function hostileString(rnd: Prng): Uint8Array | string {
  switch (rnd.int(10)) {
    case 0:
      return '';
    case 1:
      return 'x'.repeat(rnd.pick([129, 254, 1_000, 65_536, 300_000]));
    case 2:
      return Uint8Array.from([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80]); // invalid UTF-8
    case 3:
      return 'nöde/ünïcode-💥\u202e';
    case 4:
      return 'node/\u0000evil\n';
    case 5:
      return rnd.pick(['CLUSTER', 'cluster ', ' cluster', 'node', 'node/', 'node//x', 'node/..', 'node/a..b', 'node/-a', 'node/A', 'pods/x', 'node/*', 'node/>', 'node/a b']);
    case 6:
      return `node/${'a'.repeat(rnd.pick([253, 254, 1000]))}`;
    case 7:
      return `node/${'a.'.repeat(120)}a`;
    case 8:
      return rnd.bytes(rnd.length(200));
    default:
      return 'f'.repeat(rnd.pick([31, 32, 33])) + rnd.pick(['', 'G', 'F']);
  }
}

/** Absurd uint64 values: 2^64 − 1 (a negative int64), 2^53, 2^53 − 1, 2^63 … */
export function absurdVersion(rnd: Prng): bigint {
  return rnd.pick([-1n, -(2n ** 63n), 2n ** 53n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, 0n, 1n, BigInt(rnd.int(2 ** 31))]);
}

const CODE_NAMES = new Map<number, string>(Object.entries(RequestErrorCode).map(([name, code]) => [code as number, name]));

/** `BAD_REQUEST` for 1 … (the enum's name). */
export function errorCodeName(code: number): string {
  return CODE_NAMES.get(code) ?? `UNKNOWN(${code})`;
}

/** Counts outcomes by name, for the report. */
export class Tally {
  readonly counts = new Map<string, number>();
  add(outcome: string): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + 1);
  }
  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }
  toString(): string {
    return [...this.counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  }
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
