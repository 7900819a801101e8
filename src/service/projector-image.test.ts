import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../testing/index.ts';
import { ImageUnusable, takeProjectorImage, writeProjectorImage, type ImageRecord } from './projector-image.ts';

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

test('an image reads back as written, once: the start that reads it deletes it', async () => {
  const dir = await makeTempDir('image');
  try {
    const path = join(dir.path, 'projector.image');
    const written = await writeProjectorImage(path, { streamId: 's-1', head: 42 }, records);
    assert.equal(written.records, 3);
    assert.deepEqual(plain(await takeProjectorImage(path, { streamId: 's-1', head: 42 })), plain(records));
    assert.ok(!existsSync(path));
    assert.equal(await takeProjectorImage(path, { streamId: 's-1', head: 42 }), undefined, 'no image: undefined, not an error');
  } finally {
    await dir.remove();
  }
});

test('an image of another stream or head, a truncated or foreign file is refused (and removed)', async () => {
  const dir = await makeTempDir('image');
  try {
    const path = join(dir.path, 'projector.image');
    const cases: Array<[string, () => Promise<void>, RegExp]> = [
      ['another head', () => writeProjectorImage(path, { streamId: 's-1', head: 41 }, records).then(() => undefined), /version 41, the store at 42/],
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
      await assert.rejects(takeProjectorImage(path, { streamId: 's-1', head: 42 }), (err: unknown) => err instanceof ImageUnusable && message.test(err.message), what);
      assert.ok(!existsSync(path), `${what}: removed`);
    }
  } finally {
    await dir.remove();
  }
});
