import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newStreamId, type UpdateFrame } from '../schema/index.ts';
import { ChainBuffer } from './chain-buffer.ts';

const frame = (version: number, prevVersion: number): UpdateFrame => ({ version, prevVersion, payload: new Uint8Array([1]) });

test('drains held frames in version order while they chain on, skipping duplicates', () => {
  const s = newStreamId();
  const buffer = new ChainBuffer(10);
  buffer.hold(s, [frame(9, 7), frame(7, 5)], 0);
  buffer.hold(s, [frame(4, 2)], 0);
  const applied: number[] = [];
  let dups = 0;
  const outcome = buffer.drain(s, 5, (f) => (applied.push(f.version), f.version), () => dups++);
  assert.deepEqual([outcome, applied, dups, buffer.size], [{ kind: 'empty' }, [7, 9], 1, 0]);
});

test('stops at a hole and keeps what follows it', () => {
  const s = newStreamId();
  const buffer = new ChainBuffer(10);
  buffer.hold(s, [frame(6, 5), frame(9, 8)], 0);
  const outcome = buffer.drain(s, 5, (f) => f.version, () => undefined);
  assert.deepEqual([outcome, buffer.size], [{ kind: 'gap', version: 9 }, 1]);
});

test('reports a frame from another stream instead of applying it', () => {
  const buffer = new ChainBuffer(10);
  const other = newStreamId();
  buffer.hold(other, [frame(2, 1)], 0);
  assert.deepEqual(buffer.drain(newStreamId(), 1, (f) => f.version, () => undefined), { kind: 'otherStream', streamId: other });
});

test('is bounded: reaching the capacity drops everything held', () => {
  const buffer = new ChainBuffer(3);
  assert.equal(buffer.hold(newStreamId(), [frame(2, 1), frame(3, 2), frame(4, 3), frame(5, 4)], 1), true);
  assert.equal(buffer.size, 3);
  assert.equal(buffer.hold(newStreamId(), [frame(7, 6)], 0), false);
  assert.equal(buffer.size, 0);
});
