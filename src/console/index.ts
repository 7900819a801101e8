// The console module: an autocomplete index of entity names fed by SDK cluster clients (one or
// several clusters), and its HTTP JSON API. Query language and API: docs/console.md.

export type {
  AutocompleteIndexOptions,
  AutocompleteQuery,
  AutocompleteResult,
  EntityInput,
  EntitySummary,
  Suggestion,
  EntityListOptions,
  EntityPage,
  IndexStats,
  IndexMemory,
  ClusterIndexStats,
} from './autocomplete-index.ts';
export { AutocompleteIndex } from './autocomplete-index.ts';
export type { EntityKind } from './entity-kinds.ts';
export { ENTITY_KINDS, KIND_ALIASES, parseKindList } from './entity-kinds.ts';
export type { ParsedQuery } from './query-parser.ts';
export { parseQuery } from './query-parser.ts';
export type { MatchType } from './ranking.ts';
export { MATCH_TYPES } from './ranking.ts';
export type { GoneReason } from './entry.ts';
export { ClusterFeed } from './cluster-feed.ts';
export type { FollowedClient, ClusterStatus, ServiceHealth } from './cluster-follower.ts';
export { ClusterFollower } from './cluster-follower.ts';
export { ConsoleError, ConsoleErrorCode, isConsoleError } from './errors.ts';
export type {
  ConsoleCluster,
  ConsoleAppOptions,
  ConsoleServerOptions,
  ConsoleApp,
  ConsoleServer,
  ConsoleStatus,
  ClusterStatusReport,
  MountedConsole,
} from './api.ts';
export { buildConsoleApp, registerConsole, startConsoleServer } from './api.ts';
export type { ConsoleQueryBroker } from './query-route.ts';
export type { EntityDetail, EntityRef, RefList, OwnerView, ContainerView, EntityField, EntityRelations } from './entity-view.ts';
export type { ClusterOverview, CountedKind, NamespaceSummary, NodeReadiness, NodeSummary, SummaryList } from './cluster-view.ts';
export type { NetworkRangeGroup, NetworkRangesView } from './network-ranges-view.ts';
export type { RateSample } from './events-route.ts';
export type { ConsoleConfig, ConsoleOptions } from './console-config.ts';
export { consoleConfigSchema } from './console-config.ts';
