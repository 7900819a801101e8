import { readFile } from 'node:fs/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ServeConfig } from '../config/index.ts';
import type { Logger } from '../core/index.ts';
import { AgentCredentialSigner, CredentialIssuer, CredentialRefusedError } from '../bus/index.ts';
import { CredentialRefusal, type PodUpdate } from '../schema/index.ts';
import type { KubeApiClient } from '../source/index.ts';
import { agentTokenCheck } from './agent-token-check.ts';
import { ServiceError, ServiceErrorCode } from './errors.ts';
import type { ServiceMetrics } from './metrics.ts';

/**
 * The issuer's signing key, read at start so that a wrong file fails `kubemeta serve` at once
 * (SERVICE_ISSUER_CONFIG, exit 1) instead of at the first agent. Undefined when the issuer is off.
 */
export async function loadIssuerSigner(config: ServeConfig): Promise<AgentCredentialSigner | undefined> {
  if (config.issuerSigningKeyFile === undefined || config.issuerAccount === undefined) return undefined;
  let seed: string;
  try {
    seed = await readFile(config.issuerSigningKeyFile, 'utf8');
  } catch (err) {
    throw new ServiceError(ServiceErrorCode.ISSUER_CONFIG, `cannot read the issuer signing key file ${config.issuerSigningKeyFile} (--issuer-signing-key-file)`, { cause: err });
  }
  try {
    return new AgentCredentialSigner({ signingKeySeed: seed, account: config.issuerAccount, cluster: config.cluster });
  } catch (err) {
    // The message names the problem, never the file's content.
    throw new ServiceError(ServiceErrorCode.ISSUER_CONFIG, `the issuer signing key file ${config.issuerSigningKeyFile} does not hold an account signing key seed (SA…): ${(err as Error).message}`, { cause: err });
  }
}

export interface IssuerParts {
  readonly config: ServeConfig;
  readonly signer: AgentCredentialSigner;
  readonly connection: NatsConnection;
  readonly kube: KubeApiClient;
  readonly pod: (uid: string) => PodUpdate | undefined;
  /** false until the service's state is complete: a pod missing from a half-synced state is no refusal. */
  readonly ready: () => boolean;
  readonly metrics: ServiceMetrics;
  readonly logger: Logger;
}

/** The credential issuer with the service's check (TokenReview + its own pod state) plugged in. */
export function startCredentialIssuer(parts: IssuerParts): CredentialIssuer {
  const c = parts.config;
  const check = agentTokenCheck({
    kube: parts.kube,
    pod: parts.pod,
    audience: c.issuerAudience,
    namespace: c.issuerAgentNamespace,
    serviceAccount: c.issuerAgentServiceAccount,
    daemonSet: c.issuerAgentDaemonset,
  });
  const issuer = new CredentialIssuer({
    connection: parts.connection,
    cluster: c.cluster,
    signer: parts.signer,
    authorize: async (token, signal) => {
      if (!parts.ready()) throw new CredentialRefusedError(CredentialRefusal.UNAVAILABLE, 'the service is still syncing its view of the cluster; retry', { retryAfterMs: 1_000 });
      return check(token, signal);
    },
    ttlMs: c.issuerCredentialTtlMs,
    ratePerSec: c.issuerRate,
    burst: c.issuerBurst,
    onOutcome: (outcome) => parts.metrics.credentialRequests.inc({ outcome }),
    logger: parts.logger,
  });
  issuer.start();
  return issuer;
}
