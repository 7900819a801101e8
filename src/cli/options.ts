import type { Command } from 'commander';

/** One command-line option; its name is the config key in kebab-case (config validates it). */
export interface OptionSpec {
  key: string;
  help: string;
  /** A flag without a value (true when present). */
  flag?: boolean;
  /** Repeatable (--namespace a --namespace b) or comma-separated. */
  list?: boolean;
}

export function kebab(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** Adds the options to a command; values stay strings for the config loader to validate. */
export function addOptions(command: Command, specs: readonly OptionSpec[]): Command {
  for (const s of specs) {
    const name = `--${kebab(s.key)}`;
    if (s.flag) command.option(name, s.help);
    else if (s.list) command.option(`${name} <value>`, s.help, (v: string, prev: string[] | undefined) => [...(prev ?? []), ...v.split(',')]);
    else command.option(`${name} <value>`, s.help);
  }
  return command;
}

/**
 * How a command logs in to NATS: `serve`, `console` and `agents` take the same options
 * (config/nats-credentials.ts), so each can use its own NATS user (docs/security.md).
 */
export const NATS_CREDENTIAL_OPTIONS: readonly OptionSpec[] = [
  { key: 'natsUser', help: 'NATS user (with --nats-password)' },
  { key: 'natsPassword', help: 'NATS password (better: KUBEMETA_NATS_PASSWORD)' },
  { key: 'natsToken', help: 'NATS token (better: KUBEMETA_NATS_TOKEN)' },
  { key: 'natsNkeySeedFile', help: 'file with an NKey seed' },
  { key: 'natsCredsFile', help: 'NATS .creds file' },
  { key: 'natsTlsCa', help: 'CA file for NATS TLS' },
  { key: 'natsTlsCert', help: 'client certificate for NATS TLS' },
  { key: 'natsTlsKey', help: 'client key for NATS TLS' },
];

export const SERVE_OPTIONS: readonly OptionSpec[] = [
  { key: 'cluster', help: 'cluster name used in NATS subjects (default "default")' },
  { key: 'kubeconfig', help: 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)' },
  { key: 'inCluster', help: "use the pod's service account", flag: true },
  { key: 'context', help: 'kubeconfig context' },
  { key: 'namespaces', help: 'watch only these namespaces (comma-separated; default all)', list: true },
  { key: 'natsUrls', help: 'NATS servers, comma-separated (default nats://127.0.0.1:4222)', list: true },
  ...NATS_CREDENTIAL_OPTIONS,
  { key: 'issuerSigningKeyFile', help: 'account signing key seed file: issue node agents short-lived NATS credentials for their service-account token (docs/security.md; with --issuer-account)' },
  { key: 'issuerAccount', help: 'public key (A…) of the NATS account the signing key signs for (kubemeta nats-auth init prints it)' },
  { key: 'issuerAudience', help: 'audience agent tokens must be for (default kubemeta)' },
  { key: 'issuerAgentNamespace', help: 'namespace of the node agents (default kubemeta)' },
  { key: 'issuerAgentServiceAccount', help: 'ServiceAccount of the node agents (default kubemeta-agent)' },
  { key: 'issuerAgentDaemonset', help: 'only pods of this DaemonSet get agent credentials (default: any pod of the service account)' },
  { key: 'issuerCredentialTtlMs', help: 'lifetime of an issued agent credential (default 3600000)' },
  { key: 'issuerRate', help: 'credential requests checked per second, each one TokenReview (default 50)' },
  { key: 'issuerBurst', help: 'credential request burst (default 100)' },
  { key: 'requireScopedInboxes', help: 'answer replay/registration only into _INBOX.<scope subject>.… inboxes (per-node NATS permissions, docs/security.md)', flag: true },
  { key: 'store', help: 'lmdb:<dir> (default lmdb:./.data/kubemeta.lmdb) or etcd:<url>[,<url>…]' },
  { key: 'etcdUser', help: 'etcd user (with --etcd-password)' },
  { key: 'etcdPassword', help: 'etcd password (better: KUBEMETA_ETCD_PASSWORD)' },
  { key: 'etcdTlsCa', help: 'CA file for etcd TLS' },
  { key: 'etcdTlsCert', help: 'client certificate for etcd TLS' },
  { key: 'etcdTlsKey', help: 'client key for etcd TLS' },
  { key: 'etcdKeyPrefix', help: 'key prefix of this cluster in etcd (default kubemeta/<cluster>/)' },
  { key: 'etcdMaxTxnOps', help: "the etcd server's --max-txn-ops (default 128)" },
  { key: 'etcdMaxRequestBytes', help: "the etcd server's --max-request-bytes (default 1572864)" },
  { key: 'etcdHistoryRetentionMs', help: "etcd revision history kept before kubemeta compacts it; 0: etcd's own auto-compaction (default 300000)" },
  { key: 'lmdbMapSizeMb', help: 'initial LMDB map size in MiB; it grows as needed (default 4096)' },
  { key: 'http', help: 'host:port for /healthz, /readyz, /metrics (default 127.0.0.1:8080)' },
  { key: 'console', help: 'also serve the web console (page and API) on --http, or on --console-http (default off)', flag: true },
  { key: 'consoleHttp', help: 'host:port of the web console instead of --http (with --console)' },
  { key: 'consoleTokenFile', help: "file holding the bearer token the console's API requires (with --console; default: no auth)" },
  { key: 'leaderElect', help: 'HA: lead only while holding a Lease; the other replicas stand by (needs --store etcd:)', flag: true },
  { key: 'leaseNamespace', help: 'namespace of the leader-election Lease (default kubemeta)' },
  { key: 'leaseName', help: 'name of the leader-election Lease (default kubemeta-<cluster>)' },
  { key: 'identity', help: 'this replica in the Lease (default $POD_NAME, else hostname-pid)' },
  { key: 'leaseDurationMs', help: 'a leader not renewing for this long is replaced (default 15000)' },
  { key: 'renewDeadlineMs', help: 'a leader that cannot renew for this long steps down (default 10000)' },
  { key: 'retryPeriodMs', help: 'how often the Lease is renewed or tried (default 2000)' },
  { key: 'apiQps', help: 'requests per second to the API server (default 20)' },
  { key: 'apiBurst', help: 'request burst to the API server (default 40)' },
  { key: 'listPageSize', help: 'objects per LIST page (default 500)' },
  { key: 'listWithPages', help: 'initial lists as paginated LISTs, not as a WatchList stream (default: WatchList where the API server offers it)', flag: true },
  { key: 'watchIdleTimeoutMs', help: 'restart a watch silent this long, no event nor bookmark (default 300000)' },
  { key: 'batchMaxUpdates', help: 'updates per store commit at most (default 2000)' },
  { key: 'batchLingerMs', help: 'wait for more updates before a commit (default 2)' },
  { key: 'syncAsHistory', help: "commit and publish a new stream's initial sync update by update, not as current state consumers take as a snapshot (default off)", flag: true },
  { key: 'publishMaxMessageBytes', help: 'largest NATS message built (default 262144)' },
  { key: 'goneScopeHeartbeatMs', help: 'heartbeats go on this long for a node scope no Node or pod refers to any more (default 300000)' },
  { key: 'maxNodeSubjects', help: 'node subjects (scopes) published on at once at most; pods on further nodes go to the cluster subject only (default 20000)' },
  { key: 'compactionIntervalMs', help: 'how often history is compacted (default 60000)' },
  { key: 'replayMaxLimit', help: 'largest tail one replay request may ask for, in updates (default 1000000)' },
  { key: 'replayMaxConcurrent', help: 'replay answers streaming at once (default 64)' },
  { key: 'replayMaxQueued', help: 'replay requests waiting for a slot before BUSY (default 512)' },
  { key: 'replayRequesterRate', help: 'replay requests per second per requester (default 10)' },
  { key: 'replayRequesterBurst', help: 'replay request burst per requester (default 20)' },
  { key: 'replayMaxPerRequester', help: 'replay answers one requester may have running or queued (default 8)' },
  { key: 'processReportRate', help: 'process start/stop events per second one node\'s agent may report (default 200)' },
  { key: 'processReportBurst', help: 'process event burst per node, at least 128 (default 1000)' },
  { key: 'processMaxLivePerNode', help: 'live processes kept per node; further starts are refused with NODE_CAP (default 4096)' },
  { key: 'processMaxStoppedPerNode', help: 'stopped processes kept per node; the earliest-stopped go first (default 4096)' },
  { key: 'processRetentionMs', help: 'how long a stopped process is kept (default 24 h)' },
  { key: 'historyKeepUpdates', help: 'history kept for replay, in updates (default 1000000)' },
  { key: 'historyKeepAgeMs', help: 'history kept for replay, by age (default 6 h)' },
  { key: 'tombstoneRetentionMs', help: 'how long deleted objects stay in snapshots (default 15 min)' },
  { key: 'logLevel', help: 'debug | info | warn | error | silent (default info)' },
];

export const SIM_OPTIONS: readonly OptionSpec[] = [
  { key: 'host', help: 'address to listen on (default 127.0.0.1)' },
  { key: 'port', help: 'port (default 0: any free port)' },
  { key: 'tls', help: 'serve HTTPS with a self-signed certificate', flag: true },
  { key: 'seed', help: 'scenario seed: the same seed gives the same cluster (default 1)' },
  { key: 'nodes', help: 'nodes (default 10)' },
  { key: 'namespaces', help: 'application namespaces besides the system ones (default 3)' },
  { key: 'deployments', help: 'deployments (default: one per 25 application pods)' },
  { key: 'podsPerNode', help: 'pods per node, DaemonSet pods included (default 10, at most 110)' },
  { key: 'serviceFraction', help: 'fraction of deployments with a Service (default 0.7)' },
  { key: 'daemonsets', help: 'two DaemonSets with a pod on every node (default true)' },
  { key: 'statefulsets', help: 'StatefulSets of 3 pods (default 1)' },
  { key: 'cronjobs', help: 'CronJobs with a completed Job each (default 1)' },
  { key: 'podCidrs', help: 'nodes show spec.podCIDRs (default true; --pod-cidrs false leaves them empty, as some CNIs do)' },
  { key: 'churnRate', help: 'churn actions per second (default 0)' },
  { key: 'bookmarkIntervalMs', help: 'watch bookmark interval (default 5000)' },
  { key: 'historyPerKind', help: 'watch history kept per kind before 410 Gone (default 20000)' },
  { key: 'kubeconfigOut', help: 'write a kubeconfig for kubectl and client libraries to this file' },
  { key: 'logLevel', help: 'debug | info | warn | error | silent (default info)' },
];
