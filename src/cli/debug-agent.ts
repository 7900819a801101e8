// `kubemeta debug agent <node>`: asks the node's agent (NodeAgentClient with `debugHandler: true`)
// for its position and the digest of its live objects, takes the service's scope by replay
// (debug-scope.ts), and says "in step" or names every object that differs.
//
// Cheap when in step: one small request to the agent and the replay of one node scope. Only
// when the digests differ does it page through the agent's entries (`<Kind>/<uid>`, version,
// content hash) and compare them object by object. While the scope changes, the agent and the
// service can be at different positions for a moment: both are asked again (up to `--settle-ms`)
// until they stand at the same version, so a difference reported is one that stayed.
import type { NatsConnection } from '@nats-io/transport-node';
import { sleep } from '../core/index.ts';
import {
  AGENT_DEBUG_MAX_PAGE,
  agentDebugSubject,
  decodeAgentDebugResponse,
  encodeAgentDebugRequest,
  nodeScope,
  stateDigest,
  type AgentDebugEntry,
  type AgentDebugRequest,
  type AgentDebugSummary,
} from '../schema/index.ts';
import { DebugError, fetchScopeByReplay, liveEntries, table, type ServiceScope } from './debug-scope.ts';

export type DifferenceKind = 'missing' | 'extra' | 'version' | 'content';

/** One object that differs: `missing` on the agent, `extra` on it, or another version or content. */
export interface Difference {
  readonly kind: DifferenceKind;
  readonly key: string;
  readonly name?: string;
  readonly serviceVersion?: number;
  readonly agentVersion?: number;
}

export interface AgentComparison {
  readonly node: string;
  readonly inStep: boolean;
  readonly agent: AgentDebugSummary;
  readonly service: { readonly streamId: string | null; readonly head: number; readonly objects: number; readonly digest: string };
  /** Why not in step besides objects: another stream, another position. */
  readonly problems: readonly string[];
  readonly differences: readonly Difference[];
}

export interface CompareOptions {
  readonly cluster: string;
  readonly node: string;
  readonly timeoutMs: number;
  /** How long to wait for the agent and the service to stand at the same version (default 5 s). */
  readonly settleMs: number;
  readonly pageSize?: number;
}

/** Asks the agent once; throws DebugError when nobody answers (handler off, agent down). */
export async function askAgent(nc: NatsConnection, cluster: string, node: string, request: AgentDebugRequest, timeoutMs: number): Promise<AgentDebugSummary & { entries?: readonly AgentDebugEntry[]; next?: string }> {
  const subject = agentDebugSubject(cluster, node);
  let data: Uint8Array;
  try {
    data = (await nc.request(subject, encodeAgentDebugRequest(request), { timeout: timeoutMs })).data;
  } catch (err) {
    const code = (err as { code?: unknown; message?: string }).message ?? '';
    const why = /no responders|503/i.test(code)
      ? 'no agent answers there'
      : `no answer within ${timeoutMs} ms`;
    throw new DebugError(
      `cannot ask the agent of node ${JSON.stringify(node)} on ${subject}: ${why}. Check that the agent runs on that node with the SDK option debugHandler: true, and the cluster name (--cluster)`,
      { cause: err },
    );
  }
  const r = decodeAgentDebugResponse(data);
  if ('error' in r) throw new DebugError(`the agent of node ${JSON.stringify(node)} refused the debug request: [${r.error.code}] ${r.error.message}`);
  return r;
}

/** All of the agent's entries, page by page. */
async function agentEntries(nc: NatsConnection, o: CompareOptions): Promise<AgentDebugEntry[]> {
  const out: AgentDebugEntry[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await askAgent(nc, o.cluster, o.node, { entries: { ...(after !== undefined ? { after } : {}), limit: o.pageSize ?? AGENT_DEBUG_MAX_PAGE } }, o.timeoutMs);
    out.push(...(page.entries ?? []));
    if (page.next === undefined) return out;
    after = page.next;
  }
}

/** Compares the agent of `node` with the service's scope of `node` (see the file comment). */
export async function compareAgent(nc: NatsConnection, o: CompareOptions, signal: AbortSignal): Promise<AgentComparison> {
  const scope = nodeScope(o.node);
  const deadline = Date.now() + o.settleMs;
  let agent: AgentDebugSummary;
  let service: ServiceScope;
  for (;;) {
    agent = await askAgent(nc, o.cluster, o.node, {}, o.timeoutMs);
    service = await fetchScopeByReplay(nc, o.cluster, scope, o.timeoutMs, signal);
    if (agent.position === service.head && agent.streamId === (service.streamId ?? null)) break;
    if (Date.now() >= deadline) break;
    await sleep(250, signal);
  }
  const entries = liveEntries(service);
  const digest = stateDigest(entries);
  const problems: string[] = [];
  if (agent.streamId !== (service.streamId ?? null)) problems.push(`the agent's state is from stream ${agent.streamId ?? '(none yet)'}, the service's is ${service.streamId ?? '(none)'}`);
  if (agent.position !== service.head) problems.push(`the agent stands at version ${agent.position}, the scope's head is ${service.head} (still ${agent.position < service.head ? 'behind' : 'ahead'} after ${o.settleMs} ms)`);
  const differences = digest === agent.digest ? [] : diff(entries, await agentEntries(nc, o), service);
  if (digest !== agent.digest && differences.length === 0) problems.push('the digests differ although every entry matches: the scope changed between the requests; run the command again');
  return {
    node: o.node,
    inStep: problems.length === 0 && differences.length === 0,
    agent,
    service: { streamId: service.streamId ?? null, head: service.head, objects: entries.length, digest },
    problems,
    differences,
  };
}

/** Object by object, both lists sorted by key. */
export function diff(service: readonly AgentDebugEntry[], agent: readonly AgentDebugEntry[], names?: ServiceScope): Difference[] {
  const nameOf = new Map(names?.objects.map((o) => [o.key, o.namespace ? `${o.namespace}/${o.name}` : o.name]) ?? []);
  const out: Difference[] = [];
  const theirs = new Map(agent.map((e) => [e.key, e]));
  for (const s of service) {
    const a = theirs.get(s.key);
    const name = nameOf.get(s.key);
    const named = name ? { name } : {};
    if (!a) out.push({ kind: 'missing', key: s.key, ...named, serviceVersion: s.version });
    else if (a.version !== s.version) out.push({ kind: 'version', key: s.key, ...named, serviceVersion: s.version, agentVersion: a.version });
    else if (a.hash !== s.hash) out.push({ kind: 'content', key: s.key, ...named, serviceVersion: s.version, agentVersion: a.version });
    theirs.delete(s.key);
  }
  for (const a of theirs.values()) out.push({ kind: 'extra', key: a.key, agentVersion: a.version });
  return out.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

const WHAT: Record<DifferenceKind, string> = {
  missing: 'missing on the agent',
  extra: 'extra on the agent (the service does not hold it)',
  version: 'another version',
  content: 'same version, other content',
};

export function formatComparison(c: AgentComparison): string {
  const a = c.agent;
  const lines = [
    `agent of node ${c.node}: asid ${a.asid}, instance ${a.agentInstanceId}, stream ${a.streamId ?? '-'}, position ${a.position}, ${a.inSync ? 'in sync' : `not in sync (lag ${a.lag})`}, ${a.objects} live objects, ${a.retained} retained`,
    `service scope node/${c.node}: stream ${c.service.streamId ?? '-'}, head ${c.service.head}, ${c.service.objects} live objects`,
  ];
  if (c.inStep) {
    lines.push(`in step (digest ${c.service.digest.slice(0, 16)})`);
    return lines.join('\n') + '\n';
  }
  lines.push(...c.problems.map((p) => `differs: ${p}`));
  if (c.differences.length > 0) {
    lines.push(`differs: ${c.differences.length} object(s)`, '');
    lines.push(...table(['DIFFERENCE', 'OBJECT', 'NAME', 'SERVICE', 'AGENT'], c.differences.map((d) => [
      WHAT[d.kind], d.key, d.name ?? '-', d.serviceVersion === undefined ? '-' : String(d.serviceVersion), d.agentVersion === undefined ? '-' : String(d.agentVersion),
    ])));
  }
  return lines.join('\n') + '\n';
}
