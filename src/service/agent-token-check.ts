import { sleep } from '../core/index.ts';
import type { KubeApiClient } from '../source/index.ts';
import { CredentialRefusal, PodPhase, type PodUpdate } from '../schema/index.ts';
import { CredentialRefusedError, type AuthorizedAgent } from '../bus/index.ts';

export interface AgentTokenCheckOptions {
  readonly kube: KubeApiClient;
  /** The service's own view of a pod by uid (the projector's state), undefined when unknown or deleted. */
  readonly pod: (uid: string) => PodUpdate | undefined;
  /** The audience agent tokens must be for (`kubemeta`). */
  readonly audience: string;
  /** Namespace and name of the agents' ServiceAccount. */
  readonly namespace: string;
  readonly serviceAccount: string;
  /** If set, the pod must be controlled by this DaemonSet (in `namespace`). */
  readonly daemonSet: string | undefined;
  /**
   * How long an unknown pod is waited for (default 3 s): the kubelet hands a new pod its token as
   * it starts, and the service's watch may not have delivered that pod yet.
   */
  readonly unknownPodWaitMs?: number;
  readonly now?: () => number;
}

const POD_NAME = 'authentication.kubernetes.io/pod-name';
const POD_UID = 'authentication.kubernetes.io/pod-uid';

/**
 * The credential issuer's check of an agent's projected service-account token: the API server
 * decides whether the token is genuine, unexpired and for our audience (TokenReview, as the
 * kubelet and every aggregated API server do; kubemeta never verifies Kubernetes tokens itself,
 * so key rotation and revocation stay the API server's). The pod the token is bound to is then
 * checked against the service's own state: a token names a pod, the pod's spec.nodeName (as the
 * service watched it, not as the agent claims) names the node. A deleted pod's token is refused
 * even while it has not expired: TokenReview of a bound token fails once its pod is gone, and
 * the service's state says so too.
 */
export function agentTokenCheck(options: AgentTokenCheckOptions): (token: string, signal: AbortSignal) => Promise<AuthorizedAgent> {
  const now = options.now ?? Date.now;
  const username = `system:serviceaccount:${options.namespace}:${options.serviceAccount}`;
  return async (token, signal) => {
    const claims = unverifiedClaims(token);
    if (!claims) throw new CredentialRefusedError(CredentialRefusal.TOKEN_INVALID, 'the token is not a JWT: give the projected service-account token (audience kubemeta) as read from its file');
    const status = await review(options.kube, token, options.audience, signal);
    if (status.authenticated !== true) {
      // Rejected by the API server: the claims (unverified) only say which of the usual causes it
      // probably is, so that the agent's operator knows what to fix.
      const why = typeof status.error === 'string' && status.error !== '' ? ` (${status.error})` : '';
      if (typeof claims.exp === 'number' && claims.exp * 1000 <= now()) {
        throw new CredentialRefusedError(CredentialRefusal.TOKEN_EXPIRED, `the token expired at ${new Date(claims.exp * 1000).toISOString()}${why}: read the projected token file anew (the kubelet refreshes it)`);
      }
      if (!audiencesOf(claims.aud).includes(options.audience)) {
        throw new CredentialRefusedError(CredentialRefusal.TOKEN_AUDIENCE, `the token is not for audience ${options.audience}${why}: project it with audience: ${options.audience}`);
      }
      const boundPod = claims['kubernetes.io']?.pod;
      if (typeof boundPod?.uid === 'string' && options.pod(boundPod.uid) === undefined) {
        throw new CredentialRefusedError(CredentialRefusal.POD_UNKNOWN, `the pod the token is bound to (${String(boundPod.name)}, uid ${boundPod.uid}) no longer exists${why}`);
      }
      throw new CredentialRefusedError(CredentialRefusal.TOKEN_INVALID, `the API server did not authenticate the token${why}`);
    }
    // An API server that does not support audiences answers without them: refused, since a token
    // for another audience (any other service's) would then pass.
    if (!Array.isArray(status.audiences) || !status.audiences.includes(options.audience)) {
      throw new CredentialRefusedError(CredentialRefusal.TOKEN_AUDIENCE, `the token is not for audience ${options.audience}: project it with audience: ${options.audience}`);
    }
    const user = status.user ?? {};
    if (user.username !== username) {
      throw new CredentialRefusedError(
        CredentialRefusal.WRONG_SERVICE_ACCOUNT,
        `the token belongs to ${String(user.username)}, not to the agent service account ${username} (--issuer-agent-namespace, --issuer-agent-service-account)`,
      );
    }
    const podName = first(user.extra?.[POD_NAME]);
    const podUid = first(user.extra?.[POD_UID]);
    if (podName === undefined || podUid === undefined) {
      throw new CredentialRefusedError(CredentialRefusal.NOT_A_POD_TOKEN, 'the token is not bound to a pod: use the projected service-account token volume of the agent pod, not a Secret token');
    }
    const pod = await knownPod(options, podUid, signal);
    if (!pod || pod.name !== podName || pod.namespace !== options.namespace) {
      throw new CredentialRefusedError(CredentialRefusal.POD_UNKNOWN, `pod ${options.namespace}/${podName} (uid ${podUid}) does not exist in the service's view of the cluster (deleted, or replaced by a pod with another uid)`);
    }
    if (pod.nodeName === '' || pod.stopTimeNs !== 0n || pod.phase === PodPhase.SUCCEEDED || pod.phase === PodPhase.FAILED) {
      throw new CredentialRefusedError(CredentialRefusal.POD_NOT_RUNNING, `pod ${options.namespace}/${podName} is not running on a node (unscheduled, finished or deleted)`, { retryAfterMs: 5_000 });
    }
    if (options.daemonSet !== undefined && !pod.ownerReferences.some((o) => o.controller && o.kind === 'DaemonSet' && o.name === options.daemonSet)) {
      throw new CredentialRefusedError(CredentialRefusal.NOT_AGENT_POD, `pod ${options.namespace}/${podName} is not a pod of the agent DaemonSet ${options.daemonSet} (--issuer-agent-daemonset)`);
    }
    return { node: pod.nodeName, namespace: pod.namespace, pod: pod.name, podUid };
  };
}

interface TokenReviewStatus {
  authenticated?: boolean;
  error?: string;
  audiences?: string[];
  user?: { username?: string; uid?: string; extra?: Record<string, string[] | undefined> };
}

async function review(kube: KubeApiClient, token: string, audience: string, signal: AbortSignal): Promise<TokenReviewStatus> {
  let answer: unknown;
  try {
    answer = await kube.sendJson('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, audiences: [audience] },
    }, signal);
  } catch (err) {
    throw new CredentialRefusedError(
      CredentialRefusal.UNAVAILABLE,
      'the API server did not answer the TokenReview (is system:auth-delegator or the tokenreviews create rule bound to kubemeta? see deploy/base/rbac.yaml); retry',
      { cause: err, retryAfterMs: 2_000 },
    );
  }
  const status = (answer as { status?: TokenReviewStatus } | undefined)?.status;
  return typeof status === 'object' && status !== null ? status : {};
}

async function knownPod(options: AgentTokenCheckOptions, uid: string, signal: AbortSignal): Promise<PodUpdate | undefined> {
  const deadline = (options.now ?? Date.now)() + (options.unknownPodWaitMs ?? 3_000);
  for (;;) {
    const pod = options.pod(uid);
    if (pod || (options.now ?? Date.now)() >= deadline) return pod;
    await sleep(100, signal);
  }
}

function first(values: string[] | undefined): string | undefined {
  const v = Array.isArray(values) ? values[0] : undefined;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function audiencesOf(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

/** The claims of a JWT without checking its signature: for diagnostics after a refusal only. */
interface UnverifiedClaims {
  exp?: unknown;
  aud?: unknown;
  'kubernetes.io'?: { pod?: { name?: unknown; uid?: unknown } };
}

function unverifiedClaims(token: string): UnverifiedClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as unknown;
    return typeof claims === 'object' && claims !== null ? (claims as UnverifiedClaims) : undefined;
  } catch {
    return undefined;
  }
}
