// The credential issuer's messages (wire-protocol §11): a node agent sends its projected
// service-account token and the public half of an nkey it generated; the service answers with a
// NATS user JWT for that key, scoped to the agent's node, or a refusal with a code. JSON, not
// protobuf: the payload is two tokens, and every language that speaks NATS parses JSON.

/** Why the issuer refused; stable codes (docs/errors.md, "credential issuer"). */
export const CredentialRefusal = {
  /** The API server's TokenReview did not authenticate the token (forged, revoked, not a token). */
  TOKEN_INVALID: 'CREDENTIALS_TOKEN_INVALID',
  /** The token's `exp` has passed (the kubelet refreshes projected tokens; a copied one expires). */
  TOKEN_EXPIRED: 'CREDENTIALS_TOKEN_EXPIRED',
  /** The token is not for the audience the issuer requires (`kubemeta` by default). */
  TOKEN_AUDIENCE: 'CREDENTIALS_TOKEN_AUDIENCE',
  /** The token is not bound to a pod (a legacy or TokenRequest token without boundObjectRef). */
  NOT_A_POD_TOKEN: 'CREDENTIALS_NOT_A_POD_TOKEN',
  /** The token's service account is not the configured agent service account. */
  WRONG_SERVICE_ACCOUNT: 'CREDENTIALS_WRONG_SERVICE_ACCOUNT',
  /** The pod is not in the service's state (deleted, never seen) or has another uid now. */
  POD_UNKNOWN: 'CREDENTIALS_POD_UNKNOWN',
  /** The pod is not (or no longer) running on a node: not scheduled, finished or terminating. */
  POD_NOT_RUNNING: 'CREDENTIALS_POD_NOT_RUNNING',
  /** The pod is not a pod of the configured agent DaemonSet. */
  NOT_AGENT_POD: 'CREDENTIALS_NOT_AGENT_POD',
  /** The request did not parse, or names no valid user public key. */
  BAD_REQUEST: 'CREDENTIALS_BAD_REQUEST',
  /** Too many requests: retry after `retryAfterMs` (protects the API server's TokenReview). */
  BUSY: 'CREDENTIALS_BUSY',
  /** The issuer cannot decide now (service starting, TokenReview failing): retry after `retryAfterMs`. */
  UNAVAILABLE: 'CREDENTIALS_UNAVAILABLE',
} as const;
export type CredentialRefusalCode = (typeof CredentialRefusal)[keyof typeof CredentialRefusal];

const CODES = new Set<string>(Object.values(CredentialRefusal));

/** Refusals a retry can cure by itself; the others need a new token or a configuration change. */
export function isTransientRefusal(code: CredentialRefusalCode): boolean {
  return code === CredentialRefusal.BUSY || code === CredentialRefusal.UNAVAILABLE;
}

export interface CredentialRequest {
  /** The projected service-account token (a JWT), as read from its file. */
  readonly token: string;
  /** The public key (`U…`) of the nkey the agent will log in with; its seed never leaves the agent. */
  readonly publicKey: string;
}

export type CredentialResponse =
  | { readonly jwt: string; readonly node: string; readonly expiresAtMs: number }
  | { readonly error: { readonly code: CredentialRefusalCode; readonly message: string; readonly retryAfterMs?: number } };

/** Largest request the issuer reads: a projected token is 1–2 KB; 16 KiB leaves room for big claims. */
export const MAX_CREDENTIAL_REQUEST_BYTES = 16_384;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeCredentialRequest(request: CredentialRequest): Uint8Array {
  return encoder.encode(JSON.stringify({ token: request.token, publicKey: request.publicKey }));
}

/** The request, or undefined when it is not one (too large, not UTF-8 JSON, missing fields). */
export function decodeCredentialRequest(bytes: Uint8Array): CredentialRequest | undefined {
  if (bytes.length === 0 || bytes.length > MAX_CREDENTIAL_REQUEST_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { token, publicKey } = value as Record<string, unknown>;
  if (typeof token !== 'string' || token === '' || typeof publicKey !== 'string' || publicKey === '') return undefined;
  return { token, publicKey };
}

export function encodeCredentialResponse(response: CredentialResponse): Uint8Array {
  return encoder.encode(JSON.stringify(response));
}

/** The response, or undefined when the bytes are not one. */
export function decodeCredentialResponse(bytes: Uint8Array): CredentialResponse | undefined {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v['jwt'] === 'string' && typeof v['node'] === 'string' && typeof v['expiresAtMs'] === 'number') {
    return { jwt: v['jwt'], node: v['node'], expiresAtMs: v['expiresAtMs'] };
  }
  const e = v['error'] as Record<string, unknown> | undefined;
  if (typeof e === 'object' && e !== null && typeof e['code'] === 'string' && CODES.has(e['code']) && typeof e['message'] === 'string') {
    const retry = e['retryAfterMs'];
    return { error: { code: e['code'] as CredentialRefusalCode, message: e['message'], ...(typeof retry === 'number' ? { retryAfterMs: retry } : {}) } };
  }
  return undefined;
}
