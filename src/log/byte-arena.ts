/**
 * Bump allocation of the small values one commit writes (history records, index entries,
 * state entries, heads). A batch of a few thousand updates encodes tens of thousands of values;
 * giving each its own Uint8Array costs an allocation (off-heap above 64 bytes) and, in lmdb-js,
 * a native address lookup per distinct ArrayBuffer. Carving them out of a few large chunks
 * makes both per-chunk costs. The values are views: they live as long as the commit's ops,
 * after which the whole chunk is garbage at once.
 */
const CHUNK_BYTES = 256 * 1024;
/** Larger values get their own buffer (no chunk is wasted on one big payload). */
const MAX_SHARED = CHUNK_BYTES / 8;

export class ByteArena {
  #chunk = new Uint8Array(0);
  #pos = 0;

  /** `n` bytes (contents unspecified) for one value; the caller writes all of them. */
  alloc(n: number): Uint8Array {
    if (n > MAX_SHARED) return new Uint8Array(n);
    if (this.#pos + n > this.#chunk.length) {
      this.#chunk = new Uint8Array(CHUNK_BYTES);
      this.#pos = 0;
    }
    const out = this.#chunk.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
}
