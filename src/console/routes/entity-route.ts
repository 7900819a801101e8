import type { FastifyInstance } from 'fastify';
import { formatTimeNs, formatUpid, type ProcessInfo } from '../../schema/index.ts';
import type { StateView } from '../../sdk/index.ts';
import { followedCluster, oneClusterParams, parseParams } from './api-schemas.ts';
import { KIND_ALIASES, kindsOfAlias, type EntityKind } from '../entity-kinds.ts';
import { describeEntity, type EntityDetail, type ProcessList } from '../views/entity-view.ts';
import { ConsoleError, ConsoleErrorCode } from '../errors.ts';

/** What the route reads of a followed cluster: its state, and (optionally) the service's processes. */
export interface EntityClient {
  readonly state: StateView;
  processesOfPod?(podUid: string, options: { includeStopped?: boolean; timeoutMs?: number }): Promise<readonly ProcessInfo[]>;
}

export interface EntityRouteOptions {
  /** The followed clusters' states, by cluster name. */
  readonly clusters: ReadonlyMap<string, EntityClient>;
  /** How long a pod page waits for the service's list of its processes (default 2 s). */
  readonly processTimeoutMs?: number;
}

/**
 * `GET /api/entity/<kind>/<uid>?cluster=` — one object of a followed cluster and what it relates
 * to (views/entity-view.ts): a pod with its containers, node, services, owner chain and namespace; a
 * workload with its owners, the workloads it owns and their pods; a service with its member
 * pods; a namespace or node with its pods; a label (`key=value`) with the objects carrying it.
 * `<uid>` is the key autocomplete returns (a container's id, a label's `key=value`, URL-encoded).
 * `cluster` may be left out when the console follows one cluster. Answers 404
 * CONSOLE_UNKNOWN_ENTITY when the state does not hold the object (any more).
 */
export function registerEntityRoute(app: FastifyInstance, options: EntityRouteOptions): void {
  app.get<{ Params: { kind: string; uid: string } }>('/api/entity/:kind/:uid', async (req): Promise<EntityDetail> => {
    const kind = entityKind(req.params.kind);
    const uid = req.params.uid;
    if (uid.length > 512 || /[\u0000-\u001f]/.test(uid)) throw new ConsoleError(ConsoleErrorCode.BAD_REQUEST, 'uid must be at most 512 characters, without control characters');
    const { name: cluster, followed } = followedCluster(options.clusters, parseParams(oneClusterParams, req.query).cluster);
    const detail = describeEntity(followed.state, cluster, kind, uid);
    if (!detail) {
      throw new ConsoleError(
        ConsoleErrorCode.UNKNOWN_ENTITY,
        `cluster "${cluster}" holds no ${kind} "${uid}" (never seen, or deleted longer ago than the retention window); look it up with /api/autocomplete`,
      );
    }
    return detail.kind === 'pod' ? { ...detail, processes: await podProcesses(followed, uid, options.processTimeoutMs ?? 2_000) } : detail;
  });
}

/**
 * A pod's processes from the service (the cluster client asks it; they are not in the state).
 * The page still answers when the service does not: the list says why it is missing.
 */
async function podProcesses(client: EntityClient, podUid: string, timeoutMs: number): Promise<ProcessList> {
  if (!client.processesOfPod) return { available: false, items: [], error: 'this console cannot ask the service for processes' };
  try {
    const processes = await client.processesOfPod(podUid, { includeStopped: true, timeoutMs });
    return {
      available: true,
      items: processes.map((p) => ({
        upid: formatUpid(p.upid),
        pid: p.upid.pid,
        commandLine: p.commandLine,
        containerId: p.containerId,
        node: p.nodeName,
        started: p.startTimeNs === 0n ? '' : formatTimeNs(p.startTimeNs),
        stopped: p.stopTimeNs === 0n ? '' : formatTimeNs(p.stopTimeNs),
      })),
    };
  } catch (err) {
    return { available: false, items: [], error: (err as Error).message };
  }
}

function entityKind(text: string): EntityKind {
  const kinds = kindsOfAlias(text);
  if (!kinds) throw new ConsoleError(ConsoleErrorCode.UNKNOWN_KIND, `unknown kind "${text}"; use one of ${KIND_ALIASES.join(', ')}`);
  if (kinds.length !== 1) throw new ConsoleError(ConsoleErrorCode.UNKNOWN_KIND, `"${text}" names several kinds; name one (deployment, statefulset, …)`);
  return kinds[0] as EntityKind;
}
