// The simulator's TokenRequest and TokenReview (src/sim/http/tokens.ts) over HTTP, on a manual clock:
// the claims a real API server puts in a pod-bound token, and the reasons a review fails.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../core/index.ts';
import { startSimApiServer, type SimApiServer } from './api-server.ts';
import { ClusterModel } from '../model/cluster-model.ts';

const START = Date.parse('2026-03-01T12:00:00Z');

describe('sim service-account tokens', () => {
  const clock = new ManualClock(START);
  const model = new ClusterModel({ clock });
  let api: SimApiServer;
  const post = async (path: string, body: unknown): Promise<{ status: number; json: Record<string, any> }> => {
    const res = await fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };
  const tokenFor = (sa: string, spec: Record<string, unknown>) => post(`/api/v1/namespaces/ns/serviceaccounts/${sa}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec });
  const review = (token: string, audiences?: string[]) =>
    post('/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences ? { audiences } : {}) } });
  const pod = (name: string, serviceAccountName: string) =>
    model.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns' }, spec: { nodeName: 'node-1', serviceAccountName, containers: [{ name: 'c', image: 'i' }] } });

  before(async () => {
    model.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } });
    model.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } });
    model.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'agent', namespace: 'ns' } });
    model.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'other', namespace: 'ns' } });
    api = await startSimApiServer(model, { clock });
  });
  after(() => api.close());

  it('issues a pod-bound token with the claims of a real API server, and reviews it with the pod in the extra fields', async () => {
    const p = pod('a', 'agent');
    const r = await tokenFor('agent', { audiences: ['kubemeta'], expirationSeconds: 600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'a' } });
    assert.equal(r.status, 201);
    assert.equal(r.json['kind'], 'TokenRequest');
    assert.equal(r.json['status'].expirationTimestamp, '2026-03-01T12:10:00Z');
    const token = r.json['status'].token as string;
    const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString())) as [Record<string, any>, Record<string, any>];
    assert.equal(header['alg'], 'ES256');
    const sa = model.get('ServiceAccount', 'ns', 'agent')?.object.metadata.uid;
    const node = model.get('Node', undefined, 'node-1')?.object.metadata.uid;
    assert.deepEqual(
      { ...payload, jti: typeof payload['jti'] },
      {
        aud: ['kubemeta'], exp: START / 1000 + 600, iat: START / 1000, nbf: START / 1000, iss: 'https://kubernetes.default.svc.cluster.local', jti: 'string',
        sub: 'system:serviceaccount:ns:agent',
        'kubernetes.io': { namespace: 'ns', serviceaccount: { name: 'agent', uid: sa }, pod: { name: 'a', uid: p.object.metadata.uid }, node: { name: 'node-1', uid: node } },
      },
    );
    const ok = await review(token, ['kubemeta']);
    assert.equal(ok.status, 201);
    assert.equal(ok.json['status'].authenticated, true);
    assert.deepEqual(ok.json['status'].audiences, ['kubemeta']);
    assert.equal(ok.json['status'].user.username, 'system:serviceaccount:ns:agent');
    assert.deepEqual(ok.json['status'].user.extra['authentication.kubernetes.io/pod-name'], ['a']);
    assert.deepEqual(ok.json['status'].user.extra['authentication.kubernetes.io/pod-uid'], [p.object.metadata.uid]);
    assert.deepEqual(ok.json['status'].user.extra['authentication.kubernetes.io/node-name'], ['node-1']);
  });

  it('refuses to review a token that is altered, expired, for another audience, or whose pod is gone or recreated', async () => {
    pod('b', 'agent');
    const token = (await tokenFor('agent', { audiences: ['kubemeta'], expirationSeconds: 600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'b' } })).json['status'].token as string;
    const failed = async (t: string, audiences: string[] | undefined, why: RegExp): Promise<void> => {
      const r = await review(t, audiences);
      assert.equal(r.json['status'].authenticated, undefined);
      assert.match(String(r.json['status'].error), why);
    };
    const [h, p, s] = token.split('.') as [string, string, string];
    await failed(`${h}.${p.slice(0, -2)}AA.${s}`, ['kubemeta'], /signature is invalid/);
    await failed(token, ['vault'], /audiences .* is invalid for the target audiences/);
    await failed(token, undefined, /is invalid for the target audiences/); // the API server's own audience
    model.delete('Pod', 'ns', 'b');
    await failed(token, ['kubemeta'], /pods "b" not found/);
    pod('b', 'agent');
    await failed(token, ['kubemeta'], /has been deleted and recreated/);
    const fresh = (await tokenFor('agent', { audiences: ['kubemeta'], expirationSeconds: 600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'b' } })).json['status'].token as string;
    clock.advance(600_000);
    await failed(fresh, ['kubemeta'], /has expired/);
  });

  it('binds a token only to an existing pod of the same service account, with at least the minimum expiry', async () => {
    pod('c', 'other');
    assert.equal((await tokenFor('agent', { audiences: ['kubemeta'], boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'c' } })).status, 400, 'the pod runs as another ServiceAccount');
    assert.equal((await tokenFor('agent', { audiences: ['kubemeta'], boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'missing' } })).status, 404);
    assert.equal((await tokenFor('agent', { audiences: ['kubemeta'], boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'c', uid: 'wrong' } })).status, 409);
    assert.equal((await tokenFor('nobody', { audiences: ['kubemeta'] })).status, 404);
    assert.equal((await tokenFor('agent', { audiences: ['kubemeta'], expirationSeconds: 60 })).status, 400, 'below the 600 s minimum');
    assert.equal((await fetch(`${api.url}/apis/authentication.k8s.io/v1/tokenreviews`)).status, 405);
    const protobuf = await fetch(`${api.url}/api/v1/namespaces/ns/serviceaccounts/agent/token`, { method: 'POST', headers: { 'content-type': 'application/vnd.kubernetes.protobuf' }, body: 'k8s\0' });
    assert.equal(protobuf.status, 415, 'JSON only: the sim has no protobuf schema for authentication.k8s.io');
  });
});
