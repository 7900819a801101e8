import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeHistory,
  decodeNumber,
  decodeState,
  decodeText,
  decodeTombstone,
  encodeHistory,
  encodeNumber,
  encodeState,
  encodeText,
  encodeTombstone,
} from './record-codec.ts';
import { ByteArena } from './byte-arena.ts';

test('numbers round-trip exactly up to 2^53 - 1', () => {
  for (const n of [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 1, 2 ** 52 + 3, Number.MAX_SAFE_INTEGER]) {
    assert.equal(decodeNumber(encodeNumber(n), 'n'), n);
  }
  assert.throws(() => encodeNumber(-1));
  assert.throws(() => encodeNumber(2 ** 53));
});

test('records round-trip and payloads come back byte-exact', () => {
  assert.equal(decodeText(encodeText('héllo 42'), 't'), 'héllo 42');
  const payload = new Uint8Array([0, 1, 2, 255, 128]);
  const h = { committedAtMs: 1_700_000_000_123, state: 'tombstone' as const, objectKey: 'Pod/u-1', kind: 'Pod', scopes: [{ scope: 'cluster', prevVersion: 9 }, { scope: 'node/a', prevVersion: 0 }], payload };
  assert.deepEqual({ ...decodeHistory(encodeHistory(h), 'h'), payload: [...payload] }, { ...h, payload: [...payload] });
  const noKind = decodeHistory(encodeHistory({ ...h, kind: undefined, scopes: [] }), 'h');
  assert.deepEqual([noKind.kind, noKind.scopes], [undefined, []]);
  assert.deepEqual(decodeState(encodeState({ version: 5, deleted: true, deletedAtMs: 77 }), 's'), { version: 5, deleted: true, deletedAtMs: 77 });
  assert.deepEqual(decodeState(encodeState({ version: 6, deleted: false, deletedAtMs: 77 }), 's'), { version: 6, deleted: false, deletedAtMs: 0 });
  const ascii = decodeHistory(encodeHistory({ ...h, objectKey: 'Pod/ü-ñ' }), 'h');
  assert.equal(ascii.objectKey, 'Pod/ü-ñ', 'non-ASCII text takes the encoder path');
  assert.deepEqual(decodeTombstone(encodeTombstone({ objectKey: 'Pod/x', scopes: ['cluster', 'node/b'] }), 't'), { objectKey: 'Pod/x', scopes: ['cluster', 'node/b'] });
});

test('damaged or foreign records fail with LOG_RECORD_CORRUPT naming the key', () => {
  const good = encodeState({ version: 5, deleted: false, deletedAtMs: 0 });
  const cases = [good.subarray(0, good.length - 1), new Uint8Array([...good, 0]), encodeNumber(3), new Uint8Array([]), new Uint8Array([4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])];
  for (const bytes of cases) {
    assert.throws(() => decodeState(bytes, 'c/cluster/Pod/x'), (err: unknown) => {
      const e = err as { code?: string; message: string };
      return e.code === 'LOG_RECORD_CORRUPT' && e.message.includes('c/cluster/Pod/x');
    });
  }
  assert.throws(() => decodeText(new Uint8Array([2, 2, 0xc3, 0x28]), 'm/stream'), { code: 'LOG_RECORD_CORRUPT' });
});

test('values encoded into an arena are exact, separate slices that round-trip', () => {
  const arena = new ByteArena();
  const payload = new Uint8Array(300).fill(7);
  const values = [];
  for (let i = 0; i < 2000; i++) {
    values.push(encodeNumber(i * 1000, arena));
    values.push(encodeState({ version: i, deleted: i % 2 === 0, deletedAtMs: 5 }, arena));
    values.push(encodeHistory({ committedAtMs: 9, state: 'upsert', objectKey: `Pod/ü${i}`, kind: 'Pod', scopes: [{ scope: 'cluster', prevVersion: i }], payload }, arena));
  }
  for (let i = 0; i < 2000; i++) {
    assert.equal(decodeNumber(values[3 * i] as Uint8Array, 'n'), i * 1000);
    assert.deepEqual(decodeState(values[3 * i + 1] as Uint8Array, 's'), { version: i, deleted: i % 2 === 0, deletedAtMs: i % 2 === 0 ? 5 : 0 });
    const h = decodeHistory(values[3 * i + 2] as Uint8Array, 'h');
    assert.equal(h.objectKey, `Pod/ü${i}`);
    assert.deepEqual([...h.payload], [...payload]);
  }
});
