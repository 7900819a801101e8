import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClosedError } from '../core/index.ts';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ReplayRequestSchema, ReplayResponseSchema } from './gen/kubemeta/v1/replay_pb.js';
import { ResourceUpdateSchema } from './gen/kubemeta/v1/resources_pb.js';
import {
  CLUSTER_SCOPE, RequestErrorCode, ReplayResponseWriter, SchemaError, createResourceUpdate, decodeFrame, decodeReplayAck, decodeReplayRequest,
  decodeReplayResponse, encodeReplayAck, encodeReplayRequest, encodeResourceUpdate, formatScope, nodeScope, parseStreamId,
  requestErrorFor,
} from './index.ts';
import type { ReplayMessage, UpdateFrame } from './index.ts';
import { STREAM, everyUpdateKind, seededRandom } from '../../test/fixtures/updates.ts';

const streamId = parseStreamId(STREAM);
const node = nodeScope('worker-3.example.com');
const payloads = everyUpdateKind.map(([, u]) => encodeResourceUpdate(u));

function snapshotEntries(n: number): UpdateFrame[] {
  return Array.from({ length: n }, (_, i) => ({ version: 1 + ((i * 7919) % 5000), prevVersion: 0, payload: payloads[i % payloads.length]! }));
}
function tail(from: number, n: number): UpdateFrame[] {
  return Array.from({ length: n }, (_, i) => ({ version: from + i + 1, prevVersion: from + i, payload: payloads[i % payloads.length]! }));
}

test('a replay request survives encode and decode', () => {
  const request = { scope: node, after: 2 ** 40, limit: 500, knownStreamId: streamId, requestId: 'r-1', maxChunkBytes: 64 * 1024 };
  assert.deepEqual(decodeReplayRequest(encodeReplayRequest(request)), request);
  assert.deepEqual(decodeReplayRequest(encodeReplayRequest({ scope: CLUSTER_SCOPE, after: 0, requestId: 'new' })), {
    scope: CLUSTER_SCOPE, after: 0, limit: 0, knownStreamId: undefined, requestId: 'new', maxChunkBytes: 0,
  });
});

test('bad replay requests are refused with the code the error answer needs', () => {
  const raw = (init: Parameters<typeof create<typeof ReplayRequestSchema>>[1]) => toBinary(ReplayRequestSchema, create(ReplayRequestSchema, { requestId: 'r', scope: 'cluster', ...init }));
  const cases: Array<[Uint8Array, RequestErrorCode]> = [
    [Uint8Array.of(0xff, 0xff, 0xff), RequestErrorCode.BAD_REQUEST],
    [raw({ scope: 'node/Bad_Name' }), RequestErrorCode.INVALID_SCOPE],
    [raw({ after: 2n ** 60n }), RequestErrorCode.BAD_REQUEST],
    [raw({ maxChunkBytes: 10 }), RequestErrorCode.INVALID_LIMIT],
    [raw({ maxChunkBytes: 64 * 1024 * 1024 }), RequestErrorCode.INVALID_LIMIT],
    [raw({ requestId: '' }), RequestErrorCode.BAD_REQUEST],
    [raw({ knownStreamId: 'not-hex' }), RequestErrorCode.BAD_REQUEST],
  ];
  for (const [bytes, code] of cases) {
    let caught: unknown;
    try {
      decodeReplayRequest(bytes);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof SchemaError, `accepted ${Buffer.from(bytes).toString('hex')}`);
    const answer = requestErrorFor(caught);
    assert.equal(answer.code, code, caught.message);
    assert.ok(answer.message.length > 10);
  }
  assert.equal(requestErrorFor(new Error('disk full')).code, RequestErrorCode.INTERNAL);
});

test('a snapshot answer streams start, bounded chunks, end of snapshot, tail and end marker in sequence', () => {
  const w = new ReplayResponseWriter({ streamId, requestId: 'req-9', scope: node, maxChunkBytes: 8 * 1024 });
  const snap = snapshotEntries(300);
  const tl = tail(4000, 120);
  const out = [...w.snapshotStart(4000), ...snap.flatMap((f) => w.add(f)), ...w.snapshotEnd(4000), ...tl.flatMap((f) => w.add(f)), ...w.end(4120, 4120)];
  const messages = out.map((bytes) => {
    assert.ok(bytes.length <= 8 * 1024, `message of ${bytes.length} bytes`);
    return decodeReplayResponse(bytes);
  });
  assert.deepEqual(messages.map((m) => m.sequence), messages.map((_, i) => i));
  assert.ok(messages.every((m) => m.streamId === STREAM && m.requestId === 'req-9' && formatScope(m.scope) === 'node/worker-3.example.com'));
  const types = messages.map((m) => m.type);
  assert.equal(types[0], 'snapshotStart');
  assert.equal(types.at(-1), 'end');
  const snapEnd = types.indexOf('snapshotEnd');
  assert.ok(snapEnd > 1 && types.slice(1, snapEnd).every((t) => t === 'updates'));
  const frames = (ms: ReplayMessage[]) => ms.flatMap((m) => (m.type === 'updates' ? m.frames.map((f) => [f.version, f.prevVersion]) : []));
  assert.deepEqual(frames(messages.slice(0, snapEnd)), snap.map((f) => [f.version, 0]));
  assert.deepEqual(frames(messages.slice(snapEnd)), tl.map((f) => [f.version, f.prevVersion]));
  const end = messages.at(-1)!;
  assert.deepEqual(end.type === 'end' && [end.head, end.lastVersion], [4120, 4120]);
  assert.equal(w.sequence, messages.length);
});

test('chunks are byte-for-byte what the generated encoder writes, and decode to the same updates', () => {
  const w = new ReplayResponseWriter({ streamId, requestId: 'x', scope: CLUSTER_SCOPE, maxChunkBytes: 4096 });
  const tl = tail(10, 40);
  const out = [...tl.flatMap((f) => w.add(f)), ...w.end(50, 50)];
  let seen = 0;
  for (const bytes of out) {
    const reference = fromBinary(ReplayResponseSchema, bytes);
    assert.deepEqual(toBinary(ReplayResponseSchema, reference), bytes);
    const ours = decodeReplayResponse(bytes);
    if (ours.type !== 'updates' || reference.body.case !== 'updates') continue;
    const chunk = reference.body.value;
    ours.frames.forEach((f, i) => {
      const r = chunk.updates[i]!;
      assert.equal(BigInt(f.version), r.version);
      assert.deepEqual(toBinary(ResourceUpdateSchema, decodeFrame(f).update), toBinary(ResourceUpdateSchema, r.update!));
      seen++;
    });
  }
  assert.equal(seen, 40);
});

test('a replay that finds nothing still answers with the end marker carrying head', () => {
  const w = new ReplayResponseWriter({ streamId, requestId: 'empty', scope: node });
  const [only, ...rest] = w.end(77, 77);
  assert.equal(rest.length, 0);
  assert.deepEqual(decodeReplayResponse(only!), { streamId, requestId: 'empty', scope: node, sequence: 0, type: 'end', head: 77, lastVersion: 77 });
});

test('an error answer drops pending updates and closes the answer', () => {
  const w = new ReplayResponseWriter({ streamId, requestId: 'e', scope: node });
  w.add(tail(1, 1)[0]!);
  const out = w.error({ code: RequestErrorCode.BUSY, message: 'shedding load', retryAfterMs: 250 });
  assert.equal(out.length, 1);
  const m = decodeReplayResponse(out[0]!);
  assert.deepEqual(m.type === 'error' && m.error, { code: RequestErrorCode.BUSY, message: 'shedding load', retryAfterMs: 250 });
  assert.equal(m.sequence, 0);
  assert.throws(() => w.end(1, 1), ClosedError);
});

test('the writer refuses answers that break the replay contract', () => {
  const [a, b] = tail(100, 2) as [UpdateFrame, UpdateFrame];
  const fresh = () => new ReplayResponseWriter({ streamId, requestId: 'c', scope: node });
  let w = fresh();
  w.add(a);
  assert.throws(() => w.snapshotStart(5), /snapshotStart must come first/);
  assert.throws(() => w.add(a), /does not follow/);
  w = fresh();
  w.snapshotStart(10);
  assert.throws(() => w.add(b), /prev_version 0/);
  assert.throws(() => w.end(10, 10), /inside a snapshot/);
  assert.throws(() => w.snapshotEnd(11), /does not match/);
  w = fresh();
  w.add(b);
  assert.throws(() => w.end(200, 50), /contradicts/);
  assert.throws(() => new ReplayResponseWriter({ streamId, requestId: 'c', scope: node, maxChunkBytes: 100 }), { code: 'SCHEMA_INVALID_LIMIT' });
  const huge = { version: 1, prevVersion: 0, payload: new Uint8Array(5000).fill(1) };
  assert.throws(() => new ReplayResponseWriter({ streamId, requestId: 'c', scope: node, maxChunkBytes: 4096, maxPayloadBytes: 4096 }).add(huge), { code: 'SCHEMA_MESSAGE_TOO_LARGE' });
});

test('one update larger than the chunk bound goes alone, under the payload limit', () => {
  const w = new ReplayResponseWriter({ streamId, requestId: 'big', scope: node, maxChunkBytes: 4096 });
  const labels = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`label-${i}`, 'x'.repeat(20)]));
  const fat = encodeResourceUpdate(createResourceUpdate({ object: { case: 'namespace', value: { uid: 'u', name: 'n', labels } } }));
  assert.ok(fat.length > 4096);
  const [small1, , small2] = tail(0, 3) as [UpdateFrame, UpdateFrame, UpdateFrame];
  const out = [...w.add(small1), ...w.add({ version: 2, prevVersion: 1, payload: fat }), ...w.add(small2), ...w.end(3, 3)];
  const messages = out.map((b) => decodeReplayResponse(b));
  assert.deepEqual(messages.map((m) => (m.type === 'updates' ? m.frames.map((f) => f.version) : m.type)), [[1], [2], [3], 'end']);
  assert.ok(out[1]!.length > 4096 && out[1]!.length < 2 * fat.length);
});

test('random bytes and cut responses are refused with SchemaError', () => {
  const w = new ReplayResponseWriter({ streamId, requestId: 'g', scope: node });
  const bytes = [...tail(1, 5).flatMap((f) => w.add(f)), ...w.end(6, 6)][0]!;
  for (let cut = 0; cut < bytes.length; cut++) assert.throws(() => decodeReplayResponse(bytes.subarray(0, cut)), SchemaError, `cut at ${cut}`);
  const random = seededRandom(99);
  for (let i = 0; i < 2000; i++) {
    const garbage = Uint8Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256));
    assert.throws(() => decodeReplayResponse(garbage), SchemaError);
  }
});

test('flow-control acks survive encode and decode', () => {
  assert.deepEqual(decodeReplayAck(encodeReplayAck({ requestId: 'r', sequence: 41 })), { requestId: 'r', sequence: 41 });
  assert.throws(() => decodeReplayAck(encodeReplayAck({ requestId: '', sequence: 1 })), { code: 'SCHEMA_INVALID_MESSAGE' });
});
