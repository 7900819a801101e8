// The NATS permissions of each kubemeta role, derived from the subjects (wire-protocol §1, §7,
// §8, §11). One definition serves the static nats-server file (src/testing/nats-auth.ts), the
// operator-mode setup (`kubemeta nats-auth init`) and the credential issuer, so that an issued
// agent credential grants exactly what a node's user in the static file grants.
import { nodeScope } from './scope.ts';
import { clusterSubjects } from './subjects.ts';
import { agentDebugSubject, allAgentDebugSubjects } from './agent-debug.ts';

export interface SubjectPermissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

export interface KubemetaPermissions {
  readonly service: SubjectPermissions;
  agent(node: string): SubjectPermissions;
  readonly clusterClient: SubjectPermissions;
  /**
   * An agent before it has credentials of its node: it may only ask the credential issuer and
   * read the answer. Every agent shares this identity, so every one may read the others'
   * answers: they hold a user JWT for a public key whose seed never left its agent, useless
   * to anyone else.
   */
  readonly bootstrap: SubjectPermissions;
}

/**
 * Acks and query answers a consumer may publish to reply subjects of messages it received
 * (`allow_responses`): at most `max` per message within `expiresMs` (above the service's 4
 * unacknowledged responses per answer and its 10 s ack timeout).
 */
export const CONSUMER_RESPONSES = Object.freeze({ max: 16, expiresMs: 120_000 });

/** The subjects behind the permissions of each role. */
export function kubemetaPermissions(cluster: string): KubemetaPermissions {
  const s = clusterSubjects(cluster);
  const base = s.replay.slice(0, -'.replay'.length);
  return {
    // Publishes every scope subject and answers into requesters' inboxes; receives requests and
    // the acks sent to its own inboxes (`_INBOX.<nuid>.<answer>`).
    service: { publish: [`${base}.>`, '_INBOX.>'], subscribe: [s.replay, s.agentsRegister, s.credentials, s.allProcessReports, s.processesOfPod, s.processByUpid, '_INBOX.>'] },
    // Reads its node scope, its own telemetry query subject and its own inboxes only; sends
    // replay requests and registrations; acks and query answers go to the reply subjects of the
    // messages it received (allow_responses), so it can answer a broker but publish nowhere else.
    // Process reports only on its own node's subject (the service takes the node from the
    // subject), and UPID lookups to hydrate rows of other nodes' processes (wire-protocol §12).
    agent: (node) => ({
      publish: [s.replay, s.agentsRegister, s.processReports(node), s.processByUpid],
      subscribe: [s.scope(nodeScope(node)), s.agentQuery(node), agentDebugSubject(cluster, node), `_INBOX.${s.scope(nodeScope(node))}.>`],
    }),
    // Query brokers, UIs and `kubemeta debug agent`: the cluster scope, telemetry and debug queries to any node's agent and
    // process queries (answered into its `_INBOX.<cluster subject>.…` inboxes).
    clusterClient: { publish: [s.replay, s.allAgentQueries, allAgentDebugSubjects(cluster), s.processesOfPod, s.processByUpid], subscribe: [s.clusterScope, `_INBOX.${s.clusterScope}.>`] },
    bootstrap: { publish: [s.credentials], subscribe: [`_INBOX.${s.credentials}.>`] },
  };
}
