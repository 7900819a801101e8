export type { NatsServer, NatsServerOptions } from './nats-server.ts';
export { startNatsServer } from './nats-server.ts';
export type { EtcdServer, EtcdServerOptions } from './etcd-server.ts';
export { startEtcdServer } from './etcd-server.ts';
export type { SpawnedProcess } from './processes.ts';
export { makeTempDir, freePort, spawnProcess, TestServerError } from './processes.ts';
