import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import { clusterSubjects, CLUSTER_SCOPE } from '../schema/index.ts';
import { connectUntilAnswered } from './nats-connection.ts';
import { QueryBroker, type QueryBrokerOptions } from './query-broker.ts';

export interface ConnectQueryBrokerOptions extends Omit<QueryBrokerOptions, 'nc'> {
  readonly servers: string | readonly string[];
  /** Credentials, TLS … of the broker's own connection (a cluster-client user: docs/security.md). */
  readonly natsOptions?: Partial<ConnectionOptions>;
  readonly signal?: AbortSignal;
}

/** A broker with the NATS connection it owns; close() closes that connection. */
export interface ConnectedQueryBroker {
  readonly broker: QueryBroker;
  close(): Promise<void>;
}

/**
 * Opens a NATS connection for a QueryBroker and builds it. The connection's inboxes are under
 * `_INBOX.kubemeta.<cluster>.cluster`, the cluster client's inboxes, so the cluster-client NATS
 * user of deploy/nats/kubemeta-nats.conf may send queries and read the agents' answers.
 */
export async function connectQueryBroker(options: ConnectQueryBrokerOptions): Promise<ConnectedQueryBroker> {
  const { servers, natsOptions, signal, ...brokerOptions } = options;
  // Until NATS answers, and abortable: a wait that cannot be cancelled kept a stopped console alive.
  const nc: NatsConnection = await connectUntilAnswered(
    {
      name: `kubemeta-query-broker/${options.cluster}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      inboxPrefix: queryBrokerInboxPrefix(options.cluster),
      ...natsOptions,
      servers: typeof servers === 'string' ? servers.split(',') : [...servers],
    },
    signal,
  );
  return {
    broker: new QueryBroker({ ...brokerOptions, nc }),
    close: () => nc.close(),
  };
}

/**
 * The inbox prefix of a broker's connection: `_INBOX.kubemeta.<cluster>.cluster`, under which the
 * cluster-client NATS user may receive the agents' answers. A caller that shares one connection
 * between a ClusterClient and a QueryBroker (`kubemeta console`) opens it with this prefix.
 */
export function queryBrokerInboxPrefix(cluster: string): string {
  return `_INBOX.${clusterSubjects(cluster).scope(CLUSTER_SCOPE)}`;
}
