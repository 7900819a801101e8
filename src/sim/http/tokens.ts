// Service-account tokens as the API server makes and checks them: TokenRequest
// (`POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token`, what the kubelet calls for a
// projected token volume) and TokenReview (`POST /apis/authentication.k8s.io/v1/tokenreviews`,
// what kubemeta's credential issuer calls). Tokens are ES256 JWTs signed with a key made at
// start, with the claims kube-apiserver puts in them (pkg/serviceaccount/claims.go): `aud`,
// `exp`, `iat`, `nbf`, `iss`, `jti`, `sub`, and `kubernetes.io` with the namespace, the service
// account, and the bound pod and its node. A review checks signature, expiry and audience, then
// that the service account and the bound pod still exist with the uids in the token, as the
// API server does: a deleted pod's token stops authenticating before it expires.
import { generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../core/index.ts';
import type { ClusterModel } from '../model/cluster-model.ts';
import { SimApiError } from '../model/errors.ts';
import { readJsonBody, sendJson } from './http-io.ts';
import type { KubeObject } from '../model/objects.ts';

export interface SimTokenOptions {
  /** `iss` of every token, and the audience of tokens requested without one. */
  readonly issuer?: string;
  /**
   * Shortest `expirationSeconds` accepted (default 600, kube-apiserver's minimum). Tests lower it
   * to see tokens expire.
   */
  readonly minExpirationSeconds?: number;
}

const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const TOKEN_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/;
const REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';

interface TokenClaims {
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  iss: string;
  jti: string;
  sub: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    node?: { name: string; uid: string };
  };
}

export class SimTokenAuthority {
  readonly #model: ClusterModel;
  readonly #clock: Clock;
  readonly #issuer: string;
  readonly #minExpiration: number;
  readonly #kid = randomUUID();
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  /** Tokens issued and reviews answered (tests read them through the server's stats). */
  issued = 0;
  reviews = 0;

  constructor(model: ClusterModel, clock: Clock, options: SimTokenOptions = {}) {
    this.#model = model;
    this.#clock = clock;
    this.#issuer = options.issuer ?? DEFAULT_ISSUER;
    this.#minExpiration = options.minExpirationSeconds ?? 600;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#privateKey = privateKey;
    this.#publicKey = publicKey;
  }

  /** The handler for a token path, or undefined when `path` is not one. */
  handler(method: string, path: string): ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined {
    const token = TOKEN_PATH.exec(path);
    if (!token && path !== REVIEW_PATH) return undefined;
    if (method !== 'POST') {
      return async () => {
        throw new SimApiError('MethodNotAllowed', `${method} is not supported on ${path}: POST a ${token ? 'TokenRequest' : 'TokenReview'}`);
      };
    }
    return async (req, res) => {
      // The sim's protobuf schema has no authentication.k8s.io kinds: JSON (or YAML) only, and a
      // protobuf body is refused as the API server refuses a media type it does not serve.
      if (/protobuf/i.test(req.headers['content-type'] ?? '')) {
        throw new SimApiError('UnsupportedMediaType', `the sim serves ${token ? 'TokenRequest' : 'TokenReview'} in JSON only: send Content-Type: application/json`);
      }
      if (token) return this.#tokenRequest(req, res, decodeURIComponent(token[1] as string), decodeURIComponent(token[2] as string));
      return this.#tokenReview(req, res);
    };
  }

  /** A signed token for `serviceAccount`, bound to `pod` if given (what TokenRequest answers). */
  issue(namespace: string, serviceAccount: string, spec: { audiences?: string[]; expirationSeconds?: number; pod?: { name: string; uid?: string } }): { token: string; expiresAtMs: number } {
    const sa = this.#model.get('ServiceAccount', namespace, serviceAccount)?.object;
    if (!sa) throw new SimApiError('NotFound', `serviceaccounts "${serviceAccount}" not found`, { name: serviceAccount, kind: 'serviceaccounts' });
    const seconds = spec.expirationSeconds ?? 3607;
    if (!Number.isInteger(seconds) || seconds < this.#minExpiration || seconds > 2 ** 32) {
      throw new SimApiError('BadRequest', `spec.expirationSeconds: Invalid value: ${seconds}: may not specify a duration less than ${this.#minExpiration} seconds`);
    }
    const nowSec = Math.floor(this.#clock.now() / 1000);
    const claims: TokenClaims = {
      aud: spec.audiences && spec.audiences.length > 0 ? [...spec.audiences] : [this.#issuer],
      exp: nowSec + seconds,
      iat: nowSec,
      nbf: nowSec,
      iss: this.#issuer,
      jti: randomUUID(),
      sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
      'kubernetes.io': { namespace, serviceaccount: { name: serviceAccount, uid: sa.metadata.uid } },
    };
    if (spec.pod) {
      const pod = this.#model.get('Pod', namespace, spec.pod.name)?.object;
      if (!pod) throw new SimApiError('NotFound', `pods "${spec.pod.name}" not found`, { name: spec.pod.name, kind: 'pods' });
      if (spec.pod.uid !== undefined && spec.pod.uid !== '' && spec.pod.uid !== pod.metadata.uid) {
        throw new SimApiError('Conflict', `the UID in the bound object reference (${spec.pod.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
      }
      const podSpec = (pod['spec'] ?? {}) as { serviceAccountName?: string; nodeName?: string };
      if ((podSpec.serviceAccountName ?? 'default') !== serviceAccount) {
        throw new SimApiError('BadRequest', `cannot bind token for serviceaccount "${serviceAccount}" to pod running with different serviceaccount name.`);
      }
      claims['kubernetes.io'].pod = { name: pod.metadata.name, uid: pod.metadata.uid };
      const node = podSpec.nodeName ? this.#model.get('Node', undefined, podSpec.nodeName)?.object : undefined;
      if (node) claims['kubernetes.io'].node = { name: node.metadata.name, uid: node.metadata.uid };
    }
    this.issued++;
    return { token: this.#sign(claims), expiresAtMs: claims.exp * 1000 };
  }

  async #tokenRequest(req: IncomingMessage, res: ServerResponse, namespace: string, serviceAccount: string): Promise<void> {
    const body = (await readJsonBody(req, { optional: true })) as { spec?: Record<string, unknown> } | undefined;
    const spec = (body?.spec ?? {}) as { audiences?: unknown; expirationSeconds?: unknown; boundObjectRef?: { kind?: unknown; apiVersion?: unknown; name?: unknown; uid?: unknown } };
    const audiences = Array.isArray(spec.audiences) ? spec.audiences.filter((a): a is string => typeof a === 'string') : undefined;
    const ref = spec.boundObjectRef;
    let pod: { name: string; uid?: string } | undefined;
    if (ref !== undefined && ref !== null) {
      if (ref.kind !== 'Pod' || typeof ref.name !== 'string') {
        throw new SimApiError('BadRequest', `cannot bind token to object of kind ${String(ref.kind)}: the sim binds tokens to Pods only`);
      }
      pod = { name: ref.name, ...(typeof ref.uid === 'string' ? { uid: ref.uid } : {}) };
    }
    const expirationSeconds = typeof spec.expirationSeconds === 'number' ? spec.expirationSeconds : undefined;
    const issued = this.issue(namespace, serviceAccount, { ...(audiences ? { audiences } : {}), ...(expirationSeconds !== undefined ? { expirationSeconds } : {}), ...(pod ? { pod } : {}) });
    sendJson(res, 201, JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { name: serviceAccount, namespace, creationTimestamp: null },
      spec: { audiences: audiences ?? [this.#issuer], expirationSeconds: expirationSeconds ?? 3607, boundObjectRef: ref ?? null },
      status: { token: issued.token, expirationTimestamp: new Date(issued.expiresAtMs).toISOString().replace(/\.\d{3}Z$/, 'Z') },
    }));
  }

  async #tokenReview(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJsonBody(req)) as { spec?: { token?: unknown; audiences?: unknown } };
    const token = body?.spec?.token;
    if (typeof token !== 'string' || token === '') throw new SimApiError('BadRequest', 'spec.token: Required value');
    const audiences = Array.isArray(body.spec?.audiences) ? body.spec.audiences.filter((a): a is string => typeof a === 'string') : [];
    this.reviews++;
    const status = this.#review(token, audiences.length > 0 ? audiences : [this.#issuer]);
    sendJson(res, 201, JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      metadata: { creationTimestamp: null },
      spec: { token, ...(audiences.length > 0 ? { audiences } : {}) },
      status,
    }));
  }

  /** The status of a TokenReview of `token` for `audiences`: the user, or why not. */
  #review(token: string, audiences: readonly string[]): Record<string, unknown> {
    const refused = (error: string) => ({ user: {}, error: `[invalid bearer token, ${error}]` });
    const claims = this.#verify(token);
    if (!claims) return refused('token signature is invalid');
    const nowSec = Math.floor(this.#clock.now() / 1000);
    if (claims.exp <= nowSec) return refused('service account token has expired');
    if (claims.nbf > nowSec + 60) return refused('service account token is not valid yet');
    const matching = audiences.filter((a) => claims.aud.includes(a));
    if (matching.length === 0) return refused(`token audiences ${JSON.stringify(claims.aud)} is invalid for the target audiences ${JSON.stringify(audiences)}`);
    const k = claims['kubernetes.io'];
    const sa = this.#model.get('ServiceAccount', k.namespace, k.serviceaccount.name)?.object;
    if (!sa || sa.metadata.uid !== k.serviceaccount.uid) return refused(`service account ${k.namespace}/${k.serviceaccount.name} has been deleted`);
    const extra: Record<string, string[]> = { 'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`] };
    if (k.pod) {
      const pod: KubeObject | undefined = this.#model.get('Pod', k.namespace, k.pod.name)?.object;
      if (!pod) return refused(`pods "${k.pod.name}" not found`);
      if (pod.metadata.uid !== k.pod.uid || pod.metadata.deletionTimestamp !== undefined) {
        return refused(`pod ${k.namespace}/${k.pod.name} (uid ${k.pod.uid}) has been deleted${pod.metadata.uid !== k.pod.uid ? ' and recreated' : ''}`);
      }
      extra['authentication.kubernetes.io/pod-name'] = [k.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [k.pod.uid];
    }
    if (k.node) {
      extra['authentication.kubernetes.io/node-name'] = [k.node.name];
      extra['authentication.kubernetes.io/node-uid'] = [k.node.uid];
    }
    return {
      authenticated: true,
      user: {
        username: claims.sub,
        uid: k.serviceaccount.uid,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'],
        extra,
      },
      audiences: matching,
    };
  }

  #sign(claims: TokenClaims): string {
    const header = base64url(JSON.stringify({ alg: 'ES256', kid: this.#kid }));
    const payload = base64url(JSON.stringify(claims));
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key: this.#privateKey, dsaEncoding: 'ieee-p1363' });
    return `${header}.${payload}.${signature.toString('base64url')}`;
  }

  /** The claims of a token this authority signed, or undefined (bad signature, not a JWT, wrong issuer). */
  #verify(token: string): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [header, payload, signature] = parts as [string, string, string];
    try {
      const ok = verify('sha256', Buffer.from(`${header}.${payload}`), { key: this.#publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
      if (!ok) return undefined;
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
      return claims.iss === this.#issuer && Array.isArray(claims.aud) && typeof claims['kubernetes.io'] === 'object' ? claims : undefined;
    } catch {
      return undefined;
    }
  }
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}
