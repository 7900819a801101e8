import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { RegisterAgentRequestSchema, RegisterAgentResponseSchema } from './gen/kubemeta/v1/agents_pb.js';
import { SchemaError, SchemaErrorCode, decodeFailed } from './errors.ts';
import type { RequestErrorInfo } from './replay.ts';
import { nodeScope } from './scope.ts';
import { parseStreamId } from './stream-id.ts';
import type { StreamId } from './stream-id.ts';

/** An agent asking for its short id (ASID). */
export interface RegisterAgentRequest {
  /** The node the agent runs on (a valid Kubernetes node name). */
  readonly nodeName: string;
  /** Stable across restarts of the same agent; the same (node, instance) gets its ASID back. */
  readonly agentInstanceId: string;
  readonly hostname: string;
}

/** The service's answer: an ASID (≥ 1) and the stream id, or an error. */
export type RegisterAgentResult =
  | { readonly ok: true; readonly asid: number; readonly streamId: StreamId }
  | { readonly ok: false; readonly error: RequestErrorInfo };

const MAX_INSTANCE_ID = 253;

export function encodeRegisterAgentRequest(request: RegisterAgentRequest): Uint8Array {
  checkRegisterRequest(request);
  return toBinary(RegisterAgentRequestSchema, create(RegisterAgentRequestSchema, request));
}

/** Decodes and checks a registration; throws SchemaError (bad node name, empty instance id …). */
export function decodeRegisterAgentRequest(bytes: Uint8Array): RegisterAgentRequest {
  let m;
  try {
    m = fromBinary(RegisterAgentRequestSchema, bytes, { readUnknownFields: false });
  } catch (cause) {
    throw decodeFailed('RegisterAgentRequest', bytes, cause);
  }
  return checkRegisterRequest({ nodeName: m.nodeName, agentInstanceId: m.agentInstanceId, hostname: m.hostname });
}

function checkRegisterRequest(r: RegisterAgentRequest): RegisterAgentRequest {
  nodeScope(r.nodeName);
  if (r.agentInstanceId.length === 0 || r.agentInstanceId.length > MAX_INSTANCE_ID) {
    throw new SchemaError(
      SchemaErrorCode.INVALID_MESSAGE,
      `agent instance id must be 1–${MAX_INSTANCE_ID} characters (got ${r.agentInstanceId.length}); persist one per agent on the host`,
    );
  }
  return r;
}

export function encodeRegisterAgentResponse(result: RegisterAgentResult): Uint8Array {
  if (result.ok) {
    checkAsid(result.asid);
    return toBinary(RegisterAgentResponseSchema, create(RegisterAgentResponseSchema, { asid: result.asid, streamId: parseStreamId(result.streamId) }));
  }
  return toBinary(RegisterAgentResponseSchema, create(RegisterAgentResponseSchema, { error: result.error }));
}

export function decodeRegisterAgentResponse(bytes: Uint8Array): RegisterAgentResult {
  let m;
  try {
    m = fromBinary(RegisterAgentResponseSchema, bytes, { readUnknownFields: false });
  } catch (cause) {
    throw decodeFailed('RegisterAgentResponse', bytes, cause);
  }
  if (m.error !== undefined) {
    return { ok: false, error: { code: m.error.code, message: m.error.message, retryAfterMs: m.error.retryAfterMs } };
  }
  checkAsid(m.asid);
  return { ok: true, asid: m.asid, streamId: parseStreamId(m.streamId) };
}

function checkAsid(asid: number): void {
  if (!Number.isInteger(asid) || asid < 1 || asid > 0xffffffff) {
    throw new SchemaError(SchemaErrorCode.INVALID_MESSAGE, `ASID must be an integer in [1, 2^32), got ${asid}`);
  }
}

/**
 * Universal process id: (agent short id, pid, process start time in clock ticks). Unique in
 * the cluster across time, so telemetry rows can store it instead of names.
 */
export interface Upid {
  readonly asid: number;
  readonly pid: number;
  readonly startTimeTicks: number;
}

const UINT32 = 0x1_0000_0000n;

/** The 128-bit form Pixie uses: high = asid << 32 | pid, low = start time ticks. */
export function upidToUint128(upid: Upid): { readonly high: bigint; readonly low: bigint } {
  checkUpid(upid);
  return { high: BigInt(upid.asid) * UINT32 + BigInt(upid.pid), low: BigInt(upid.startTimeTicks) };
}

export function upidFromUint128(value: { readonly high: bigint; readonly low: bigint }): Upid {
  if (value.high < 0n || value.high >= UINT32 * UINT32 || value.low < 0n || value.low > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new SchemaError(SchemaErrorCode.INVALID_MESSAGE, `UPID ${value.high}:${value.low} is out of range`);
  }
  return { asid: Number(value.high / UINT32), pid: Number(value.high % UINT32), startTimeTicks: Number(value.low) };
}

/** "asid:pid:ticks": a compact map key and log form. */
export function formatUpid(upid: Upid): string {
  checkUpid(upid);
  return `${upid.asid}:${upid.pid}:${upid.startTimeTicks}`;
}

export function parseUpid(text: string): Upid {
  const m = /^(\d{1,10}):(\d{1,10}):(\d{1,16})$/.exec(text);
  const upid = m === null ? undefined : { asid: Number(m[1]), pid: Number(m[2]), startTimeTicks: Number(m[3]) };
  if (upid === undefined || !isUpid(upid)) {
    throw new SchemaError(SchemaErrorCode.INVALID_MESSAGE, `UPID ${JSON.stringify(text)} is not "asid:pid:ticks"`);
  }
  return upid;
}

function isUpid(u: Upid): boolean {
  const u32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
  return u32(u.asid) && u32(u.pid) && Number.isSafeInteger(u.startTimeTicks) && u.startTimeTicks >= 0;
}

function checkUpid(upid: Upid): void {
  if (!isUpid(upid)) throw new SchemaError(SchemaErrorCode.INVALID_MESSAGE, `UPID ${JSON.stringify(upid)} has a field out of range`);
}
