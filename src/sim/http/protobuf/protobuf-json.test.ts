import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ManualClock } from '../../../core/index.ts';
import { ClusterModel } from '../../model/cluster-model.ts';
import { PodSchema } from '../../gen/k8s/core/v1/pod_pb.js';
import { LeaseSchema } from '../../gen/k8s/coordination/v1/coordination_pb.js';
import type { KubeObject, KubeObjectInput } from '../../model/objects.ts';
import { decodeObject, storedBytes } from './protobuf-codec.ts';
import { jsonToMessage, messageToJson, parseTime, UNKNOWN_FIELDS } from './protobuf-json.ts';
import { objectSchemaOf } from './protobuf-schemas.ts';
import { concat, envelope, MAGIC } from './protobuf-wire.ts';
import { RESOURCES } from '../../model/resources.ts';
import { ScenarioEngine } from '../../scenario/scenario.ts';

const START = Date.parse('2025-03-01T12:00:00Z');

/** JSON → protobuf bytes → JSON, through the kind's schema. */
function roundTrip(object: KubeObject | KubeObjectInput): Record<string, unknown> {
  const schema = objectSchemaOf(object.kind);
  assert.ok(schema, `a schema for ${object.kind}`);
  const bytes = toBinary(schema, jsonToMessage(schema, object));
  // Encoding what was decoded gives the same bytes: nothing is lost or reordered on the way.
  assert.deepEqual(toBinary(schema, jsonToMessage(schema, messageToJson(schema, fromBinary(schema, bytes)))), bytes, `${object.kind} re-encodes identically`);
  return { apiVersion: object.apiVersion, kind: object.kind, ...messageToJson(schema, fromBinary(schema, bytes)) };
}

/** What protobuf cannot carry and Kubernetes' JSON leaves out anyway: nulls and empty lists. */
function normalized(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map((v) => normalized(v) ?? null);
  if (typeof value !== 'object' || value === null) return value === null ? undefined : value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const n = normalized(v);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

/** Stored-only kinds as `kubectl apply -k deploy/` and typical charts create them. */
function storedOnlyObjects(): KubeObjectInput[] {
  const meta = (name: string, namespace?: string): KubeObjectInput['metadata'] => ({ name, ...(namespace ? { namespace } : {}), labels: { 'app.kubernetes.io/name': 'kubemeta' } });
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('kubemeta', 'kubemeta'), automountServiceAccountToken: false, imagePullSecrets: [{ name: 'registry' }], secrets: [{ name: 'token', namespace: 'kubemeta' }] },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('kubemeta-config', 'kubemeta'), data: { 'config.yaml': 'serve:\n  cluster: prod\n' }, binaryData: { blob: Buffer.from([0, 1, 2, 255]).toString('base64') }, immutable: true },
    { apiVersion: 'v1', kind: 'Secret', metadata: meta('nats-password', 'kubemeta'), type: 'Opaque', data: { password: Buffer.from('hunter2').toString('base64') } },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: meta('data-kubemeta-0', 'kubemeta'),
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } }, storageClassName: 'standard', volumeMode: 'Filesystem', volumeName: 'pvc-1' },
      status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '10Gi' } },
    },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta('leader', 'kubemeta'), rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update'] }] },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta('leader', 'kubemeta'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'leader' },
      subjects: [{ kind: 'ServiceAccount', name: 'kubemeta', namespace: 'kubemeta' }],
    },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta('kubemeta-reader'), rules: [{ apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['list', 'watch'] }, { nonResourceURLs: ['/healthz'], verbs: ['get'] }] },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta('kubemeta-reader'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kubemeta-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'kubemeta', namespace: 'kubemeta' }],
    },
  ];
}

test('every object of every kind the sim serves survives JSON → protobuf → JSON', () => {
  const engine = new ScenarioEngine({ seed: 5, nodes: 4, namespaces: 3, podsPerNode: 10, statefulSets: 1, cronJobs: 1, clock: new ManualClock(START) });
  engine.populate();
  engine.step(40);
  const objects: Array<KubeObject | KubeObjectInput> = engine.model.resources().flatMap((r) => engine.model.list(r.kind).items.map((s) => s.object));
  objects.push(...storedOnlyObjects());
  const covered = new Set<string>();
  for (const object of objects) {
    covered.add(object.kind);
    assert.deepEqual(roundTrip(object), normalized(JSON.parse(JSON.stringify(object))), `${object.kind} ${object.metadata.namespace ?? ''}/${String(object.metadata.name)}`);
  }
  assert.deepEqual([...covered].sort(), RESOURCES.map((r) => r.kind).sort(), 'every served kind was checked');
});

test('Kubernetes JSON rules: presence, omitempty, inline structs, scalar types', () => {
  const pod: KubeObjectInput = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', creationTimestamp: '2025-03-01T12:00:00Z', deletionGracePeriodSeconds: 0, generateName: '' },
    spec: {
      // A Go pointer: zero is kept. An omitempty value: zero is left out.
      terminationGracePeriodSeconds: 0,
      hostNetwork: false,
      containers: [
        {
          name: 'app',
          image: 'nginx',
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          resources: { requests: { cpu: '100m', memory: 1048576 } },
          readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
          livenessProbe: { tcpSocket: { port: 8080 } },
          env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k', optional: false } } }],
        },
      ],
      volumes: [{ name: 'cfg', configMap: { name: 'cm', defaultMode: 420 } }],
    },
    status: {
      phase: 'Running',
      startTime: '2025-03-01T12:00:05Z',
      conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2025-03-01T12:00:05Z' }],
      containerStatuses: [{ name: 'app', ready: false, restartCount: 0, image: 'nginx', imageID: '', state: { waiting: { reason: 'ContainerCreating' } } }],
    },
  };
  const back = roundTrip(pod) as { metadata: Record<string, unknown>; spec: Record<string, unknown>; status: Record<string, unknown> };
  assert.equal(back.metadata['deletionGracePeriodSeconds'], 0);
  assert.equal('generateName' in back.metadata, false, 'an empty omitempty string is left out');
  assert.equal(back.spec['terminationGracePeriodSeconds'], 0);
  assert.equal('hostNetwork' in back.spec, false, 'false omitempty bool is left out');
  const container = (back.spec['containers'] as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
  // Inline Go structs: the probe handler and the key selector's LocalObjectReference sit in the parent's object.
  assert.deepEqual(container['readinessProbe'], { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 });
  assert.deepEqual(container['livenessProbe'], { tcpSocket: { port: 8080 } });
  assert.deepEqual(container['env'], [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k', optional: false } } }]);
  assert.deepEqual(container['resources'], { requests: { cpu: '100m', memory: '1048576' } }, 'a numeric quantity becomes its string');
  assert.deepEqual(back.spec['volumes'], [{ name: 'cfg', configMap: { name: 'cm', defaultMode: 420 } }]);
  // Fields without omitempty keep their zero values, which strict clients (the Python client) require.
  assert.deepEqual((back.status['containerStatuses'] as unknown[])[0], { name: 'app', ready: false, restartCount: 0, image: 'nginx', imageID: '', state: { waiting: { reason: 'ContainerCreating' } } });
  assert.deepEqual(back.status['conditions'], [{ type: 'Ready', status: 'True', lastTransitionTime: '2025-03-01T12:00:05Z' }]);
  assert.equal(back.status['startTime'], '2025-03-01T12:00:05Z');

  const node = roundTrip({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, status: { daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } } });
  assert.deepEqual((node['status'] as Record<string, unknown>)['daemonEndpoints'], { kubeletEndpoint: { Port: 10250 } }, 'the capitalised JSON name');

  const deployment = roundTrip({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 0, strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } }, template: { metadata: { creationTimestamp: null } } }, status: {} });
  assert.deepEqual(deployment['spec'], { replicas: 0, strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } }, template: { metadata: {} } });
  assert.deepEqual(deployment['status'], {}, 'a set but empty message stays {}');
});

test('times: seconds for Time, microseconds for MicroTime, an empty Time is null', () => {
  const lease = roundTrip({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l' }, spec: { renewTime: '2025-03-01T12:00:00.123456Z', acquireTime: '2025-03-01T13:00:00.5+01:00' } });
  assert.deepEqual(lease['spec'], { renewTime: '2025-03-01T12:00:00.123456Z', acquireTime: '2025-03-01T12:00:00.500000Z' });
  // A Go client writes a zero non-pointer Time as an empty message: that is JSON null.
  const decoded = messageToJson(LeaseSchema, fromBinary(LeaseSchema, Uint8Array.from([0x12, 0x02, 0x22, 0x00])));
  assert.deepEqual(decoded, { spec: { renewTime: null } });
  assert.deepEqual(parseTime('2025-03-01T12:00:00Z'), { seconds: BigInt(Date.parse('2025-03-01T12:00:00Z') / 1000), nanos: 0 });
  assert.equal(parseTime('yesterday'), undefined);
  const pod = messageToJson(PodSchema, jsonToMessage(PodSchema, { metadata: { creationTimestamp: '2025-03-01T12:00:00.999Z' } }));
  assert.deepEqual(pod, { metadata: { creationTimestamp: '2025-03-01T12:00:00Z' } }, 'metav1.Time keeps whole seconds, as Kubernetes does');
});

test('JSON values that do not fit the schema are left out of the protobuf instead of failing', () => {
  const back = roundTrip({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', labels: { ok: 'yes', bad: 3 as unknown as string } }, spec: { replicas: 'three', paused: 'yes', minReadySeconds: 2 ** 40 } });
  assert.deepEqual(back['metadata'], { name: 'd', labels: { ok: 'yes' } });
  assert.deepEqual(back['spec'], {});
});

// --- unknown fields -----------------------------------------------------------------------------

/** A length-delimited protobuf field, written by hand (independent of protobuf-es). */
function field(no: number, payload: Uint8Array | string): Uint8Array {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return concat([varint((no << 3) | 2), varint(bytes.length), bytes]);
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Uint8Array.from(out);
}

test('fields the sim does not model are kept, at any depth, through the model and back to protobuf', () => {
  // A newer client's Pod: fields the .proto files do not declare on the Pod, its spec, a
  // container, a volume source (an inline struct in JSON) and in metadata.
  const unknownPod = field(99, 'pod-extension');
  const ephemeralContainers = field(34, field(1, field(1, 'debugger')));
  const restartPolicyRules = field(25, field(1, 'Restart'));
  const gcePersistentDisk = field(3, field(1, 'disk-1'));
  const managedFields = field(17, field(1, 'kubectl-create'));
  const container = concat([field(1, 'app'), field(2, 'nginx'), restartPolicyRules]);
  const volume = concat([field(1, 'data'), field(2, gcePersistentDisk)]);
  const spec = concat([field(1, volume), field(2, container), ephemeralContainers]);
  const metadata = concat([field(1, 'newer'), field(3, 'default'), managedFields]);
  const pod = concat([field(1, metadata), field(2, spec), unknownPod]);
  const body = concat(envelope('v1', 'Pod', [pod]));

  const json = decodeObject(body, { kind: 'Pod', apiVersion: 'v1' });
  assert.deepEqual(JSON.parse(JSON.stringify(json)), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'newer', namespace: 'default' },
    spec: { volumes: [{ name: 'data' }], containers: [{ name: 'app', image: 'nginx' }] },
  }, 'JSON clients see only what the sim models');
  assert.ok(json[UNKNOWN_FIELDS], 'the unknown fields travel with the object');

  const model = new ClusterModel({ clock: new ManualClock(START) });
  model.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const stored = model.create(json as KubeObjectInput);
  const bytes = Buffer.from(storedBytes(stored));
  for (const [what, part] of Object.entries({ unknownPod, ephemeralContainers, restartPolicyRules, gcePersistentDisk, managedFields })) {
    assert.ok(bytes.includes(Buffer.from(part)), `${what} is in the stored object's protobuf`);
  }
  assert.equal(stored.json.includes('disk-1'), false, 'and not in its JSON');
  // A later write that keeps those parts of the object keeps them too.
  const relabelled = model.update({ ...stored.object, metadata: { ...stored.object.metadata, labels: { a: 'b' } } });
  assert.ok(Buffer.from(storedBytes(relabelled)).includes(Buffer.from(unknownPod)));
});

test('a malformed protobuf body is a 400 that says what is wrong', () => {
  const expected = { kind: 'Pod', apiVersion: 'v1' };
  const problems: Array<[Uint8Array, RegExp]> = [
    [Buffer.from('{"kind":"Pod"}'), /expected prefix \[107 56 115 0\].*got \[123 34 107 105\]/],
    [new Uint8Array(0), /request body is empty/],
    [concat([MAGIC, Uint8Array.from([0x0a, 0x20, 0x01])]), /not a valid runtime\.Unknown after the k8s\\0 prefix/],
    [concat(envelope('v1', 'Pod', [Uint8Array.from([0x12, 0x05, 0x0a])])), /Pod in version "v1" cannot be handled as a Pod: the protobuf message is malformed/],
    [concat(envelope('v1', 'Widget', [new Uint8Array(0)])), /no kind "Widget" is registered/],
  ];
  for (const [body, message] of problems) {
    assert.throws(
      () => decodeObject(body, expected),
      (err: unknown) => err instanceof Error && 'httpStatus' in err && err.httpStatus === 400 && (err as { code?: string }).code === 'SIM_BAD_REQUEST' && message.test(err.message),
      String(message),
    );
  }
  // Without a kind of its own the body is decoded as the kind the path expects.
  const bare = decodeObject(concat(envelope('', '', [field(1, field(1, 'x'))])), expected);
  assert.deepEqual(JSON.parse(JSON.stringify(bare)), { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } });
});
