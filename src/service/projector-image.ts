/**
 * The projector image: what a restart needs to rebuild the projector, written as one file
 * beside the LMDB store (at a graceful stop, after the initial sync, and then periodically: see
 * image-keeper.ts), and read back at the next start instead of restoring from the store.
 *
 * Why: a restore from the store reads every live object of the cluster scope (488,000 at
 * 150,000 pods) with a random read of its history record, decodes it with protobuf-es and
 * rebuilds the projector from the decoded message: 27 s at 150,000 pods in the profile, of
 * which the reads were 7 s, the decoding 4 s and the garbage collection 5 s. Pods and their
 * containers are 95 % of those objects; the image holds them as flat records (the fields the
 * projector keeps, and the stored payload bytes, which the projector keeps as they are) read
 * in one sequential pass with no protobuf decoding. The other kinds (nodes, namespaces,
 * workloads, services: a few percent) are kept as their stored payloads and restored the usual
 * way.
 *
 * When it is used: on the same stream, at a head the store has reached and whose history the
 * store still holds (restore.ts replays the cluster scope's history after the image's head, so
 * an image written a while before a kill -9 still serves). Anything else — no image (etcd),
 * another stream, a head ahead of the store's (an older copy of the store) or below its
 * compaction floor, a damaged or truncated file — is refused and deleted, and the restore reads
 * the store, which stays the reference: image plus replay restore exactly what it does
 * (test/integration/projector-image.test.ts compares them).
 *
 * Format (integers little-endian): magic `KMPI`, u32 format, string stream id, f64 head, then
 * records, each a tag byte: 1 = object (bytes: its stored payload), 2 = pod (writePod), 0 = end
 * followed by the u32 record count. Strings and bytes are a u32 length and the bytes.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PodImage } from '../project/index.ts';

const MAGIC = 0x49504d4b; // 'KMPI' read as a little-endian u32
const FORMAT = 1;
const TAG_END = 0;
const TAG_OBJECT = 1;
const TAG_POD = 2;
const NO_PAYLOAD = 0xffffffff;
/** Written to the file whenever this much is buffered. */
const FLUSH_BYTES = 4 * 1024 * 1024;

export const PROJECTOR_IMAGE_FILE = 'projector.image';

export type ImagePod = PodImage & { ownerKey: string | undefined };
export type ImageRecord = { type: 'object'; payload: Uint8Array } | { type: 'pod'; pod: ImagePod };

export interface ImageHeader {
  readonly streamId: string;
  /** The log head the projector state reflects: every update up to it is in the image. */
  readonly head: number;
}

/** Appends records to a buffer that is written out in FLUSH_BYTES pieces. */
class ImageWriter {
  #buf = Buffer.allocUnsafe(FLUSH_BYTES * 2);
  #at = 0;
  readonly #flush: (bytes: Buffer) => Promise<void>;

  constructor(flush: (bytes: Buffer) => Promise<void>) {
    this.#flush = flush;
  }

  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#at + n));
    this.#buf.copy(next, 0, 0, this.#at);
    this.#buf = next;
  }

  u8(n: number): void {
    this.#room(1);
    this.#buf[this.#at++] = n;
  }

  u32(n: number): void {
    this.#room(4);
    this.#buf.writeUInt32LE(n, this.#at);
    this.#at += 4;
  }

  f64(n: number): void {
    this.#room(8);
    this.#buf.writeDoubleLE(n, this.#at);
    this.#at += 8;
  }

  str(s: string): void {
    const n = Buffer.byteLength(s);
    this.#room(4 + n);
    this.#buf.writeUInt32LE(n, this.#at);
    this.#buf.write(s, this.#at + 4, n, 'utf8');
    this.#at += 4 + n;
  }

  bytes(b: Uint8Array | undefined): void {
    if (b === undefined) return this.u32(NO_PAYLOAD);
    this.#room(4 + b.byteLength);
    this.#buf.writeUInt32LE(b.byteLength, this.#at);
    this.#buf.set(b, this.#at + 4);
    this.#at += 4 + b.byteLength;
  }

  async maybeFlush(): Promise<void> {
    if (this.#at >= FLUSH_BYTES) await this.end();
  }

  async end(): Promise<void> {
    if (this.#at === 0) return;
    await this.#flush(this.#buf.subarray(0, this.#at));
    this.#at = 0; // written: the buffer is free again
  }
}

function writePod(w: ImageWriter, p: ImagePod): void {
  w.u8(TAG_POD);
  w.str(p.uid);
  w.str(p.name);
  w.str(p.namespace);
  w.str(p.nodeName);
  w.str(p.ownerKey ?? '');
  w.bytes(p.payload);
  w.f64(p.hash);
  w.u32(p.containers.length);
  for (const c of p.containers) {
    w.str(c.name);
    w.u32(c.type);
    w.str(c.cid);
    w.bytes(c.payload);
    w.f64(c.hash);
  }
}

/**
 * Writes the image to `path` atomically (a temporary file, fsync, rename, fsync of the
 * directory): after a crash there is the old file or the new one, never half of one (and a
 * start checks the end record anyway).
 */
export async function writeProjectorImage(path: string, header: ImageHeader, records: Iterable<ImageRecord>): Promise<{ bytes: number; records: number }> {
  const tmp = `${path}.tmp-${process.pid}`;
  const file = await open(tmp, 'w');
  let bytes = 0;
  let count = 0;
  try {
    const w = new ImageWriter(async (b) => {
      await file.write(b);
      bytes += b.byteLength;
    });
    w.u32(MAGIC);
    w.u32(FORMAT);
    w.str(header.streamId);
    w.f64(header.head);
    for (const r of records) {
      if (r.type === 'object') {
        w.u8(TAG_OBJECT);
        w.bytes(r.payload);
      } else {
        writePod(w, r.pod);
      }
      count++;
      await w.maybeFlush();
    }
    w.u8(TAG_END);
    w.u32(count);
    await w.end();
    await file.sync();
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await file.close();
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return { bytes, records: count };
}

/** Why an image was not used: the service logs it and restores from the store. */
export class ImageUnusable extends Error {
  override readonly name = 'ImageUnusable';
}

/**
 * Reads records off the image's bytes. Payloads are views of the file's one buffer, not
 * copies (a copy each was the largest cost of reading them from the store): that buffer lives
 * as long as one of them does, at most the image's size.
 */
class ImageReader {
  readonly #buf: Buffer;
  #at = 0;

  constructor(buf: Buffer, at = 0) {
    this.#buf = buf;
    this.#at = at;
  }

  get offset(): number {
    return this.#at;
  }

  /** Skips a string or bytes field; returns its length (NO_PAYLOAD for absent bytes). */
  skipBytes(): number {
    const n = this.u32();
    if (n === NO_PAYLOAD) return n;
    this.#need(n);
    this.#at += n;
    return n;
  }

  #need(n: number): void {
    if (this.#at + n > this.#buf.length) throw new ImageUnusable(`the image ends early (offset ${this.#at}, ${n} more bytes wanted)`);
  }

  u8(): number {
    this.#need(1);
    return this.#buf[this.#at++] as number;
  }

  u32(): number {
    this.#need(4);
    const n = this.#buf.readUInt32LE(this.#at);
    this.#at += 4;
    return n;
  }

  f64(): number {
    this.#need(8);
    const n = this.#buf.readDoubleLE(this.#at);
    this.#at += 8;
    return n;
  }

  str(): string {
    const n = this.u32();
    this.#need(n);
    const s = this.#buf.toString('utf8', this.#at, this.#at + n);
    this.#at += n;
    return s;
  }

  bytes(): Uint8Array | undefined {
    const n = this.u32();
    if (n === NO_PAYLOAD) return undefined;
    this.#need(n);
    const b = this.#buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    return b;
  }

  get done(): boolean {
    return this.#at === this.#buf.length;
  }
}

/** Checks one pod record's structure without building it (the validating pass). */
function skipPod(r: ImageReader): void {
  for (let i = 0; i < 5; i++) r.skipBytes(); // uid, name, namespace, node name, owner key
  if (r.skipBytes() === NO_PAYLOAD) throw new ImageUnusable('a pod record has no payload');
  r.f64();
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    r.skipBytes(); // name
    r.u32(); // type
    r.skipBytes(); // container id
    r.skipBytes(); // payload (may be absent)
    r.f64();
  }
}

function readPod(r: ImageReader): ImagePod {
  const uid = r.str();
  const name = r.str();
  const namespace = r.str();
  const nodeName = r.str();
  const owner = r.str();
  const payload = r.bytes() as Uint8Array; // checked by the validating pass
  const hash = r.f64();
  const n = r.u32();
  const containers: ImagePod['containers'] = [];
  for (let i = 0; i < n; i++) {
    const cName = r.str();
    const type = r.u32();
    const cid = r.str();
    const cPayload = r.bytes();
    containers.push({ name: cName, type, cid, payload: cPayload, hash: r.f64() });
  }
  return { uid, name, namespace, nodeName, ownerKey: owner === '' ? undefined : owner, payload, hash, containers };
}

/** A checked image: its header, and its records, built one at a time as they are iterated. */
export interface ProjectorImage {
  readonly header: ImageHeader;
  readonly count: number;
  records(): IterableIterator<ImageRecord>;
}

/**
 * Reads and checks a whole image (a damaged one is refused before the projector sees any of
 * it). `accept` says why a header does not fit the store (undefined: it fits). Resolves to
 * undefined when there is no image; throws ImageUnusable, after deleting the file, for one that
 * does not fit or is damaged (it never will fit).
 */
export async function readProjectorImage(path: string, accept: (header: ImageHeader) => string | undefined): Promise<ProjectorImage | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ImageUnusable(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return checkImage(buf, accept);
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
}

/**
 * The validating pass: the header, and every record's structure down to the end record, with
 * nothing built (building each record as the restore takes it, instead of all of them first,
 * halved the garbage of a restart at 150,000 pods).
 */
function checkImage(buf: Buffer, accept: (header: ImageHeader) => string | undefined): ProjectorImage {
  const r = new ImageReader(buf);
  if (r.u32() !== MAGIC) throw new ImageUnusable('not a projector image');
  const format = r.u32();
  if (format !== FORMAT) throw new ImageUnusable(`image format ${format}, this version reads ${FORMAT}`);
  const header = { streamId: r.str(), head: r.f64() };
  const refused = accept(header);
  if (refused !== undefined) throw new ImageUnusable(refused);
  const first = r.offset;
  let count = 0;
  for (;;) {
    const tag = r.u8();
    if (tag === TAG_END) break;
    if (tag === TAG_OBJECT) {
      if (r.skipBytes() === NO_PAYLOAD) throw new ImageUnusable('an object record has no payload');
    } else if (tag === TAG_POD) {
      skipPod(r);
    } else {
      throw new ImageUnusable(`unknown record tag ${tag}`);
    }
    count++;
  }
  const end = r.u32();
  if (end !== count || !r.done) throw new ImageUnusable(`the image's end record says ${end} records, ${count} were read`);
  return {
    header,
    count,
    *records() {
      const rr = new ImageReader(buf, first);
      for (;;) {
        const tag = rr.u8();
        if (tag === TAG_END) return;
        if (tag === TAG_OBJECT) yield { type: 'object', payload: rr.bytes() as Uint8Array };
        else yield { type: 'pod', pod: readPod(rr) };
      }
    },
  };
}
