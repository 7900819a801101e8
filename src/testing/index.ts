export type { NatsCluster, NatsClusterMember, NatsClusterOptions, NatsServer, NatsServerOptions } from './nats-server.ts';
export { startNatsCluster, startNatsServer } from './nats-server.ts';
export type { EtcdServer, EtcdServerOptions } from './etcd-server.ts';
export { startEtcdServer } from './etcd-server.ts';
export type { SpawnedProcess } from './processes.ts';
export { makeTempDir, freePort, spawnProcess, TestServerError } from './processes.ts';
export type { SimCluster, SimClusterOptions } from './sim-cluster.ts';
export { startSimCluster } from './sim-cluster.ts';
