// The wire schema module: kubemeta v1 messages (proto/kubemeta/v1), their codecs, scopes,
// subjects, versions and stream ids. The contract is docs/wire-protocol.md.

// Update payloads (generated from resources.proto). Enum objects are values and types.
export type {
  ResourceUpdate,
  PodUpdate,
  ContainerUpdate,
  ServiceUpdate,
  NamespaceUpdate,
  NodeUpdate,
  WorkloadUpdate,
  ScopeExit,
  NetworkRanges,
  Condition,
  OwnerReference,
  PodContainer,
  ServicePort,
  NodeAddress,
} from './gen/kubemeta/v1/resources_pb.js';
export {
  ResourceUpdateSchema,
  PodUpdateSchema,
  ContainerUpdateSchema,
  ServiceUpdateSchema,
  NamespaceUpdateSchema,
  NodeUpdateSchema,
  WorkloadUpdateSchema,
  ScopeExitSchema,
  ObjectKind,
  ConditionStatus,
  PodPhase,
  QosClass,
  ContainerType,
  ContainerState,
  ServiceType,
  Protocol,
  NodeAddressType,
  NetworkRangesSchema,
  RangeSource,
} from './gen/kubemeta/v1/resources_pb.js';
export { RequestErrorCode } from './gen/kubemeta/v1/errors_pb.js';
// Builds any payload message from plain objects: create(PodUpdateSchema, {...}). Re-exported so
// that modules build messages without depending on @bufbuild/protobuf themselves.
export { create } from '@bufbuild/protobuf';

export { SchemaError, SchemaErrorCode, isSchemaError } from './errors.ts';

export type { Version } from './version.ts';
export { MAX_VERSION, toVersion, isVersion } from './version.ts';

export type { StreamId } from './stream-id.ts';
export { newStreamId, isStreamId, parseStreamId } from './stream-id.ts';

export type { Scope, ClusterScope, NodeScope } from './scope.ts';
export { CLUSTER_SCOPE, nodeScope, parseScope, formatScope, scopeEquals, isValidNodeName } from './scope.ts';

export type { ClusterSubjects } from './subjects.ts';
export {
  SUBJECT_PREFIX,
  clusterSubjects,
  scopeSubject,
  parseScopeSubject,
  escapeSubjectToken,
  unescapeSubjectToken,
  isValidClusterName,
} from './subjects.ts';

export type { CredentialRefusalCode, CredentialRequest, CredentialResponse } from './credentials.ts';
export {
  CredentialRefusal,
  MAX_CREDENTIAL_REQUEST_BYTES,
  decodeCredentialRequest,
  decodeCredentialResponse,
  encodeCredentialRequest,
  encodeCredentialResponse,
  isTransientRefusal,
} from './credentials.ts';

export type { AgentDebugEntry, AgentDebugRequest, AgentDebugSummary, AgentDebugResponse } from './agent-debug.ts';
export {
  AGENT_DEBUG_DEFAULT_PAGE,
  AGENT_DEBUG_MAX_PAGE,
  agentDebugSubject,
  allAgentDebugSubjects,
  contentHash,
  sortDebugEntries,
  stateDigest,
  encodeAgentDebugRequest,
  decodeAgentDebugRequest,
  encodeAgentDebugResponse,
  decodeAgentDebugResponse,
} from './agent-debug.ts';

export type { KubemetaPermissions, SubjectPermissions } from './permissions.ts';
export { CONSUMER_RESPONSES, kubemetaPermissions } from './permissions.ts';

export type { Kind, WorkloadKind, UpdateIdentity } from './kinds.ts';
export { podAddresses, type PodAddresses } from './pod-addresses.ts';
export { kinds, KIND_NAMES, NETWORK_RANGES_UID, isKind, isWorkloadKind, kindFromWire, kindToWire, updateIdentity } from './kinds.ts';

export type { IpFamily, IpAddress, IpPrefix } from './ip-prefix.ts';
export {
  PrefixTable,
  parseIp,
  parsePrefix,
  prefixOf,
  formatIp,
  formatPrefix,
  familyBits,
  prefixContains,
  prefixContainsIp,
  prefixesOverlap,
  coveringPrefix,
  widenPrefix,
  comparePrefixes,
  mergePrefixes,
} from './ip-prefix.ts';

export type { TimeNs } from './time.ts';
export { timeNsFromRfc3339, timeNsFromMs, timeNsToMs, formatTimeNs } from './time.ts';

export { NATS_DEFAULT_MAX_PAYLOAD, DEFAULT_MAX_CHUNK_BYTES, MIN_CHUNK_BYTES } from './limits.ts';

export type { ResourceUpdateInit, UpdateFrame, UpdateBatchFrames, DecodedUpdate, DecodedBatch } from './updates.ts';
export {
  createResourceUpdate,
  encodeResourceUpdate,
  decodeResourceUpdate,
  resourceUpdateToJson,
  encodeUpdateBatch,
  encodeUpdateBatches,
  readUpdateBatch,
  decodeUpdateBatch,
  decodeFrame,
} from './updates.ts';

export type {
  ReplayRequest,
  ReplayRequestInit,
  ReplayMessage,
  ReplayEnvelope,
  ReplayBody,
  RequestErrorInfo,
  ReplayAck,
} from './replay.ts';
export { encodeReplayRequest, decodeReplayRequest, decodeReplayResponse, encodeReplayAck, decodeReplayAck } from './replay.ts';
export type { ReplayWriterOptions } from './replay-writer.ts';
export { ReplayResponseWriter, requestErrorFor } from './replay-writer.ts';

export type { RegisterAgentRequest, RegisterAgentResult, Upid } from './agents.ts';
export {
  encodeRegisterAgentRequest,
  decodeRegisterAgentRequest,
  encodeRegisterAgentResponse,
  decodeRegisterAgentResponse,
  upidToUint128,
  upidFromUint128,
  formatUpid,
  parseUpid,
} from './agents.ts';

export type { ProcessInfo, ProcessReport, ProcessRejection, ProcessRefusal, ProcessReportResult, ProcessQuery, ProcessQueryResult } from './processes.ts';
export {
  ProcessErrorCode,
  processErrorName,
  MAX_COMMAND_LINE_BYTES,
  MAX_PROCESSES_PER_REPORT,
  checkProcessInfo,
  encodeProcessInfo,
  decodeProcessInfo,
  encodeProcessReport,
  decodeProcessReport,
  encodeProcessReportResponse,
  decodeProcessReportResponse,
  encodeProcessQuery,
  decodeProcessQuery,
  encodeProcessQueryResponse,
  decodeProcessQueryResponse,
} from './processes.ts';
