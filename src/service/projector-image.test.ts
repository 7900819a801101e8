import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../testing/index.ts';
import { ImageUnusable, readProjectorImage, writeProjectorImage, type ImageHeader, type ImageRecord } from './projector-image.ts';

const records: ImageRecord[] = [
  { type: 'object', payload: new Uint8Array([1, 2, 3]) },
  {
    type: 'pod',
    pod: {
      uid: 'u-1', name: 'web-1', namespace: 'shop', nodeName: 'node-ä', ownerKey: 'ReplicaSet/rs-1', payload: new Uint8Array([9, 8]), hash: 2 ** 52 + 7,
      containers: [
        { name: 'app', type: 1, cid: 'c1', payload: new Uint8Array([5]), hash: 11 },
        { name: 'init', type: 2, cid: '', payload: undefined, hash: 0 },
      ],
    },
  },
  { type: 'pod', pod: { uid: 'u-2', name: 'lonely', namespace: 'shop', nodeName: '', ownerKey: undefined, payload: new Uint8Array(0), hash: 0, containers: [] } },
];

/** Byte arrays as plain arrays (a Buffer view and a Uint8Array of the same bytes compare equal). */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/** What the service accepts: this stream, at most its head (restore.ts has the real check). */
const fits = (h: ImageHeader): string | undefined => (h.streamId !== 's-1' ? `the image is of stream ${h.streamId}` : h.head > 42 ? `the image is at version ${h.head}, ahead` : undefined);

test('an image reads back as written, and stays for the next start', async () => {
  const dir = await makeTempDir('image');
  try {
    const path = join(dir.path, 'projector.image');
    const written = await writeProjectorImage(path, { streamId: 's-1', head: 42 }, records);
    assert.equal(written.records, 3);
    const read = await readProjectorImage(path, fits);
    assert.deepEqual(read?.header, { streamId: 's-1', head: 42 });
    assert.equal(read?.count, 3);
    assert.deepEqual(plain([...(read?.records() ?? [])]), plain(records));
    assert.ok(existsSync(path), 'a usable image stays: a later kill -9 restarts from it too');
    assert.equal(await readProjectorImage(join(dir.path, 'none'), fits), undefined, 'no image: undefined, not an error');
  } finally {
    await dir.remove();
  }
});

test('an image that does not fit, a truncated or a foreign file is refused, and removed', async () => {
  const dir = await makeTempDir('image');
  try {
    const path = join(dir.path, 'projector.image');
    const cases: Array<[string, () => Promise<void>, RegExp]> = [
      ['a head ahead of the store', () => writeProjectorImage(path, { streamId: 's-1', head: 43 }, records).then(() => undefined), /version 43, ahead/],
      ['another stream', () => writeProjectorImage(path, { streamId: 's-0', head: 42 }, records).then(() => undefined), /stream s-0/],
      ['truncated', async () => {
        await writeProjectorImage(path, { streamId: 's-1', head: 42 }, records);
        const bytes = readFileSync(path);
        writeFileSync(path, bytes.subarray(0, bytes.length - 9));
      }, /ends early|end record/],
      ['not an image', async () => writeFileSync(path, 'hello, world'), /not a projector image/],
    ];
    for (const [what, make, message] of cases) {
      await make();
      await assert.rejects(readProjectorImage(path, fits), (err: unknown) => err instanceof ImageUnusable && message.test(err.message), what);
      assert.ok(!existsSync(path), `${what}: removed`);
    }
  } finally {
    await dir.remove();
  }
});
