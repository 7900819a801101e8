import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LogStats } from '../log/index.ts';
import type { ProjectorStats } from '../project/index.ts';
import type { ReflectorStats } from '../source/index.ts';
import type { ProcessRegistryStats, PublisherStats, ReplayServerStats } from '../bus/index.ts';

/** What the metrics read on every scrape (counters live in the components; no per-event cost here). */
export interface MetricSources {
  reflectors(): readonly ReflectorStats[];
  log(): LogStats | undefined;
  projector(): ProjectorStats;
  publisher(): PublisherStats | undefined;
  storeSizeBytes(): Promise<number | undefined>;
  ready(): boolean;
  committerBacklog(): number;
  replay(): ReplayServerStats | undefined;
  /** Free bytes for the store (LMDB: its filesystem); undefined where unknown (etcd). */
  storeAvailableBytes?(): Promise<number | undefined>;
  /** Whether this replica is the writer, and the Lease term it leads in (undefined without --leader-elect). */
  leader?(): { readonly leading: boolean; readonly term: number | undefined };
  /** Process reports from agents (wire-protocol §12); undefined before NATS is connected. */
  processes?(): ProcessRegistryStats | undefined;
}

/**
 * The service's Prometheus metrics, in a registry of its own. Most are read from the
 * components' stats at scrape time; only latencies are observed as they happen.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly commitSeconds: Histogram;
  readonly publishSeconds: Histogram;
  readonly eventToPublishSeconds: Histogram;
  readonly storeFailures: Counter;
  readonly splitEvents: Counter;
  /** Credential issuer answers by outcome: `issued` or the refusal code (CREDENTIALS_…). */
  readonly credentialRequests: Counter<'outcome'>;

  constructor(sources: MetricSources) {
    const r = this.registry;
    const buckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
    this.commitSeconds = new Histogram({ name: 'kubemeta_commit_duration_seconds', help: 'Store commit latency per batch', buckets, registers: [r] });
    this.publishSeconds = new Histogram({ name: 'kubemeta_publish_duration_seconds', help: 'Time from a durable commit until its messages are handed to NATS', buckets, registers: [r] });
    this.eventToPublishSeconds = new Histogram({
      name: 'kubemeta_event_to_publish_seconds',
      help: 'From a watch event reaching the committer to its updates handed to NATS (queueing, batching, commit, publish)',
      buckets: [...buckets, 5, 10],
      registers: [r],
    });
    this.credentialRequests = new Counter({
      name: 'kubemeta_credential_requests_total',
      help: 'Agent credential requests answered, by outcome: issued, or the refusal code (docs/errors.md)',
      labelNames: ['outcome'],
      registers: [r],
    });
    this.storeFailures = new Counter({ name: 'kubemeta_store_commit_failures_total', help: 'Store commits that failed and were retried', registers: [r] });
    this.splitEvents = new Counter({
      name: 'kubemeta_split_event_commits_total',
      help: "Events whose updates needed several store commits (etcd's per-transaction limits): raise the limits if it grows",
      registers: [r],
    });
    new Gauge({ name: 'kubemeta_ready', help: '1 once the initial sync is complete', registers: [r], collect() { this.set(sources.ready() ? 1 : 0); } });
    new Gauge({ name: 'kubemeta_head_version', help: 'Newest committed version', registers: [r], collect() { this.set(sources.log()?.head ?? 0); } });
    new Gauge({ name: 'kubemeta_committer_backlog', help: 'Updates waiting for a store commit', registers: [r], collect() { this.set(sources.committerBacklog()); } });
    new Gauge({
      name: 'kubemeta_updates_committed_total', help: 'Updates committed, by kind', labelNames: ['kind'], registers: [r],
      collect() { for (const [kind, n] of Object.entries(sources.log()?.updatesByKind ?? {})) this.set({ kind }, n); },
    });
    new Gauge({ name: 'kubemeta_updates_published_total', help: 'Updates handed to NATS (each counted once, whatever its scopes)', registers: [r], collect() { this.set(sources.publisher()?.updates ?? 0); } });
    new Gauge({ name: 'kubemeta_nats_messages_published_total', help: 'NATS messages published', registers: [r], collect() { this.set(sources.publisher()?.messages ?? 0); } });
    new Gauge({ name: 'kubemeta_nats_catchups_total', help: 'Re-publications from the log after a NATS outage', registers: [r], collect() { this.set(sources.publisher()?.catchUps ?? 0); } });
    new Gauge({ name: 'kubemeta_projector_suppressed_total', help: 'Events that changed nothing published', registers: [r], collect() { this.set(sources.projector().suppressed); } });
    new Gauge({ name: 'kubemeta_projector_bad_objects_total', help: 'Malformed objects skipped', registers: [r], collect() { this.set(sources.projector().badObjects); } });
    new Gauge({ name: 'kubemeta_node_subjects', help: 'Node subjects (scopes) published on now', registers: [r], collect() { this.set(sources.projector().nodeScopes); } });
    new Gauge({
      name: 'kubemeta_node_subjects_refused_total',
      help: 'Times a pod or Node was kept to the cluster subject because --max-node-subjects was reached',
      registers: [r],
      collect() {
        this.set(sources.projector().nodeScopesRefused);
      },
    });
    const perKind = (name: string, help: string, pick: (s: ReflectorStats) => number) =>
      new Gauge({ name, help, labelNames: ['kind'], registers: [r], collect() { for (const s of sources.reflectors()) this.set({ kind: s.kind }, pick(s)); } });
    perKind('kubemeta_api_watch_restarts_total', 'Watches restarted (ended, failed, or silent too long)', (s) => s.watchRestarts);
    perKind('kubemeta_api_watch_idle_restarts_total', 'Watches restarted because they delivered nothing for too long (docs/design.md §10)', (s) => s.idleRestarts);
    perKind('kubemeta_api_relists_total', 'LISTs after 410 Gone', (s) => s.relists);
    perKind('kubemeta_api_lists_total', 'LISTs, first ones included', (s) => s.lists);
    perKind('kubemeta_api_objects_listed_total', 'Objects received in LIST pages', (s) => s.objectsListed);
    perKind('kubemeta_api_watch_events_total', 'Watch events received', (s) => s.events);
    new Gauge({
      name: 'kubemeta_replay_requests_total', help: 'Replay requests answered, by outcome', labelNames: ['outcome'], registers: [r],
      collect() { for (const [outcome, n] of Object.entries(sources.replay()?.outcomes ?? {})) this.set({ outcome }, n); },
    });
    new Gauge({ name: 'kubemeta_replay_answers_in_flight', help: 'Replay answers streaming now', registers: [r], collect() { this.set(sources.replay()?.inFlight ?? 0); } });
    new Gauge({ name: 'kubemeta_replay_snapshots_total', help: 'Replay answers that carried a snapshot', registers: [r], collect() { this.set(sources.replay()?.snapshotsSent ?? 0); } });
    new Gauge({ name: 'kubemeta_replay_tail_updates_total', help: 'Tail updates sent by replay', registers: [r], collect() { this.set(sources.replay()?.tailUpdates ?? 0); } });
    new Gauge({
      name: 'kubemeta_process_events_total', help: 'Process start/stop events reported by agents, by outcome: accepted, or the refusal code (RATE_LIMITED, NODE_CAP, WRONG_ASID …)', labelNames: ['outcome'], registers: [r],
      collect() {
        const p = sources.processes?.();
        if (!p) return;
        this.set({ outcome: 'accepted' }, p.accepted);
        for (const [outcome, n] of Object.entries(p.refused)) this.set({ outcome }, n);
      },
    });
    new Gauge({
      name: 'kubemeta_processes', help: 'Processes kept, by state: live, or stopped within the retention', labelNames: ['state'], registers: [r],
      collect() {
        const p = sources.processes?.();
        this.set({ state: 'live' }, p?.live ?? 0);
        this.set({ state: 'stopped' }, p?.stopped ?? 0);
      },
    });
    // Alerting on a full disk before commits fail (STORE_FULL) needs the free space next to the
    // size; labelled by backend so that an etcd store exports no series instead of a false 0.
    new Gauge({
      name: 'kubemeta_store_available_bytes', help: "Bytes still free for the store (LMDB: on its directory's filesystem)", labelNames: ['backend'], registers: [r],
      async collect() {
        const free = await sources.storeAvailableBytes?.();
        if (free !== undefined) this.set({ backend: 'lmdb' }, free);
      },
    });
    // Leader changes: each replica exports whether it leads and its term (the Lease's
    // leaseTransitions); max(kubemeta_leader_term) over the replicas rises by one per change.
    new Gauge({ name: 'kubemeta_leader', help: '1 while this replica is the writer (holds the Lease with --leader-elect)', registers: [r], collect() { this.set(sources.leader?.().leading ? 1 : 0); } });
    new Gauge({ name: 'kubemeta_leader_term', help: "Lease term (leaseTransitions) this replica leads in; 0 when it does not lead or runs without --leader-elect", registers: [r], collect() { this.set(sources.leader?.().term ?? 0); } });
    new Gauge({
      name: 'kubemeta_store_size_bytes', help: 'Size of the store on disk', registers: [r],
      async collect() { this.set((await sources.storeSizeBytes()) ?? 0); },
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
