// The schema must be decodable by any protobuf implementation (issue 2): protoc, the reference
// C++ implementation, decodes what our hand-framed encoders write, and we decode what it
// encodes. CI installs protoc; without it these tests fail (they never skip).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  CLUSTER_SCOPE, MAX_VERSION, ReplayResponseWriter, decodeReplayResponse, decodeUpdateBatch, encodeResourceUpdate,
  encodeUpdateBatch, nodeScope, parseStreamId,
} from './index.ts';
import { STREAM, crashLoopingSidecar, runningPodWithSidecar, serviceLeavesNode } from '../../test/fixtures/updates.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function protoc(mode: 'decode' | 'encode', message: string, file: string, input: Uint8Array | string): Buffer {
  const result = spawnSync('protoc', [`--${mode}=kubemeta.v1.${message}`, '-I', 'proto', `proto/kubemeta/v1/${file}`], {
    cwd: root,
    input,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.error !== undefined && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail('protoc is not installed; the wire schema must be checked against it: apt-get install -y protobuf-compiler');
  }
  assert.equal(result.status, 0, `protoc --${mode} failed: ${result.stderr.toString()}`);
  return result.stdout;
}

test('protoc decodes a hand-framed UpdateBatch to the expected fields', () => {
  const pod = encodeResourceUpdate(runningPodWithSidecar);
  const container = encodeResourceUpdate(crashLoopingSidecar);
  const bytes = encodeUpdateBatch({
    streamId: parseStreamId(STREAM),
    scope: nodeScope('ip-10-0-12-34.ec2.internal'),
    frames: [
      { version: MAX_VERSION - 1, prevVersion: 12, payload: pod },
      { version: MAX_VERSION, prevVersion: MAX_VERSION - 1, payload: container },
    ],
  });
  const text = protoc('decode', 'UpdateBatch', 'updates.proto', bytes).toString();
  for (const expected of [
    `stream_id: "${STREAM}"`,
    'scope: "node/ip-10-0-12-34.ec2.internal"',
    'version: 9007199254740990',
    'prev_version: 12',
    'version: 9007199254740991',
    'prev_version: 9007199254740990',
    'name: "checkout-7d9f8b6c5d-x2k4p"',
    'phase: POD_PHASE_RUNNING',
    'create_time_ns: 1732700000123456789',
    'type: CONTAINER_TYPE_SIDECAR',
    'state: CONTAINER_STATE_WAITING',
    'restart_count: 7',
    'count: 2',
  ]) {
    assert.ok(text.includes(expected), `protoc output lacks ${expected}:\n${text}`);
  }
  // Unknown fields would print as bare numbers ("4: 2"): everything we wrote has a name.
  assert.doesNotMatch(text, /^\s*\d+:/m);
});

test('protoc decodes a replay chunk and the end marker', () => {
  const w = new ReplayResponseWriter({ streamId: parseStreamId(STREAM), requestId: 'req-42', scope: CLUSTER_SCOPE });
  const payload = encodeResourceUpdate(serviceLeavesNode);
  const [chunk, end] = [...w.add({ version: 900, prevVersion: 899, payload }), ...w.end(905, 900)];
  const chunkText = protoc('decode', 'ReplayResponse', 'replay.proto', chunk!).toString();
  for (const expected of ['request_id: "req-42"', 'scope: "cluster"', 'updates {', 'version: 900', 'prev_version: 899', 'kind: OBJECT_KIND_SERVICE', 'scope_exit {']) {
    assert.ok(chunkText.includes(expected), `protoc output lacks ${expected}:\n${chunkText}`);
  }
  assert.doesNotMatch(chunkText, /sequence:/, 'sequence 0 is omitted on the wire');
  const endText = protoc('decode', 'ReplayResponse', 'replay.proto', end!).toString();
  for (const expected of ['sequence: 1', 'end {', 'head: 905', 'last_version: 900', `stream_id: "${STREAM}"`]) {
    assert.ok(endText.includes(expected), `protoc output lacks ${expected}:\n${endText}`);
  }
});

test('messages protoc encodes from text decode with our hand-written readers', () => {
  const batch = protoc('encode', 'UpdateBatch', 'updates.proto', `
    stream_id: "${STREAM}"
    scope: "node/worker-1"
    updates { version: 41 prev_version: 40 update { pod { uid: "u-1" name: "p" namespace: "ns" labels { key: "app" value: "web" } create_time_ns: 1700000000000000001 } } }
    updates { version: 42 prev_version: 41 update { workload { kind: OBJECT_KIND_DEPLOYMENT uid: "d-1" name: "web" namespace: "ns" replicas: 3 } } }
    count: 2`);
  const decoded = decodeUpdateBatch(batch);
  assert.deepEqual(decoded.updates.map((u) => [u.version, u.prevVersion, u.update.object.case]), [[41, 40, 'pod'], [42, 41, 'workload']]);
  const pod = decoded.updates[0]!.update.object;
  assert.deepEqual(pod.case === 'pod' && [pod.value.labels, pod.value.createTimeNs], [{ app: 'web' }, 1_700_000_000_000_000_001n]);

  const response = protoc('encode', 'ReplayResponse', 'replay.proto', `
    stream_id: "${STREAM}" request_id: "r" scope: "cluster" sequence: 3 snapshot_start { version: 77 }`);
  assert.deepEqual(decodeReplayResponse(response), {
    streamId: STREAM, requestId: 'r', scope: CLUSTER_SCOPE, sequence: 3, type: 'snapshotStart', version: 77,
  });
});
