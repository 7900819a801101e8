// `kubemeta debug scope <scope>`: what the service holds for a scope. Two ways to reach it:
//
// - against the running service, over NATS (the default): a replay from version 0, i.e. exactly
//   the snapshot and tail a new consumer of the scope would get (wire-protocol §7). Nothing is
//   added to the service for it, it works wherever an agent works, and it is the reference a
//   consumer must equal, which is what `debug agent` compares with. The chain shown is the tail
//   that followed the snapshot (usually empty: a snapshot is taken at the scope's head).
// - directly from the store (`--store lmdb:<dir>` or `etcd:<urls>`, read-only): also for a
//   stopped service, and with the last links of the scope's chain from its index.
import { readFile } from 'node:fs/promises';
import { credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { KubemetaError } from '../core/index.ts';
import { identifyPayload, openEtcdStore, openLmdbReadOnly, readScopeDump, type ReadOnlyStore, type ScopeObject } from '../log/index.ts';
import {
  clusterSubjects,
  contentHash,
  decodeResourceUpdate,
  formatScope,
  parseScope,
  sortDebugEntries,
  stateDigest,
  updateIdentity,
  type AgentDebugEntry,
  type Scope,
  type StreamId,
} from '../schema/index.ts';
import { ReplayClient } from '../sdk/index.ts';
import { connectNatsWith } from '../service/index.ts';

/** A debug command failed (not a difference it found): exit 1 with what to check. */
export class DebugError extends KubemetaError {
  declare readonly code: 'CLI_DEBUG_FAILED';
  constructor(message: string, options?: ErrorOptions) {
    super('CLI_DEBUG_FAILED', message, options);
  }
}

export interface NatsTarget {
  readonly nats: string;
  readonly cluster: string;
  readonly natsCredsFile?: string;
  readonly timeoutMs: number;
}

export interface StoreTarget {
  /** `lmdb:<dir>` or `etcd:<url>[,<url>…]`. */
  readonly store: string;
  readonly etcdKeyPrefix?: string;
  readonly cluster: string;
}

/** One scope as the service holds it, from either source. */
export interface ServiceScope {
  readonly scope: string;
  readonly source: 'replay' | 'store';
  readonly streamId: string | undefined;
  /** The scope's head: the last version on its chain. */
  readonly head: number;
  /** replay: the version the snapshot was taken at. */
  readonly snapshotVersion?: number;
  readonly objects: readonly ScopeObject[];
  /** Newest first. */
  readonly chain: ReadonlyArray<{ readonly version: number; readonly prevVersion: number }>;
}

/** `node/<name>` or `cluster`; a bare node name is taken as its node scope. */
export function scopeArgument(text: string): Scope {
  try {
    return text === 'cluster' || text.startsWith('node/') ? parseScope(text) : parseScope(`node/${text}`);
  } catch (err) {
    throw new DebugError(`${JSON.stringify(text)} is not a scope: give "cluster", "node/<node name>" or a node name`, { cause: err });
  }
}

/** Connects to NATS within the target's timeout (a debug command must not wait forever). */
export async function connectDebugNats(target: NatsTarget, signal: AbortSignal): Promise<NatsConnection> {
  const authenticator = target.natsCredsFile === undefined ? undefined : credsAuthenticator(await readFile(target.natsCredsFile));
  const within = AbortSignal.any([signal, AbortSignal.timeout(target.timeoutMs)]);
  try {
    return await connectNatsWith(
      {
        servers: target.nats.split(','), name: 'kubemeta-debug', maxReconnectAttempts: 2, reconnectTimeWait: 250,
        // Requests answered into the cluster scope's inboxes: a cluster client's NATS user may read those (schema/permissions.ts).
        inboxPrefix: `_INBOX.${clusterSubjects(target.cluster).clusterScope}`,
        ...(authenticator ? { authenticator } : {}),
      },
      { signal: within, urlsOption: '--nats' },
    );
  } catch (err) {
    if (signal.aborted) throw err;
    throw new DebugError(`cannot reach NATS at ${target.nats} within ${target.timeoutMs} ms: check --nats (and --nats-creds-file)`, { cause: err });
  }
}

/**
 * The scope from the running service by replay from 0: the snapshot, then the tail after it
 * applied in chain order (a ScopeExit removes, a deletion stays as a tombstone, as in the store).
 */
export async function fetchScopeByReplay(nc: NatsConnection, cluster: string, scope: Scope, timeoutMs: number, signal: AbortSignal): Promise<ServiceScope> {
  const objects = new Map<string, ScopeObject>();
  let staged: Map<string, ScopeObject> | undefined;
  let streamId: StreamId | undefined;
  let position = 0;
  let snapshotVersion: number | undefined;
  const chain: Array<{ version: number; prevVersion: number }> = [];
  const put = (into: Map<string, ScopeObject>, version: number, payload: Uint8Array): void => {
    const id = updateIdentity(decodeResourceUpdate(payload));
    const key = `${id.kind}/${id.uid}`;
    if (id.scopeExit) {
      into.delete(key);
      return;
    }
    const who = identifyPayload(payload);
    const stop = (decodeResourceUpdate(payload).object.value as { stopTimeNs?: bigint } | undefined)?.stopTimeNs ?? 0n;
    into.set(key, { key, ...who, version, deleted: stop !== 0n, payload });
  };
  const client = new ReplayClient({ connection: nc, cluster, responseTimeoutMs: timeoutMs });
  const within = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs * 3)]);
  let head = 0;
  try {
    const result = await client.run(scope, {
      position: () => ({ after: position, knownStreamId: streamId }),
      onMessage: (m) => {
        if (m.type === 'snapshotStart') staged = new Map();
        else if (m.type === 'updates' && staged) for (const f of m.frames) put(staged, f.version, f.payload);
        else if (m.type === 'updates') {
          for (const f of m.frames) {
            if (f.version <= position) continue;
            put(objects, f.version, f.payload);
            chain.unshift({ version: f.version, prevVersion: f.prevVersion });
            position = f.version;
          }
        } else if (m.type === 'snapshotEnd' && staged) {
          objects.clear();
          for (const [k, o] of staged) objects.set(k, o);
          staged = undefined;
          streamId = m.streamId;
          position = m.version;
          snapshotVersion = m.version;
        } else if (m.type === 'end') {
          streamId ??= m.streamId;
          position = Math.max(position, m.lastVersion);
          head = m.head;
        }
      },
    }, within);
    head = result.head;
  } catch (err) {
    if (signal.aborted) throw err;
    throw new DebugError(`the service did not answer a replay of ${formatScope(scope)}: ${(err as Error).message}. Is kubemeta serve running for cluster ${JSON.stringify(cluster)} and ready?`, { cause: err });
  }
  return {
    scope: formatScope(scope), source: 'replay', streamId, head, ...(snapshotVersion !== undefined ? { snapshotVersion } : {}),
    objects: [...objects.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)), chain,
  };
}

/** Opens the store named by `--store` for reading only (see stores/lmdb-readonly.ts). */
export async function openStoreReadOnly(target: StoreTarget): Promise<ReadOnlyStore> {
  const at = target.store.indexOf(':');
  const kind = target.store.slice(0, at);
  const rest = target.store.slice(at + 1);
  if (at > 0 && kind === 'lmdb' && rest !== '') return openLmdbReadOnly(rest);
  if (at > 0 && kind === 'etcd' && rest !== '') {
    // No history compaction: the only write the etcd store does by itself. Nothing else here
    // commits, so the store is only read.
    const store = await openEtcdStore({ endpoints: rest.split(','), keyPrefix: target.etcdKeyPrefix ?? `kubemeta/${target.cluster}/`, historyCompaction: false });
    return { backend: store.backend, location: store.location, access: 'reads only', get: (k) => store.get(k), getMany: (k) => store.getMany(k), scan: (o) => store.scan(o), close: () => store.close() };
  }
  throw new DebugError(`--store must be lmdb:<directory> or etcd:<http(s)://host:port>[,...], got ${JSON.stringify(target.store)}`);
}

/** The scope straight from a store (read-only), with the last `chain` links of its index. */
export async function fetchScopeFromStore(target: StoreTarget, scope: Scope, chain: number): Promise<ServiceScope> {
  const store = await openStoreReadOnly(target);
  try {
    const d = await readScopeDump(store, formatScope(scope), { chain });
    return { scope: d.scope, source: 'store', streamId: d.streamId, head: d.head, objects: d.objects, chain: d.chain };
  } finally {
    await store.close();
  }
}

/** The digest entries of a scope's live objects, as an agent computes them (schema/agent-debug.ts). */
export function liveEntries(scope: ServiceScope): AgentDebugEntry[] {
  return sortDebugEntries(scope.objects.filter((o) => !o.deleted).map((o) => ({ key: o.key, version: o.version, hash: contentHash(o.payload) })));
}

export function scopeDigest(scope: ServiceScope): string {
  return stateDigest(liveEntries(scope));
}

/** JSON for `--json`: payloads as content hashes, not bytes. */
export function scopeToJson(s: ServiceScope): unknown {
  return {
    scope: s.scope, source: s.source, streamId: s.streamId ?? null, head: s.head,
    ...(s.snapshotVersion !== undefined ? { snapshotVersion: s.snapshotVersion } : {}),
    objects: s.objects.map((o) => ({ key: o.key, kind: o.kind, uid: o.uid, namespace: o.namespace, name: o.name, version: o.version, deleted: o.deleted, hash: contentHash(o.payload) })),
    live: s.objects.filter((o) => !o.deleted).length,
    digest: scopeDigest(s),
    chain: s.chain,
  };
}

/** The table: a header with the position, then one row per object. */
export function formatScopeTable(s: ServiceScope): string {
  const lines = [
    `scope ${s.scope}  (from the ${s.source === 'replay' ? 'running service, by replay' : 'store'})`,
    `stream ${s.streamId ?? '-'}  head ${s.head}${s.snapshotVersion !== undefined ? `  snapshot at ${s.snapshotVersion}` : ''}  objects ${s.objects.filter((o) => !o.deleted).length} live, ${s.objects.filter((o) => o.deleted).length} deleted (tombstones)`,
    `chain (newest first): ${s.chain.length === 0 ? '-' : s.chain.map((c) => `${c.version}←${c.prevVersion}`).join(' ')}`,
    '',
  ];
  const rows = s.objects.map((o) => [o.kind, o.namespace || '-', o.name || '-', o.uid, String(o.version), o.deleted ? 'deleted' : 'live']);
  lines.push(...table(['KIND', 'NAMESPACE', 'NAME', 'UID', 'VERSION', 'STATE'], rows));
  return lines.join('\n') + '\n';
}

export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ');
  return [line(header), ...rows.map(line)];
}


