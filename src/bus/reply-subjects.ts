import { SUBJECT_PREFIX, type ClusterSubjects, type Scope } from '../schema/index.ts';

/**
 * Reply subjects the service refuses to answer into, whatever NATS permits it: its own subject
 * space (`kubemeta.…`: an answer there would land on a scope subject or a request subject, the
 * service acting as a confused deputy for whoever chose the reply subject), wildcards and
 * whitespace (not a subject one can subscribe to as an inbox). docs/security.md.
 */
export function isRefusedReplySubject(reply: string): boolean {
  if (reply === SUBJECT_PREFIX || reply.startsWith(`${SUBJECT_PREFIX}.`)) return true;
  if (/\s/.test(reply)) return true;
  return reply.split('.').some((token) => token === '' || token === '*' || token === '>');
}

/**
 * The inbox prefix bound to a scope: `_INBOX.<scope subject>.` (the SDK's default inboxes).
 * With `requireScopedInboxes`, the service answers requests for a scope only there.
 */
export function scopedInboxPrefix(subjects: ClusterSubjects, scope: Scope): string {
  return `_INBOX.${subjects.scope(scope)}.`;
}
