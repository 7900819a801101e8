// Codec micro-benchmark: what one update costs to encode and decode (hand-written payload
// encoder vs the generated one), and what a 100-update batch published on 3 scopes costs with
// the encode-once framing versus re-serializing per scope with the generated encoder. Median of several runs; writes bench/results/codec.json.
// Run: npx tsx bench/codec.ts   (numbers are machine-dependent; compare on the same machine)
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { UpdateBatchSchema } from '../src/schema/gen/kubemeta/v1/updates_pb.js';
import {
  CLUSTER_SCOPE, ConditionStatus, ResourceUpdateSchema, ContainerState, ContainerType, PodPhase, QosClass, createResourceUpdate, decodeResourceUpdate,
  decodeUpdateBatch, encodeResourceUpdate, encodeUpdateBatch, formatScope, newStreamId, nodeScope, readUpdateBatch,
} from '../src/schema/index.ts';
import type { ResourceUpdate, Scope, UpdateFrame } from '../src/schema/index.ts';

const RUNS = 9;
const T0 = 1_732_700_000_000_000_000n;

/** A pod as a 3-container workload pod looks after projection (init + sidecar + app). */
function podLike(i: number): ResourceUpdate {
  const hash = (0x7d9f8b6c + i).toString(16);
  return createResourceUpdate({ object: { case: 'pod', value: {
    uid: `f3b1c2d4-5e6f-4a8b-9c0d-${(i + 1e11).toString(16).padStart(12, '0')}`,
    name: `checkout-${hash}-x2k4p`, namespace: 'shop', nodeName: `ip-10-0-${i % 250}-34.ec2.internal`,
    hostname: `checkout-${hash}-x2k4p`, podIp: `10.244.${i % 250}.17`, podIps: [`10.244.${i % 250}.17`], hostIp: `10.0.${i % 250}.34`,
    phase: PodPhase.RUNNING,
    conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: ConditionStatus.TRUE })),
    labels: { app: 'checkout', 'pod-template-hash': hash, team: 'payments', 'app.kubernetes.io/version': '1.42.0' },
    ownerReferences: [{ kind: 'ReplicaSet', name: `checkout-${hash}`, uid: 'a1b2c3d4-0000-4a8b-9c0d-1e2f3a4b5c6d', controller: true }],
    qosClass: QosClass.BURSTABLE, createTimeNs: T0 + BigInt(i), startTimeNs: T0 + 1_000_000_000n,
    containers: ['init-config', 'istio-proxy', 'checkout'].map((name, k) => ({
      name, containerId: `${k}${i}`.padEnd(64, 'c'), type: [ContainerType.INIT, ContainerType.SIDECAR, ContainerType.REGULAR][k]!,
    })),
  } } });
}

function containerLike(i: number): ResourceUpdate {
  return createResourceUpdate({ object: { case: 'container', value: {
    containerId: `${i}`.padEnd(64, 'b'), runtime: 'containerd', name: 'checkout', podUid: `f3b1c2d4-5e6f-4a8b-9c0d-${i}`,
    podName: `checkout-7d9f8b6c5d-${i}`, namespace: 'shop', type: ContainerType.REGULAR, state: ContainerState.RUNNING,
    restartCount: 1, startTimeNs: T0 + BigInt(i),
  } } });
}

/**
 * Time per `unit` for `iterations` calls of `fn`, in µs: the median over RUNS, and the fastest
 * run (closest to the uncontended cost on a busy machine).
 */
function measure(iterations: number, units: number, fn: () => unknown): { median: number; min: number } {
  for (let i = 0; i < Math.max(100, iterations / 10); i++) fn(); // warm up the JIT
  const samples: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / iterations / units);
  }
  samples.sort((a, b) => a - b);
  return { median: round(samples[Math.floor(RUNS / 2)]!), min: round(samples[0]!) };
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

// One pod-like update.
const pod = podLike(1);
const podBytes = encodeResourceUpdate(pod);
const single = {
  bytes: podBytes.length,
  // encodeResourceUpdate: identity check + the hand-written payload encoder.
  encodeUs: measure(20_000, 1, () => encodeResourceUpdate(pod)),
  // The generated encoder on the same message (the reference the tests compare against).
  generatedEncodeUs: measure(20_000, 1, () => toBinary(ResourceUpdateSchema, pod)),
  decodeUs: measure(20_000, 1, () => decodeResourceUpdate(podBytes)),
};

// 100 updates (25 pods + 75 containers: what an initial sync of 3-container pods produces),
// each published on 3 scopes (cluster + 2 nodes).
const streamId = newStreamId();
const updates = Array.from({ length: 100 }, (_, i) => (i % 4 === 0 ? podLike(i) : containerLike(i)));
const scopes: Scope[] = [CLUSTER_SCOPE, nodeScope('ip-10-0-1-34.ec2.internal'), nodeScope('ip-10-0-2-34.ec2.internal')];
const framesFor = (payloads: Uint8Array[]): UpdateFrame[] => payloads.map((payload, i) => ({ version: 1_000_001 + i, prevVersion: 1_000_000 + i, payload }));

function encodeOnceFramed(): Uint8Array[] {
  const frames = framesFor(updates.map(encodeResourceUpdate));
  return scopes.map((scope) => encodeUpdateBatch({ streamId, scope, frames }));
}
function encodePerScopeGenerated(): Uint8Array[] {
  return scopes.map((scope) => toBinary(UpdateBatchSchema, create(UpdateBatchSchema, {
    streamId, scope: formatScope(scope), count: updates.length,
    updates: updates.map((update, i) => ({ version: BigInt(1_000_001 + i), prevVersion: BigInt(1_000_000 + i), update })),
  })));
}
const batches = encodeOnceFramed();
const batchBytes = batches[1]!;
const cachedFrames = framesFor(updates.map(encodeResourceUpdate));
const batch = {
  updates: updates.length,
  scopes: scopes.length,
  bytesPerBatch: batchBytes.length,
  payloadBytesPerUpdate: round(cachedFrames.reduce((n, f) => n + f.payload.length, 0) / updates.length),
  // µs per update, all 3 scopes included.
  encodeOnceAndFrameUs: measure(300, updates.length, encodeOnceFramed),
  frameOnlyFromCachedPayloadsUs: measure(2_000, updates.length, () => scopes.map((scope) => encodeUpdateBatch({ streamId, scope, frames: cachedFrames }))),
  generatedEncodePerScopeUs: measure(300, updates.length, encodePerScopeGenerated),
  // µs per update, one received batch.
  decodeUs: measure(300, updates.length, () => decodeUpdateBatch(batchBytes)),
  readEnvelopeOnlyUs: measure(5_000, updates.length, () => readUpdateBatch(batchBytes)),
  generatedDecodeUs: measure(300, updates.length, () => fromBinary(UpdateBatchSchema, batchBytes).updates.map((u) => Number(u.version))),
};

const result = {
  benchmark: 'codec',
  date: new Date().toISOString(),
  node: process.version,
  cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
  // Other work on the machine inflates every number; compare runs made at a similar load.
  loadAverage1m: round(loadavg()[0]!),
  runs: RUNS,
  statistic: 'µs per update: median and fastest of the runs',
  podUpdate: single,
  batch100x3: batch,
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/codec.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
