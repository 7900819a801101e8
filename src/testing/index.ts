// `kubemeta/testing`: what tests need, ours and those of code built on kubemeta (as client-go
// ships its `fake` packages beside the clients).
//
// Without NATS or a running service: a FakeBus stands in for NATS (`bus.connect()` is an
// SdkConnection, passed to NodeAgentClient / ClusterClient as `nc`), a FakeKubemeta on it plays
// the service (commits, publishes, replays, registers agents, heartbeats; it can lose, fail and
// rewind on request), and the update builders (`pod`, `container`, `service`, …) make the
// ResourceUpdates it commits:
//
//   const bus = new FakeBus();
//   const service = new FakeKubemeta(bus, 'prod');
//   const agent = await NodeAgentClient.connect({ nc: bus.connect(), cluster: 'prod', node: 'n1', agentInstanceId: 'a' });
//   service.commit([{ update: pod({ uid: 'p1', name: 'web-1', node: 'n1' }), scopes: ['cluster', 'node/n1'] }]);
//   await bus.settle();
//
// With real processes: a local nats-server (or a cluster, or one configured as kubemeta
// deployments do), an etcd, and a simulated Kubernetes API server with a kubeconfig for it.

export { FakeBus, FakeConnection } from './fake-bus.ts';
export type { FakeReplayOptions } from './fake-kubemeta.ts';
export { FakeKubemeta } from './fake-kubemeta.ts';
export type { PodSpec } from './update-builders.ts';
export { T0, container, namespace, node, pod, scopeExit, secondsAfterT0, service, workload } from './update-builders.ts';

export type { NatsCluster, NatsClusterMember, NatsClusterOptions, NatsServer, NatsServerOptions } from './nats-server.ts';
export { startNatsCluster, startNatsServer } from './nats-server.ts';
export type { EtcdServer, EtcdServerOptions } from './etcd-server.ts';
export { startEtcdServer } from './etcd-server.ts';
export type { SpawnedProcess, SpawnOptions } from './processes.ts';
export { makeTempDir, freePort, spawnProcess, TestServerError } from './processes.ts';
export type { SimCluster, SimClusterOptions } from './sim-cluster.ts';
export { startSimCluster } from './sim-cluster.ts';
export type { ConfiguredNatsServer, KubemetaNatsConfig, NatsCredential, NatsTlsFiles } from './nats-auth.ts';
export { KUBEMETA_NATS_EXAMPLE, createNkeyUser, generateNatsTls, kubemetaPermissions, renderKubemetaNatsConfig, startConfiguredNatsServer } from './nats-auth.ts';
