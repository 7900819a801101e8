import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { clusterSubjects, CLUSTER_SCOPE } from '../schema/index.ts';
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
  signal?.throwIfAborted();
  const nc: NatsConnection = await connect({
    name: `kubemeta-query-broker/${options.cluster}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    inboxPrefix: `_INBOX.${clusterSubjects(options.cluster).scope(CLUSTER_SCOPE)}`,
    ...natsOptions,
    servers: typeof servers === 'string' ? servers.split(',') : [...servers],
  });
  if (signal?.aborted) {
    await nc.close();
    signal.throwIfAborted();
  }
  return {
    broker: new QueryBroker({ ...brokerOptions, nc }),
    close: () => nc.close(),
  };
}
