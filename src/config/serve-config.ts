import { z } from 'zod';
import { checkNatsCredentials, natsCredentialsShape } from './nats-credentials.ts';
import { booleanOption } from './sim-config.ts';

const num = () => z.coerce.number({ message: 'must be a number' });
const ms = (min: number, max: number) => num().int().min(min, `must be at least ${min} ms`).max(max, `must be at most ${max} ms`);
const int = (min: number, max: number) => num().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

/** A comma-separated list from a flag or env, or a YAML list from a file. */
const list = z.union([z.array(z.string()), z.string().transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x !== ''))]);

/** `lmdb:DIR` (embedded, the default) or `etcd:http://host:2379,http://host2:2379`. */
export const storeSpec = z.string().transform((value, ctx) => {
  const at = value.indexOf(':');
  const kind = at === -1 ? value : value.slice(0, at);
  const rest = at === -1 ? '' : value.slice(at + 1);
  if (kind === 'lmdb' && rest !== '') return { kind: 'lmdb' as const, path: rest };
  if (kind === 'etcd' && rest !== '') {
    const endpoints = rest.split(',').map((e) => e.trim()).filter((e) => e !== '');
    if (endpoints.every((e) => /^https?:\/\/[^/]+$/.test(e))) return { kind: 'etcd' as const, endpoints };
  }
  ctx.addIssue({ code: 'custom', message: `must be lmdb:<directory> or etcd:<http(s)://host:port>[,...], got ${JSON.stringify(value)}` });
  return z.NEVER;
});

const CLUSTER_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,251}[A-Za-z0-9])?$/;

/**
 * `kubemeta serve` options. Credentials (NATS user/password, token, nkey seed, creds file,
 * TLS files; etcd user/password and TLS) come from flags, KUBEMETA_* environment variables or
 * the config file, so a Kubernetes Secret can provide them as env or files.
 */
export const serveConfigSchema = z
  .object({
    cluster: z.string().regex(CLUSTER_NAME, "must be 1–253 letters, digits, '-', '_' or '.', starting and ending with a letter or digit").default('default'),
    kubeconfig: z.string().optional(),
    inCluster: booleanOption.default(false),
    context: z.string().optional(),
    /** Watch only these namespaces (empty: all). */
    namespaces: list.default([]),
    apiQps: num().min(0.1, 'must be at least 0.1').max(10_000, 'must be at most 10000').default(20),
    apiBurst: int(1, 100_000).default(40),
    listPageSize: int(1, 10_000).default(500),
    /**
     * Make initial lists with paginated LISTs even where the API server offers WatchList
     * (streaming list, KEP-3157); servers that refuse WatchList get pages anyway.
     */
    listWithPages: booleanOption.default(false),
    watchIdleTimeoutMs: ms(1_000, 3_600_000).default(300_000),

    natsUrls: list
      .superRefine((urls, ctx) => {
        for (const url of urls) {
          // Credentials in a URL (nats://user:pass@host) are not used by the NATS client, and
          // would be echoed here and logged: refused, without showing them.
          const shown = url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^@/]*@/, '$1***@');
          if (shown !== url) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(shown)}: credentials do not belong in a NATS URL; use --nats-user with KUBEMETA_NATS_PASSWORD, --nats-token (KUBEMETA_NATS_TOKEN), --nats-nkey-seed-file or --nats-creds-file` });
          else if (!/^(nats|tls|wss?):\/\/[^/]+$/.test(url)) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(url)} is not a NATS URL like nats://host:4222` });
        }
        if (urls.length === 0) ctx.addIssue({ code: 'custom', message: 'at least one NATS URL is needed' });
      })
      .default(['nats://127.0.0.1:4222']),
    ...natsCredentialsShape,
    /**
     * Answer replay and registration requests only into reply inboxes under
     * `_INBOX.<scope subject>.` (the SDK's default): with per-node NATS permissions on inboxes,
     * an agent can then read and register only its own node (docs/security.md).
     */
    requireScopedInboxes: booleanOption.default(false),

    /**
     * The credential issuer (docs/security.md, "Issued agent credentials"): with the account
     * signing key (`kubemeta nats-auth init` writes it) and the account's public key, node agents
     * trade their projected service-account token for a short-lived NATS user of their node.
     */
    issuerSigningKeyFile: z.string().min(1).optional(),
    issuerAccount: z.string().trim().regex(/^A[A-Z2-7]{55}$/, 'must be a NATS account public key (A… , 56 characters; kubemeta nats-auth init prints it)').optional(),
    /** The audience agent tokens must be for (the projected volume's `audience`). */
    issuerAudience: z.string().min(1).default('kubemeta'),
    /** Namespace and ServiceAccount of the node agents; only their pods get credentials. */
    issuerAgentNamespace: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a Kubernetes namespace name').default('kubemeta'),
    issuerAgentServiceAccount: z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a Kubernetes object name').default('kubemeta-agent'),
    /** If set, only pods of this DaemonSet (in issuerAgentNamespace) get credentials. */
    issuerAgentDaemonset: z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a Kubernetes object name').optional(),
    /** Lifetime of an issued agent credential (default 1 h). */
    issuerCredentialTtlMs: ms(5_000, 86_400_000).default(3_600_000),
    /** Credential requests checked per second (each costs one TokenReview), and the burst. */
    issuerRate: num().min(0.1, 'must be at least 0.1').max(10_000, 'must be at most 10000').default(50),
    issuerBurst: int(1, 100_000).default(100),

    store: storeSpec.default({ kind: 'lmdb', path: './.data/kubemeta.lmdb' }),
    etcdUser: z.string().optional(),
    etcdPassword: z.string().optional(),
    etcdTlsCa: z.string().optional(),
    etcdTlsCert: z.string().optional(),
    etcdTlsKey: z.string().optional(),
    /** Key prefix of this cluster's store in etcd (default `kubemeta/<cluster>/`), so clusters can share one etcd. */
    etcdKeyPrefix: z.string().regex(/^[\x20-\x7e]{1,256}$/, 'must be 1–256 printable ASCII characters').optional(),
    /** Must equal the etcd server's --max-txn-ops and --max-request-bytes (etcd's defaults here). */
    etcdMaxTxnOps: int(8, 1_000_000).default(128),
    etcdMaxRequestBytes: int(128 * 1024, 1024 * 1024 * 1024).default(1.5 * 1024 * 1024),
    /** etcd revision history kept before the store compacts it; 0 leaves compaction to etcd's --auto-compaction-*. */
    etcdHistoryRetentionMs: ms(0, 86_400_000).default(300_000),
    lmdbMapSizeMb: int(16, 1_048_576).default(4_096),

    /** Group commit: at most this many updates per store transaction… */
    batchMaxUpdates: int(1, 100_000).default(2_000),
    /** …and a batch waits at most this long for more updates once it has one. */
    batchLingerMs: ms(0, 1_000).default(2),
    /**
     * Commit and publish the initial sync of a new stream as history, update by update, instead
     * of as current state that consumers take as a snapshot (the default; etcd stores always
     * use history).
     */
    syncAsHistory: booleanOption.default(false),
    /** Largest NATS message the publisher builds (NATS's default max_payload is 1 MiB). */
    publishMaxMessageBytes: int(4_096, 64 * 1024 * 1024).default(256 * 1024),
    /**
     * Most node subjects (scopes) published on at once: node names come from any pod's
     * spec.nodeName, so they are bounded (4× Kubernetes' 5,000-node limit by default).
     */
    maxNodeSubjects: int(1, 10_000_000).default(20_000),
    /** A node scope no Node or pod refers to any more still gets heartbeats this long. */
    goneScopeHeartbeatMs: ms(0, 86_400_000).default(300_000),

    /** Replay limits (issue 8): the largest tail one request may ask for… */
    replayMaxLimit: int(1_000, 100_000_000).default(1_000_000),
    /** …answers streaming at once (all requesters), requests waiting beyond them (then BUSY)… */
    replayMaxConcurrent: int(1, 10_000).default(64),
    replayMaxQueued: int(0, 1_000_000).default(512),
    /** …and per requester: sustained requests per second, burst, answers running or queued. */
    replayRequesterRate: num().min(0.01, 'must be at least 0.01').max(100_000, 'must be at most 100000').default(10),
    replayRequesterBurst: int(1, 100_000).default(20),
    replayMaxPerRequester: int(1, 10_000).default(8),

    /**
     * Process lifecycle from agents (wire-protocol §12): process events per second per node's
     * agent and their burst (at least one full report, 128), live processes per node (starts
     * beyond are refused), stopped ones kept per node, and how long after their stop.
     */
    processReportRate: num().min(0.1, 'must be at least 0.1').max(1_000_000, 'must be at most 1000000').default(200),
    processReportBurst: int(128, 10_000_000).default(1_000),
    processMaxLivePerNode: int(1, 1_000_000).default(4_096),
    processMaxStoppedPerNode: int(0, 1_000_000).default(4_096),
    processRetentionMs: ms(1_000, 30 * 86_400_000).default(86_400_000),

    historyKeepUpdates: int(1_000, 1_000_000_000).default(1_000_000),
    historyKeepAgeMs: ms(60_000, 365 * 86_400_000).default(6 * 3_600_000),
    tombstoneRetentionMs: ms(0, 30 * 86_400_000).default(15 * 60_000),
    compactionIntervalMs: ms(1_000, 86_400_000).default(60_000),

    /**
     * High availability: run as one of several replicas, leading only while holding the Lease
     * `leaseNamespace/leaseName` (default `kubemeta-<cluster>`). Needs a shared store (etcd).
     */
    leaderElect: booleanOption.default(false),
    leaseNamespace: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a Kubernetes namespace name').default('kubemeta'),
    leaseName: z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a Kubernetes object name').optional(),
    /** This replica's name in the Lease (default: $POD_NAME, else hostname-pid); unique per replica. */
    identity: z.string().min(1).max(253).optional(),
    leaseDurationMs: ms(1_000, 300_000).default(15_000),
    renewDeadlineMs: ms(500, 300_000).default(10_000),
    retryPeriodMs: ms(100, 60_000).default(2_000),

    /** Address of the HTTP server (health, metrics): host:port. */
    http: z.string().regex(/^[^:]*:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:8080').default('127.0.0.1:8080'),
    /**
     * Also serve the web console (docs/console.md): a ClusterClient of this cluster on the same
     * NATS, and the console's page and API on the HTTP server (or on `consoleHttp`). Off by
     * default: the client holds the whole cluster's state in this process's memory.
     */
    console: booleanOption.default(false),
    /** The console on its own address (host:port) instead of the health server's. */
    consoleHttp: z.string().regex(/^[^:]*:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:8090').optional(),
    /** A file holding the bearer token the console's API requires (at least 16 characters). */
    consoleTokenFile: z.string().min(1).optional(),
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  })
  .superRefine((c, ctx) => {
    if (c.inCluster && c.kubeconfig) ctx.addIssue({ code: 'custom', path: ['inCluster'], message: 'use either --in-cluster or --kubeconfig, not both' });
    checkNatsCredentials(c, ctx);
    if ((c.etcdUser === undefined) !== (c.etcdPassword === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['etcdPassword'], message: 'etcd user and password go together' });
    }
    if (!c.console && (c.consoleHttp !== undefined || c.consoleTokenFile !== undefined)) {
      ctx.addIssue({ code: 'custom', path: [c.consoleHttp !== undefined ? 'consoleHttp' : 'consoleTokenFile'], message: 'applies to the web console only: add --console' });
    }
    if ((c.issuerSigningKeyFile === undefined) !== (c.issuerAccount === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['issuerAccount'], message: 'the credential issuer needs both --issuer-signing-key-file and --issuer-account (kubemeta nats-auth init writes and prints them)' });
    }
    if (c.leaderElect && c.store.kind !== 'etcd') {
      ctx.addIssue({ code: 'custom', path: ['leaderElect'], message: 'leader election needs a store all replicas share: use --store etcd:<url> (the LMDB store is local to one replica, so LMDB means a single replica without HA)' });
    }
    if (!(c.leaseDurationMs > c.renewDeadlineMs && c.renewDeadlineMs > c.retryPeriodMs)) {
      ctx.addIssue({ code: 'custom', path: ['renewDeadlineMs'], message: 'need leaseDurationMs > renewDeadlineMs > retryPeriodMs (a leader must give up before its lease can pass to another replica)' });
    }
    if ((c.etcdTlsCert === undefined) !== (c.etcdTlsKey === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['etcdTlsKey'], message: 'an etcd client certificate needs its key (and the key its certificate)' });
    }
  });

export type ServeConfig = Readonly<z.output<typeof serveConfigSchema>>;
export type ServeOptions = z.input<typeof serveConfigSchema>;
export type StoreSpec = ServeConfig['store'];
