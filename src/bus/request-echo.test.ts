import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLUSTER_SCOPE, encodeReplayRequest, formatScope, nodeScope } from '../schema/index.ts';
import { echoOfRequest } from './request-echo.ts';

test('echoes the request id and scope of a request that decodes', () => {
  const bytes = encodeReplayRequest({ scope: nodeScope('n1'), after: 7, requestId: 'abc', limit: 3 });
  const echo = echoOfRequest(bytes);
  assert.deepEqual([echo.requestId, formatScope(echo.scope)], ['abc', 'node/n1']);
});

test('falls back to an empty id and the cluster scope for garbage, cut or invalid fields', () => {
  for (const bytes of [new Uint8Array([0xff, 0xff, 0xff]), new Uint8Array([0x2a, 0x10, 0x61]), new Uint8Array([0x0a, 0x02, 0xc3, 0x28])]) {
    const echo = echoOfRequest(bytes);
    assert.deepEqual([echo.requestId, echo.scope], ['', CLUSTER_SCOPE]);
  }
  const longId = new Uint8Array([0x2a, 200, 1, ...new Uint8Array(200).fill(0x61)]);
  assert.equal(echoOfRequest(longId).requestId, '', 'an id longer than 128 characters is not echoed');
});
