import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KIND_NAMES, MAX_VERSION, ObjectKind, SchemaError, createResourceUpdate, formatTimeNs, isKind, isStreamId, isVersion,
  isWorkloadKind, kindFromWire, kindToWire, kinds, newStreamId, parseStreamId, timeNsFromMs, timeNsFromRfc3339, timeNsToMs,
  toVersion, updateIdentity,
} from './index.ts';
import { everyUpdateKind } from '../../test/fixtures/updates.ts';

test('versions up to 2^53 - 1 pass the guard; above it throws VERSION_OVERFLOW', () => {
  assert.equal(MAX_VERSION, 2 ** 53 - 1);
  assert.equal(toVersion(MAX_VERSION, 'v'), MAX_VERSION);
  assert.equal(toVersion(2n ** 53n - 1n, 'v'), MAX_VERSION);
  assert.equal(toVersion(0, 'v'), 0);
  for (const big of [2 ** 53, 2n ** 53n, 2n ** 64n - 1n, Number.POSITIVE_INFINITY]) {
    assert.throws(() => toVersion(big, 'head'), (err: unknown) => err instanceof SchemaError && err.code === 'SCHEMA_VERSION_OVERFLOW' && err.message.startsWith('head '));
  }
  for (const bad of [-1, 1.5, Number.NaN, -1n]) assert.throws(() => toVersion(bad, 'v'), { code: 'SCHEMA_INVALID_VERSION' });
  assert.ok(isVersion(5) && !isVersion(-1) && !isVersion(2 ** 53) && !isVersion('5'));
});

test('stream ids are 128 random bits in lowercase hex, and anything else is refused', () => {
  const ids = new Set(Array.from({ length: 1000 }, () => newStreamId()));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^[0-9a-f]{32}$/);
  for (const bad of ['', 'ABCDEF0123456789ABCDEF0123456789', '0123456789abcdef0123456789abcde', 'g'.repeat(32)]) {
    assert.throws(() => parseStreamId(bad), { code: 'SCHEMA_INVALID_STREAM_ID' });
    assert.ok(!isStreamId(bad));
  }
});

test('every update names its kind and uid; workload and scope-exit kinds come from their kind field', () => {
  const identities = everyUpdateKind.map(([, u]) => updateIdentity(u));
  assert.deepEqual(identities.map((i) => [i.kind, i.scopeExit]), [
    ['Pod', false], ['Container', false], ['Service', false], ['Service', false], ['Namespace', false],
    ['Node', false], ['Deployment', false], ['ReplicaSet', false], ['Service', true], ['NetworkRanges', false],
  ]);
  assert.equal(identities[1]!.uid, 'b'.repeat(64), 'a container is keyed by its bare id');
  assert.throws(() => updateIdentity(createResourceUpdate({ object: { case: 'scopeExit', value: { kind: 99 as ObjectKind, uid: 'x' } } })), /unknown object kind 99/);
  assert.throws(() => updateIdentity(createResourceUpdate({ object: { case: 'container', value: { name: 'c' } } })), /empty container id/);
});

test('the kinds table maps both ways to the wire enum and marks owner kinds', () => {
  assert.equal(KIND_NAMES.length, Object.keys(ObjectKind).length - 1, 'every ObjectKind but UNSPECIFIED has a kind');
  for (const kind of KIND_NAMES) assert.equal(kindFromWire(kindToWire(kind)), kind);
  assert.equal(kindFromWire(ObjectKind.UNSPECIFIED), undefined);
  assert.deepEqual(KIND_NAMES.filter(isWorkloadKind), ['ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']);
  assert.equal(kinds.Pod.update, 'pod');
  assert.ok(isKind('Node') && !isKind('toString') && !isKind('node'));
});

test('Kubernetes timestamps convert to nanoseconds without losing fraction digits', () => {
  assert.equal(timeNsFromRfc3339('2024-05-01T12:00:00Z'), 1_714_564_800_000_000_000n);
  assert.equal(timeNsFromRfc3339('2024-05-01T12:00:00.123456Z'), 1_714_564_800_123_456_000n);
  assert.equal(timeNsFromRfc3339('2024-05-01T14:00:00.000000001+02:00'), 1_714_564_800_000_000_001n);
  assert.equal(timeNsFromRfc3339(undefined), 0n);
  assert.equal(timeNsFromRfc3339(''), 0n);
  for (const bad of ['yesterday', '2024-05-01', '2024-13-01T00:00:00Z', '2024-05-01T12:00:00.1234567890Z']) {
    assert.throws(() => timeNsFromRfc3339(bad), { code: 'SCHEMA_INVALID_TIME' }, bad);
  }
  assert.equal(formatTimeNs(1_714_564_800_123_456_789n), '2024-05-01T12:00:00.123456789Z');
  assert.equal(formatTimeNs(0n), '');
  assert.equal(timeNsToMs(1_714_564_800_123_456_789n), 1_714_564_800_123);
  assert.equal(timeNsFromMs(1_714_564_800_123), 1_714_564_800_123_000_000n);
});
