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
} from './search/autocomplete-index.ts';
export { AutocompleteIndex } from './search/autocomplete-index.ts';
export type { EntityKind } from './entity-kinds.ts';
export { ENTITY_KINDS, KIND_ALIASES, parseKindList } from './entity-kinds.ts';
export type { ParsedQuery } from './search/query-parser.ts';
export { parseQuery } from './search/query-parser.ts';
export type { MatchType } from './search/ranking.ts';
export { MATCH_TYPES } from './search/ranking.ts';
export type { GoneReason } from './search/entry.ts';
export { ClusterFeed } from './clusters/cluster-feed.ts';
export type { FollowedClient, ClusterStatus, ServiceHealth } from './clusters/cluster-follower.ts';
export { ClusterFollower } from './clusters/cluster-follower.ts';
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
} from './routes/api.ts';
export { buildConsoleApp, registerConsole, startConsoleServer } from './routes/api.ts';
export type { ConsoleQueryBroker } from './routes/query-route.ts';
export type { EntityDetail, EntityRef, RefList, OwnerView, ContainerView, EntityField, EntityRelations } from './views/entity-view.ts';
export type { ClusterOverview, CountedKind, NamespaceSummary, NodeReadiness, NodeSummary, SummaryList } from './views/cluster-view.ts';
export type { NetworkRangeGroup, NetworkRangesView } from './views/network-ranges-view.ts';
export type { RateSample } from './routes/events-route.ts';
export type { ConsoleConfig, ConsoleOptions } from './console-config.ts';
export { consoleConfigSchema } from './console-config.ts';
