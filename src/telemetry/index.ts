// The telemetry module: the query language, the agent query protocol on NATS, mergeable partial
// aggregates, and the query broker that routes a query to the agents of the relevant nodes only
// and merges their partial aggregates. The simulated agents that answer it are the demo, in
// src/demo-agents. The whole story of kubemeta, runnable: docs/agents.md.

export type { QueryBrokerOptions, QueryConnection, QueryRouting, QueryResult, AgentFailure } from './query-broker.ts';
export { QueryBroker } from './query-broker.ts';
export type { ConnectQueryBrokerOptions, ConnectedQueryBroker } from './broker-connection.ts';
export { connectQueryBroker, queryBrokerInboxPrefix } from './broker-connection.ts';
export type { NatsConnector } from './nats-connection.ts';
export { connectUntilAnswered } from './nats-connection.ts';

export type { Aggregation, Measure, Dimension, TelemetryFilter, TelemetryQuery } from './query-language.ts';
export { AGGREGATIONS, MEASURES, DIMENSIONS, DEFAULT_WINDOW_MS, MAX_QUERY_LENGTH, parseTelemetryQuery, formatTelemetryQuery, toQueryFilter } from './query-language.ts';
export type { GroupKey, GroupPartial } from './aggregate.ts';
export { newPartial, mergePartial, finalValue, valueColumn } from './aggregate.ts';
export {
  HISTOGRAM_BUCKETS,
  HISTOGRAM_GROWTH,
  bucketOf,
  bucketBounds,
  bucketValue,
  histogramQuantile,
  quantileBucket,
  newHistogram,
  toSparse,
} from './latency-histogram.ts';
export type { AgentQueryRequest, AgentQueryReply, WireGroup, AgentQueryErrorCode } from './query-protocol.ts';
export { QUERY_PROTOCOL_VERSION, decodeAgentQueryRequest, decodeAgentQueryReply, encodeJson } from './query-protocol.ts';

export { TelemetryErrorCode, TelemetryError, isTelemetryError, TelemetryInvalidArgumentError, QueryParseError, isQueryParseError } from './errors.ts';
