// The simulator's API in Kubernetes protobuf (application/vnd.kubernetes.protobuf), as client-go's
// typed clients speak it: bodies in and out, LIST pages, watch frames, Status errors, unknown
// fields, and what stays JSON. Responses are decoded with the generated messages and the
// envelope reader; the requests' unknown fields are written by hand, independent of them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { parse as parseYaml } from 'yaml';
import { waitFor } from '../../src/core/index.ts';
import { startSimApiServer, type SimApiServer } from '../../src/sim/http/api-server.ts';
import { ClusterModel } from '../../src/sim/model/cluster-model.ts';
import { DeploymentSchema } from '../../src/sim/gen/k8s/apps/v1/apps_pb.js';
import { ScaleSchema } from '../../src/sim/gen/k8s/autoscaling/v1/autoscaling_pb.js';
import { PodListSchema, PodSchema } from '../../src/sim/gen/k8s/core/v1/pod_pb.js';
import { DeleteOptionsSchema, StatusSchema, WatchEventSchema } from '../../src/sim/gen/k8s/meta/v1/meta_pb.js';
import { jsonToMessage, messageToJson } from '../../src/sim/http/protobuf/protobuf-json.ts';
import { concat, envelope, openEnvelope, PROTOBUF_MEDIA_TYPE } from '../../src/sim/http/protobuf/protobuf-wire.ts';
import { deployment, pod, populate } from '../fixtures/sim-objects.ts';

const PROTOBUF_FIRST = `${PROTOBUF_MEDIA_TYPE},application/json`;
const pods = '/api/v1/namespaces/default/pods';

interface Answer {
  status: number;
  contentType: string;
  body: Buffer;
}

/** A Kubernetes object of `schema` as a protobuf request body. */
function body<Desc extends DescMessage>(schema: Desc, apiVersion: string, kind: string, json: unknown): Uint8Array {
  return concat(envelope(apiVersion, kind, [toBinary(schema, jsonToMessage(schema, json))]));
}

/** A response body's object: its envelope checked against `kind`, its message decoded. */
function decode<Desc extends DescMessage>(schema: Desc, answer: Answer, kind: string, apiVersion: string): MessageShape<Desc> {
  assert.equal(answer.contentType, PROTOBUF_MEDIA_TYPE);
  const env = openEnvelope(answer.body);
  assert.deepEqual([env.apiVersion, env.kind], [apiVersion, kind]);
  return fromBinary(schema, env.raw);
}

function statusOf(answer: Answer): { code: number; reason: string; message: string } {
  const s = decode(StatusSchema, answer, 'Status', 'v1');
  return { code: s.code, reason: s.reason, message: s.message };
}

/** A length-delimited field written by hand, for unknown fields. */
function field(no: number, payload: string | Uint8Array): Uint8Array {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return concat([varint((no << 3) | 2), varint(bytes.length), bytes]);
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return Uint8Array.from(out);
}

interface Frame {
  type: string;
  kind: string;
  raw: Uint8Array;
}

/** Reads length-prefixed WatchEvent frames as they arrive. */
async function openProtobufWatch(url: string): Promise<{ contentType: string; frames: Frame[]; close: () => void }> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: PROTOBUF_FIRST }, signal: abort.signal });
  assert.equal(res.status, 200);
  const frames: Frame[] = [];
  void (async () => {
    let buffered = Buffer.alloc(0);
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
          const length = buffered.readUInt32BE(0);
          const event = fromBinary(WatchEventSchema, buffered.subarray(4, 4 + length));
          const env = openEnvelope(event.object?.raw ?? new Uint8Array(0));
          frames.push({ type: event.type ?? '', kind: env.kind, raw: env.raw });
          buffered = buffered.subarray(4 + length);
        }
      }
    } catch {
      // aborted
    }
  })();
  return { contentType: res.headers.get('content-type') ?? '', frames, close: () => abort.abort() };
}

describe('the sim API in Kubernetes protobuf', () => {
  let model: ClusterModel;
  let sim: SimApiServer;
  let base: string;

  const call = async (path: string, init: { method?: string; accept?: string; contentType?: string; body?: Uint8Array | string } = {}): Promise<Answer> => {
    const headers: Record<string, string> = { accept: init.accept ?? PROTOBUF_FIRST };
    if (init.contentType) headers['content-type'] = init.contentType;
    const res = await fetch(base + path, { method: init.method ?? 'GET', headers, body: init.body });
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: Buffer.from(await res.arrayBuffer()) };
  };

  before(async () => {
    model = new ClusterModel();
    populate(model, { nodes: 2, pods: 7 });
    sim = await startSimApiServer(model, { bookmarkIntervalMs: 100 });
    base = sim.url;
  });

  after(() => sim.close());

  it('creates from a protobuf body and answers in protobuf; JSON clients read the same object', async () => {
    const created = await call('/apis/apps/v1/namespaces/default/deployments', {
      method: 'POST',
      contentType: PROTOBUF_MEDIA_TYPE,
      body: body(DeploymentSchema, 'apps/v1', 'Deployment', { ...deployment('pb-web', 0), status: {} }),
    });
    assert.equal(created.status, 201);
    const d = decode(DeploymentSchema, created, 'Deployment', 'apps/v1');
    assert.equal(d.metadata?.name, 'pb-web');
    assert.equal(d.spec?.replicas, 0, 'a pointer field set to zero survives');
    const stored = model.get('Deployment', 'default', 'pb-web');
    assert.equal(d.metadata?.uid, stored?.object.metadata.uid);
    assert.equal(d.metadata?.resourceVersion, stored?.object.metadata.resourceVersion);
    const json = (await (await fetch(`${base}/apis/apps/v1/namespaces/default/deployments/pb-web`)).json()) as { spec: { replicas: number; template: { spec: { containers: Array<{ image: string }> } } } };
    assert.equal(json.spec.replicas, 0);
    assert.equal(json.spec.template.spec.containers[0]?.image, 'nginx:1.27');
  });

  it('GETs and LISTs in protobuf, pages included, with the same objects as JSON', async () => {
    const one = decode(PodSchema, await call(`${pods}/pod-0000`), 'Pod', 'v1');
    assert.deepEqual(JSON.parse(JSON.stringify(messageToJson(PodSchema, one))), JSON.parse(JSON.stringify({ ...model.get('Pod', 'default', 'pod-0000')?.object, apiVersion: undefined, kind: undefined })));

    const names: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = decode(PodListSchema, await call(`/api/v1/pods?limit=3${token ? `&continue=${encodeURIComponent(token)}` : ''}`), 'PodList', 'v1');
      pages++;
      names.push(...page.items.map((p) => p.metadata?.name ?? ''));
      if (page.metadata?.continue) assert.equal(Number(page.metadata.remainingItemCount), 7 - names.length);
      token = page.metadata?.continue ?? '';
    } while (token !== '');
    assert.equal(pages, 3);
    const jsonList = (await (await fetch(`${base}/api/v1/pods`)).json()) as { items: Array<{ metadata: { name: string } }> };
    assert.deepEqual(names, jsonList.items.map((i) => i.metadata.name));
  });

  it('keeps fields it does not model: a protobuf client reads them back, a JSON client never sees them', async () => {
    const extension = field(99, 'from-a-newer-client');
    const spec = concat([field(2, concat([field(1, 'app'), field(2, 'busybox'), field(25, field(1, 'Restart'))]))]);
    const raw = concat([field(1, concat([field(1, 'newer'), field(3, 'default')])), field(2, spec), extension]);
    const created = await call(pods, { method: 'POST', contentType: PROTOBUF_MEDIA_TYPE, body: concat(envelope('v1', 'Pod', [raw])) });
    assert.equal(created.status, 201);
    const read = await call(`${pods}/newer`);
    assert.ok(read.body.includes(Buffer.from(extension)), 'the unknown Pod field');
    assert.ok(read.body.includes(Buffer.from(field(25, field(1, 'Restart')))), 'the unknown Container field');
    const json = await (await fetch(`${base}${pods}/newer`)).text();
    assert.equal(json.includes('from-a-newer-client'), false);
    assert.match(json, /"phase":"Pending"/, 'create defaults apply');
  });

  it('updates in protobuf, with optimistic concurrency answered by a protobuf Status', async () => {
    const current = decode(PodSchema, await call(`${pods}/pod-0002`), 'Pod', 'v1');
    const json = { ...messageToJson(PodSchema, current), metadata: { ...messageToJson(PodSchema, current)['metadata'] as object, labels: { updated: 'pb' } } };
    const updated = await call(`${pods}/pod-0002`, { method: 'PUT', contentType: PROTOBUF_MEDIA_TYPE, body: body(PodSchema, 'v1', 'Pod', json) });
    assert.equal(updated.status, 200);
    assert.deepEqual(decode(PodSchema, updated, 'Pod', 'v1').metadata?.labels, { updated: 'pb' });
    const stale = await call(`${pods}/pod-0002`, { method: 'PUT', contentType: PROTOBUF_MEDIA_TYPE, body: body(PodSchema, 'v1', 'Pod', json) });
    assert.equal(stale.status, 409);
    assert.deepEqual({ ...statusOf(stale), message: '' }, { code: 409, reason: 'Conflict', message: '' });
  });

  it('deletes with protobuf DeleteOptions (preconditions) and serves the scale subresource', async () => {
    const options = (uid: string): Uint8Array => concat(envelope('v1', 'DeleteOptions', [toBinary(DeleteOptionsSchema, create(DeleteOptionsSchema, { preconditions: { uid } }))]));
    const wrong = await call(`${pods}/pod-0004`, { method: 'DELETE', contentType: PROTOBUF_MEDIA_TYPE, body: options('not-it') });
    assert.equal(wrong.status, 409);
    assert.match(statusOf(wrong).message, /Precondition failed: UID in precondition: not-it/);
    const uid = model.get('Pod', 'default', 'pod-0004')?.object.metadata.uid ?? '';
    const deleted = await call(`${pods}/pod-0004`, { method: 'DELETE', contentType: PROTOBUF_MEDIA_TYPE, body: options(uid) });
    assert.equal(deleted.status, 200);
    assert.equal(decode(PodSchema, deleted, 'Pod', 'v1').metadata?.uid, uid);

    model.create(deployment('scaled', 2));
    const scalePath = '/apis/apps/v1/namespaces/default/deployments/scaled/scale';
    const scale = decode(ScaleSchema, await call(scalePath), 'Scale', 'autoscaling/v1');
    assert.equal(scale.spec?.replicas, 2);
    const put = await call(scalePath, { method: 'PUT', contentType: PROTOBUF_MEDIA_TYPE, body: concat(envelope('autoscaling/v1', 'Scale', [toBinary(ScaleSchema, { ...scale, spec: { $typeName: 'k8s.autoscaling.v1.ScaleSpec', replicas: 5 } })])) });
    assert.equal(decode(ScaleSchema, put, 'Scale', 'autoscaling/v1').spec?.replicas, 5);
    assert.equal((model.get('Deployment', 'default', 'scaled')?.object['spec'] as { replicas: number }).replicas, 5);
  });

  it('watches in protobuf frames: initial events, ADDED, MODIFIED, DELETED, bookmarks', async () => {
    const w = await openProtobufWatch(`${base}/api/v1/namespaces/team-a/pods?watch=1&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`);
    try {
      assert.equal(w.contentType, 'application/vnd.kubernetes.protobuf;stream=watch');
      const initial = model.list('Pod', { namespace: 'team-a' }).items.length;
      const endOfInitial = await waitFor(() => w.frames.find((f) => f.type === 'BOOKMARK' && fromBinary(PodSchema, f.raw).metadata?.annotations['k8s.io/initial-events-end'] === 'true'), { what: 'the initial-events-end bookmark' });
      assert.equal(w.frames.indexOf(endOfInitial), initial, 'after one ADDED per pod');
      assert.ok(w.frames.slice(0, initial).every((f) => f.type === 'ADDED' && f.kind === 'Pod'));

      const p = model.create(pod('watched-pb', { namespace: 'team-a', phase: 'Pending' }));
      model.update({ ...p.object, status: { phase: 'Running' } });
      model.delete('Pod', 'team-a', 'watched-pb');
      const events = await waitFor(() => {
        const mine = w.frames.filter((f) => f.type !== 'BOOKMARK' && fromBinary(PodSchema, f.raw).metadata?.name === 'watched-pb');
        return mine.length === 3 ? mine : undefined;
      }, { what: 'ADDED, MODIFIED and DELETED of watched-pb' });
      assert.deepEqual(events.map((e) => [e.type, fromBinary(PodSchema, e.raw).status?.phase]), [['ADDED', 'Pending'], ['MODIFIED', 'Running'], ['DELETED', 'Running']]);
      await waitFor(() => w.frames.slice(initial + 1).some((f) => f.type === 'BOOKMARK'), { what: 'a periodic bookmark' });
    } finally {
      w.close();
    }
  });

  it('answers a watch from an expired resourceVersion with a protobuf ERROR frame', async () => {
    model.compactHistory();
    const w = await openProtobufWatch(`${base}/api/v1/pods?watch=true&resourceVersion=1`);
    try {
      const error = await waitFor(() => w.frames[0], { what: 'the ERROR frame' });
      assert.equal(error.type, 'ERROR');
      assert.equal(error.kind, 'Status');
      const status = fromBinary(StatusSchema, error.raw);
      assert.deepEqual([status.code, status.reason], [410, 'Expired']);
    } finally {
      w.close();
    }
  });

  it('refuses what the API server refuses: malformed bodies 400, protobuf patches 415, unservable Accept 406', async () => {
    const malformed = await call(pods, { method: 'POST', contentType: PROTOBUF_MEDIA_TYPE, body: '{"kind":"Pod"}' });
    assert.equal(malformed.status, 400);
    assert.match(statusOf(malformed).message, /does not appear to be a protobuf message, expected prefix \[107 56 115 0\]/);
    const truncated = await call(pods, { method: 'POST', accept: 'application/json', contentType: PROTOBUF_MEDIA_TYPE, body: concat(envelope('v1', 'Pod', [Uint8Array.of(0x0a, 0x09, 0x0a)])) });
    assert.equal(truncated.status, 400);
    assert.equal(truncated.contentType, 'application/json', 'a JSON client gets its Status in JSON');
    assert.match((JSON.parse(truncated.body.toString()) as { message: string }).message, /Pod in version "v1" cannot be handled as a Pod: the protobuf message is malformed/);

    const patch = await call(`${pods}/pod-0000`, { method: 'PATCH', contentType: PROTOBUF_MEDIA_TYPE, body: body(PodSchema, 'v1', 'Pod', {}) });
    assert.equal(patch.status, 415);
    const unknownType = await call(pods, { method: 'POST', contentType: 'text/plain', body: '{}' });
    assert.deepEqual([unknownType.status, statusOf(unknownType).reason], [415, 'UnsupportedMediaType']);

    const notAcceptable = await call(`${pods}/pod-0000`, { accept: 'text/html' });
    assert.equal(notAcceptable.status, 406);
    assert.match(notAcceptable.body.toString(), /only the following media types are accepted: application\/json, application\/yaml, application\/vnd\.kubernetes\.protobuf/);
  });

  it('serves tables in JSON when the client lists protobuf first, and YAML as JSON text', async () => {
    const table = await call('/api/v1/pods', { accept: 'application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    assert.equal(table.status, 200);
    assert.equal(table.contentType, 'application/json;as=Table;g=meta.k8s.io;v=v1');
    assert.equal((JSON.parse(table.body.toString()) as { kind: string }).kind, 'Table');
    // YAML is served as JSON text, which is YAML.
    const yaml = await call(`${pods}/pod-0000`, { accept: 'application/yaml' });
    assert.equal(yaml.contentType, 'application/yaml');
    assert.equal((parseYaml(yaml.body.toString()) as { metadata: { name: string } }).metadata.name, 'pod-0000');
  });
});
