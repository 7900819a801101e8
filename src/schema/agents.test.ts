import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RequestErrorCode, decodeRegisterAgentRequest, decodeRegisterAgentResponse, encodeRegisterAgentRequest,
  encodeRegisterAgentResponse, formatUpid, parseStreamId, parseUpid, upidFromUint128, upidToUint128,
} from './index.ts';
import { STREAM } from '../../test/fixtures/updates.ts';

test('agent registration requests and answers survive encode and decode', () => {
  const request = { nodeName: 'worker-7.example.com', agentInstanceId: 'pem-3f2a', hostname: 'worker-7' };
  assert.deepEqual(decodeRegisterAgentRequest(encodeRegisterAgentRequest(request)), request);
  const ok = { ok: true, asid: 4_000_000_000, streamId: parseStreamId(STREAM) } as const;
  assert.deepEqual(decodeRegisterAgentResponse(encodeRegisterAgentResponse(ok)), ok);
  const failed = { ok: false, error: { code: RequestErrorCode.UNAVAILABLE, message: 'store not ready', retryAfterMs: 1000 } } as const;
  assert.deepEqual(decodeRegisterAgentResponse(encodeRegisterAgentResponse(failed)), failed);
});

test('registrations without a valid node or instance id, and ASID 0, are refused', () => {
  assert.throws(() => encodeRegisterAgentRequest({ nodeName: 'Bad Node', agentInstanceId: 'x', hostname: '' }), { code: 'SCHEMA_INVALID_SCOPE' });
  assert.throws(() => encodeRegisterAgentRequest({ nodeName: 'n', agentInstanceId: '', hostname: '' }), /instance id/);
  assert.throws(() => encodeRegisterAgentResponse({ ok: true, asid: 0, streamId: parseStreamId(STREAM) }), /ASID/);
  assert.throws(() => decodeRegisterAgentRequest(Uint8Array.of(0x0a, 0x05, 0x61)), { code: 'SCHEMA_DECODE_FAILED' });
});

test('a UPID converts to the 128-bit form (asid << 32 | pid, ticks) and to its string key and back', () => {
  const upid = { asid: 17, pid: 4_000_000, startTimeTicks: 123_456_789_012 };
  const wide = upidToUint128(upid);
  assert.equal(wide.high, (17n << 32n) | 4_000_000n);
  assert.equal(wide.low, 123_456_789_012n);
  assert.deepEqual(upidFromUint128(wide), upid);
  assert.equal(formatUpid(upid), '17:4000000:123456789012');
  assert.deepEqual(parseUpid('17:4000000:123456789012'), upid);
  for (const bad of ['1:2', 'a:b:c', '4294967296:1:1', '1:1:-1']) assert.throws(() => parseUpid(bad), /UPID/);
  assert.throws(() => upidFromUint128({ high: 1n << 64n, low: 0n }), /out of range/);
});
