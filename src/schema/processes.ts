// Codec of the process lifecycle messages (proto/kubemeta/v1/processes.proto, wire-protocol §12):
// plain objects in and out, numbers for UPIDs (protobuf-es types uint64 as bigint), checked
// ranges, and no half-decoded results (SchemaError as for every other message).
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  ProcessErrorCode as WireProcessErrorCode,
  ProcessInfoSchema,
  ProcessQueryResponseSchema,
  ProcessQuerySchema,
  ProcessReportResponseSchema,
  ProcessReportSchema,
  type ProcessInfo as WireProcessInfo,
  type ProcessErrorCode as WireProcessErrorCodeValue,
} from './gen/kubemeta/v1/processes_pb.js';
import { UPIDSchema, type UPID } from './gen/kubemeta/v1/agents_pb.js';
import type { Upid } from './agents.ts';
import { SchemaError, SchemaErrorCode, decodeFailed } from './errors.ts';
import { nodeScope } from './scope.ts';
import type { TimeNs } from './time.ts';

/** Why a report, a process of it, or a query was refused (wire-protocol §12; numbers as on the wire). */
export const ProcessErrorCode = WireProcessErrorCode;
/** A code from ProcessErrorCode, or a number a newer service added (compare, do not switch exhaustively). */
export type ProcessErrorCode = WireProcessErrorCodeValue;

/** The stable names of ProcessErrorCode (docs/errors.md), e.g. for metric labels and messages. */
export function processErrorName(code: ProcessErrorCode): string {
  const entry = Object.entries(WireProcessErrorCode).find(([, v]) => v === code);
  return entry ? entry[0] : `UNKNOWN_${code}`;
}

/** One process (see ProcessInfo in processes.proto). Times are ns since the epoch, 0 = unset. */
export interface ProcessInfo {
  readonly upid: Upid;
  readonly containerId: string;
  readonly podUid: string;
  readonly commandLine: string;
  readonly startTimeNs: TimeNs;
  /** 0n while the process runs. */
  readonly stopTimeNs: TimeNs;
  /** The reporting agent's node (answers only; ignored in reports: the subject says it). */
  readonly nodeName: string;
}

export interface ProcessReport {
  readonly nodeName: string;
  readonly processes: readonly ProcessInfo[];
}

export interface ProcessRejection {
  readonly upid: Upid;
  readonly code: ProcessErrorCode;
  readonly message: string;
}

/** A refusal of a whole report or query. */
export interface ProcessRefusal {
  readonly code: ProcessErrorCode;
  readonly message: string;
  readonly retryAfterMs: number;
}

export type ProcessReportResult =
  | { readonly ok: true; readonly accepted: number; readonly rejected: readonly ProcessRejection[] }
  | { readonly ok: false; readonly error: ProcessRefusal };

export type ProcessQuery =
  | { readonly podUid: string; readonly includeStopped?: boolean }
  | { readonly upid: Upid };

export type ProcessQueryResult = { readonly ok: true; readonly processes: readonly ProcessInfo[] } | { readonly ok: false; readonly error: ProcessRefusal };

/** Longest command line kept, in UTF-8 bytes (longer ones are cut at a character boundary). */
export const MAX_COMMAND_LINE_BYTES = 4096;
/** Most processes in one report (a report is one NATS message, far below max_payload). */
export const MAX_PROCESSES_PER_REPORT = 128;
const MAX_ID = 253;
const utf8 = new TextEncoder();

function invalid(message: string): SchemaError {
  return new SchemaError(SchemaErrorCode.INVALID_MESSAGE, message);
}

function upidToWire(upid: Upid): UPID {
  return create(UPIDSchema, { asid: upid.asid, pid: upid.pid, startTimeTicks: BigInt(upid.startTimeTicks) });
}

function upidFromWire(u: UPID | undefined): Upid {
  if (u === undefined) throw invalid('a process needs its UPID');
  if (u.startTimeTicks > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`UPID start time ${u.startTimeTicks} is above 2^53 - 1`);
  return checkUpid({ asid: u.asid, pid: u.pid, startTimeTicks: Number(u.startTimeTicks) });
}

function checkUpid(u: Upid): Upid {
  const u32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
  if (!u32(u.asid) || u.asid === 0 || !u32(u.pid) || !Number.isSafeInteger(u.startTimeTicks) || u.startTimeTicks < 0) {
    throw invalid(`UPID ${JSON.stringify(u)} is out of range (asid ≥ 1 and pid 32-bit, start time ticks a non-negative safe integer)`);
  }
  return u;
}

/** Cuts `text` to at most `max` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, max: number): string {
  if (text.length <= max / 3 || utf8.encode(text).length <= max) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = utf8.encode(ch).length;
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** Checks and normalizes one process: ids within bounds, times not negative, command line cut. */
export function checkProcessInfo(p: ProcessInfo): ProcessInfo {
  checkUpid(p.upid);
  if (p.containerId.length > MAX_ID || p.podUid.length > MAX_ID) throw invalid(`container id and pod uid must be at most ${MAX_ID} characters`);
  if (p.startTimeNs < 0n || p.stopTimeNs < 0n) throw invalid('process times must not be negative');
  if (p.stopTimeNs === 0n && (p.containerId === '' || p.podUid === '')) {
    throw invalid(`the start of process ${p.upid.asid}:${p.upid.pid}:${p.upid.startTimeTicks} needs its container id and pod uid`);
  }
  const commandLine = truncateUtf8(p.commandLine, MAX_COMMAND_LINE_BYTES);
  return commandLine === p.commandLine ? p : { ...p, commandLine };
}

function infoToWire(p: ProcessInfo): WireProcessInfo {
  return create(ProcessInfoSchema, { ...p, upid: upidToWire(p.upid) });
}

function infoFromWire(m: WireProcessInfo): ProcessInfo {
  return checkProcessInfo({
    upid: upidFromWire(m.upid),
    containerId: m.containerId,
    podUid: m.podUid,
    commandLine: m.commandLine,
    startTimeNs: m.startTimeNs,
    stopTimeNs: m.stopTimeNs,
    nodeName: m.nodeName,
  });
}

function decode<T>(what: string, bytes: Uint8Array, read: () => T): T {
  try {
    return read();
  } catch (cause) {
    throw decodeFailed(what, bytes, cause);
  }
}

export function encodeProcessInfo(p: ProcessInfo): Uint8Array {
  return toBinary(ProcessInfoSchema, infoToWire(checkProcessInfo(p)));
}

export function decodeProcessInfo(bytes: Uint8Array): ProcessInfo {
  return infoFromWire(decode('ProcessInfo', bytes, () => fromBinary(ProcessInfoSchema, bytes, { readUnknownFields: false })));
}

export function encodeProcessReport(report: ProcessReport): Uint8Array {
  nodeScope(report.nodeName);
  if (report.processes.length === 0 || report.processes.length > MAX_PROCESSES_PER_REPORT) {
    throw invalid(`a process report holds 1–${MAX_PROCESSES_PER_REPORT} processes, got ${report.processes.length}`);
  }
  return toBinary(ProcessReportSchema, create(ProcessReportSchema, { nodeName: report.nodeName, processes: report.processes.map((p) => infoToWire(checkProcessInfo(p))) }));
}

/** Decodes and checks a report; throws SchemaError (bad node name, empty, too many, a bad process). */
export function decodeProcessReport(bytes: Uint8Array): ProcessReport {
  const m = decode('ProcessReport', bytes, () => fromBinary(ProcessReportSchema, bytes, { readUnknownFields: false }));
  nodeScope(m.nodeName);
  if (m.processes.length === 0 || m.processes.length > MAX_PROCESSES_PER_REPORT) {
    throw invalid(`a process report holds 1–${MAX_PROCESSES_PER_REPORT} processes, got ${m.processes.length}`);
  }
  return { nodeName: m.nodeName, processes: m.processes.map(infoFromWire) };
}

export function encodeProcessReportResponse(result: ProcessReportResult): Uint8Array {
  if (!result.ok) {
    return toBinary(ProcessReportResponseSchema, create(ProcessReportResponseSchema, { errorCode: result.error.code, errorMessage: result.error.message, retryAfterMs: result.error.retryAfterMs }));
  }
  return toBinary(
    ProcessReportResponseSchema,
    create(ProcessReportResponseSchema, { accepted: result.accepted, rejected: result.rejected.map((r) => ({ upid: upidToWire(r.upid), code: r.code, message: r.message })) }),
  );
}

export function decodeProcessReportResponse(bytes: Uint8Array): ProcessReportResult {
  const m = decode('ProcessReportResponse', bytes, () => fromBinary(ProcessReportResponseSchema, bytes, { readUnknownFields: false }));
  if (m.errorCode !== WireProcessErrorCode.UNSPECIFIED) return { ok: false, error: { code: m.errorCode, message: m.errorMessage, retryAfterMs: m.retryAfterMs } };
  return { ok: true, accepted: m.accepted, rejected: m.rejected.map((r) => ({ upid: upidFromWire(r.upid), code: r.code, message: r.message })) };
}

export function encodeProcessQuery(query: ProcessQuery): Uint8Array {
  const key = 'upid' in query ? { case: 'upid' as const, value: upidToWire(checkUpid(query.upid)) } : { case: 'podUid' as const, value: checkPodUid(query.podUid) };
  return toBinary(ProcessQuerySchema, create(ProcessQuerySchema, { key, includeStopped: 'upid' in query ? true : query.includeStopped === true }));
}

export function decodeProcessQuery(bytes: Uint8Array): ProcessQuery {
  const m = decode('ProcessQuery', bytes, () => fromBinary(ProcessQuerySchema, bytes, { readUnknownFields: false }));
  if (m.key.case === 'upid') return { upid: upidFromWire(m.key.value) };
  if (m.key.case === 'podUid') return { podUid: checkPodUid(m.key.value), includeStopped: m.includeStopped };
  throw invalid('a process query names a pod uid or a UPID');
}

function checkPodUid(uid: string): string {
  if (uid.length === 0 || uid.length > MAX_ID) throw invalid(`pod uid must be 1–${MAX_ID} characters`);
  return uid;
}

export function encodeProcessQueryResponse(result: ProcessQueryResult): Uint8Array {
  if (!result.ok) {
    return toBinary(ProcessQueryResponseSchema, create(ProcessQueryResponseSchema, { errorCode: result.error.code, errorMessage: result.error.message, retryAfterMs: result.error.retryAfterMs }));
  }
  return toBinary(ProcessQueryResponseSchema, create(ProcessQueryResponseSchema, { processes: result.processes.map(infoToWire) }));
}

export function decodeProcessQueryResponse(bytes: Uint8Array): ProcessQueryResult {
  const m = decode('ProcessQueryResponse', bytes, () => fromBinary(ProcessQueryResponseSchema, bytes, { readUnknownFields: false }));
  if (m.errorCode !== WireProcessErrorCode.UNSPECIFIED) return { ok: false, error: { code: m.errorCode, message: m.errorMessage, retryAfterMs: m.retryAfterMs } };
  return { ok: true, processes: m.processes.map(infoFromWire) };
}
