import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, equals, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ResourceUpdateSchema } from './gen/kubemeta/v1/resources_pb.js';
import { UpdateBatchSchema } from './gen/kubemeta/v1/updates_pb.js';
import {
  CLUSTER_SCOPE, SchemaError, createResourceUpdate, decodeResourceUpdate, decodeUpdateBatch, encodeResourceUpdate,
  encodeUpdateBatch, encodeUpdateBatches, formatScope, nodeScope, parseStreamId, readUpdateBatch, resourceUpdateToJson,
} from './index.ts';
import type { Scope, UpdateFrame } from './index.ts';
import { STREAM, everyUpdateKind, runningPodWithSidecar, seededRandom } from '../../test/fixtures/updates.ts';

const streamId = parseStreamId(STREAM);
const node = nodeScope('ip-10-0-12-34.ec2.internal');

function frames(count: number, firstVersion = 1, prev = 0): UpdateFrame[] {
  const payloads = everyUpdateKind.map(([, u]) => encodeResourceUpdate(u));
  return Array.from({ length: count }, (_, i) => ({
    version: firstVersion + i,
    prevVersion: i === 0 ? prev : firstVersion + i - 1,
    payload: payloads[i % payloads.length]!,
  }));
}

/** The same batch built by the generated encoder, from decoded messages (the reference). */
function referenceBatch(scope: Scope, fs: readonly UpdateFrame[]): Uint8Array {
  return toBinary(UpdateBatchSchema, create(UpdateBatchSchema, {
    streamId: STREAM,
    scope: formatScope(scope),
    updates: fs.map((f) => ({ version: BigInt(f.version), prevVersion: BigInt(f.prevVersion), update: fromBinary(ResourceUpdateSchema, f.payload) })),
    count: fs.length,
  }));
}

for (const [name, update] of everyUpdateKind) {
  test(`a ${name} survives encode and decode unchanged`, () => {
    const decoded = decodeResourceUpdate(encodeResourceUpdate(update));
    assert.ok(equals(ResourceUpdateSchema, decoded, update), `decoded ${name} differs`);
  });
}

test('timestamps keep their nanoseconds through the wire', () => {
  const decoded = decodeResourceUpdate(encodeResourceUpdate(runningPodWithSidecar));
  assert.equal(decoded.object.case === 'pod' && decoded.object.value.createTimeNs, 1_732_700_000_123_456_789n);
});

test('an update without an object or without identity is refused on encode', () => {
  assert.throws(() => encodeResourceUpdate(createResourceUpdate({})), { code: 'SCHEMA_INVALID_MESSAGE' });
  assert.throws(() => encodeResourceUpdate(createResourceUpdate({ object: { case: 'pod', value: { name: 'x' } } })), /empty uid/);
  assert.throws(
    () => encodeResourceUpdate(createResourceUpdate({ object: { case: 'workload', value: { uid: 'u', kind: 1 } } })),
    /not an owner kind/,
  );
});

test('batch framing is byte-for-byte what the generated encoder writes', () => {
  for (const [scope, fs] of [
    [CLUSTER_SCOPE, frames(1)],
    [node, frames(9, 1000, 998)],
    [node, frames(3, 2 ** 53 - 3, 2 ** 40)],
    [CLUSTER_SCOPE, frames(100, 300_000, 123)],
  ] as const) {
    const ours = encodeUpdateBatch({ streamId, scope, frames: fs });
    assert.deepEqual(ours, referenceBatch(scope, fs));
  }
});

test('the hand-read batch equals what the generated decoder reads', () => {
  const fs = frames(20, 70_000, 69_000);
  const bytes = encodeUpdateBatch({ streamId, scope: node, frames: fs });
  const ours = decodeUpdateBatch(bytes);
  const reference = fromBinary(UpdateBatchSchema, bytes);
  assert.equal(ours.streamId, reference.streamId);
  assert.equal(formatScope(ours.scope), reference.scope);
  assert.equal(ours.updates.length, reference.count);
  ours.updates.forEach((u, i) => {
    const r = reference.updates[i]!;
    assert.equal(BigInt(u.version), r.version);
    assert.equal(BigInt(u.prevVersion), r.prevVersion);
    assert.ok(r.update !== undefined && equals(ResourceUpdateSchema, u.update, r.update));
  });
});

test('an update published on three scopes is serialized once and embedded verbatim in each batch', () => {
  const payload = encodeResourceUpdate(runningPodWithSidecar);
  const scopes = [CLUSTER_SCOPE, node, nodeScope('ip-10-0-12-35.ec2.internal')];
  for (const scope of scopes) {
    const batch = readUpdateBatch(encodeUpdateBatch({ streamId, scope, frames: [{ version: 7, prevVersion: 3, payload }] }));
    assert.deepEqual(batch.frames[0]!.payload, payload);
  }
});

test('a batch that breaks the per-scope chain, carries an impossible version or names an invalid scope is refused', () => {
  const [a, b] = frames(2, 10, 5) as [UpdateFrame, UpdateFrame];
  assert.throws(() => encodeUpdateBatch({ streamId, scope: node, frames: [a, { ...b, prevVersion: 9 }] }), { code: 'SCHEMA_INVALID_VERSION' });
  assert.throws(() => encodeUpdateBatch({ streamId, scope: node, frames: [{ ...a, version: 0 }] }), { code: 'SCHEMA_INVALID_VERSION' });
  assert.throws(() => encodeUpdateBatch({ streamId, scope: node, frames: [{ ...a, prevVersion: 10 }] }), { code: 'SCHEMA_INVALID_VERSION' });
  assert.throws(() => encodeUpdateBatch({ streamId, scope: node, frames: [] }), { code: 'SCHEMA_INVALID_MESSAGE' });
  assert.throws(() => encodeUpdateBatch({ streamId, scope: { kind: 'node', node: 'Not A Node' }, frames: [a] }), { code: 'SCHEMA_INVALID_SCOPE' });
});

test('versions above 2^53 - 1 are refused on encode and on decode', () => {
  const [a] = frames(1);
  assert.throws(() => encodeUpdateBatch({ streamId, scope: node, frames: [{ ...a!, version: 2 ** 53 }] }), { code: 'SCHEMA_VERSION_OVERFLOW' });
  const foreign = toBinary(UpdateBatchSchema, create(UpdateBatchSchema, {
    streamId: STREAM, scope: 'cluster', count: 1,
    updates: [{ version: 2n ** 53n + 1n, prevVersion: 1n, update: runningPodWithSidecar }],
  }));
  assert.throws(() => decodeUpdateBatch(foreign), (err: unknown) => err instanceof SchemaError && err.code === 'SCHEMA_VERSION_OVERFLOW' && /9007199254740993/.test(err.message));
});

test('long runs split into batches that each stay under the byte bound and keep the chain', () => {
  const fs = frames(500, 1);
  const messages = encodeUpdateBatches({ streamId, scope: CLUSTER_SCOPE, frames: fs }, { maxMessageBytes: 16 * 1024 });
  assert.ok(messages.length > 5, `expected several messages, got ${messages.length}`);
  const back = messages.flatMap((m) => {
    assert.ok(m.length <= 16 * 1024, `message of ${m.length} bytes`);
    return readUpdateBatch(m).frames.map((f) => [f.version, f.prevVersion]);
  });
  assert.deepEqual(back, fs.map((f) => [f.version, f.prevVersion]));
  assert.throws(
    () => encodeUpdateBatches({ streamId, scope: CLUSTER_SCOPE, frames: fs }, { maxMessageBytes: 100, hardLimitBytes: 200 }),
    { code: 'SCHEMA_MESSAGE_TOO_LARGE' },
  );
});

test('a batch cut at any byte is refused, never read as a shorter batch', () => {
  const bytes = encodeUpdateBatch({ streamId, scope: node, frames: frames(4, 50, 40) });
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.throws(() => decodeUpdateBatch(bytes.subarray(0, cut)), SchemaError, `cut at ${cut} of ${bytes.length} was accepted`);
  }
});

test('random bytes are refused with SchemaError, never a crash or a half-decoded batch', () => {
  const random = seededRandom(0x5eed);
  const valid = encodeUpdateBatch({ streamId, scope: node, frames: frames(3, 50, 40) });
  for (let i = 0; i < 3000; i++) {
    const bytes = i % 2 === 0
      ? Uint8Array.from({ length: Math.floor(random() * 400) }, () => Math.floor(random() * 256))
      : valid.map((b) => (random() < 0.02 ? Math.floor(random() * 256) : b)); // a few flipped bytes
    try {
      const batch = decodeUpdateBatch(bytes);
      // A flip inside a string can leave a well-formed batch; it must still be fully checked.
      assert.ok(i % 2 === 1 && batch.updates.length === 3, `garbage ${i} decoded as a batch`);
    } catch (err) {
      assert.ok(err instanceof SchemaError, `garbage ${i} threw ${String(err)}`);
    }
  }
  assert.throws(() => decodeResourceUpdate(Uint8Array.of(0x0a, 0xff)), { code: 'SCHEMA_DECODE_FAILED' });
});

test('fields a newer schema adds are skipped', () => {
  const payload = encodeResourceUpdate(runningPodWithSidecar);
  const bytes = encodeUpdateBatch({ streamId, scope: node, frames: [{ version: 5, prevVersion: 0, payload }] });
  // Field 101 (varint 1) and field 102 (2 bytes "hi") appended, as a newer producer might.
  const withUnknown = new Uint8Array([...bytes, 0xa8, 0x06, 0x01, 0xb2, 0x06, 0x02, 0x68, 0x69]);
  const decoded = decodeUpdateBatch(withUnknown);
  assert.equal(decoded.updates[0]!.version, 5);
  assert.ok(equals(ResourceUpdateSchema, decoded.updates[0]!.update, runningPodWithSidecar));
});

test('an update field sent twice merges as protobuf says, like the generated decoder', () => {
  const a = encodeResourceUpdate(createResourceUpdate({ object: { case: 'pod', value: { uid: 'u1', name: 'p' } } }));
  const b = encodeResourceUpdate(createResourceUpdate({ object: { case: 'pod', value: { uid: 'u1', namespace: 'ns', labels: { a: 'b' } } } }));
  const scoped = [0x08, 0x05, 0x1a, a.length, ...a, 0x1a, b.length, ...b];
  const scope = new TextEncoder().encode('cluster');
  const bytes = Uint8Array.from([
    0x0a, 32, ...new TextEncoder().encode(STREAM), 0x12, scope.length, ...scope, 0x1a, scoped.length, ...scoped, 0x20, 0x01,
  ]);
  const ours = decodeUpdateBatch(bytes).updates[0]!.update;
  const reference = fromBinary(UpdateBatchSchema, bytes).updates[0]!.update!;
  assert.ok(equals(ResourceUpdateSchema, ours, reference));
  assert.deepEqual(ours.object.case === 'pod' && [ours.object.value.name, ours.object.value.namespace], ['p', 'ns']);
});

test('the JSON form names the case and keeps int64 times as strings', () => {
  const json = resourceUpdateToJson(runningPodWithSidecar) as { pod: { createTimeNs: string; name: string } };
  assert.equal(json.pod.createTimeNs, '1732700000123456789');
  assert.equal(json.pod.name, 'checkout-7d9f8b6c5d-x2k4p');
});
