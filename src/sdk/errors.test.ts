import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubemetaError, isKubemetaError } from '../core/index.ts';
import { RequestErrorCode } from '../schema/index.ts';
import { ReplayLostError, ReplayRefusedError, ReplayTimeoutError, SdkError, SdkErrorCode, isSdkError } from './errors.ts';

test('SDK errors carry a stable SDK_* code and are KubemetaErrors', () => {
  const err = new ReplayRefusedError('node/n1', RequestErrorCode.BUSY, 'too many', 500);
  assert.equal(err.code, SdkErrorCode.REPLAY_REFUSED);
  assert.equal(err.retryAfterMs, 500);
  assert.ok(err instanceof SdkError && err instanceof ReplayRefusedError && err instanceof KubemetaError);
  assert.ok(isKubemetaError(err) && isSdkError(err));
  assert.equal(err.name, 'ReplayRefusedError');
  assert.ok(Object.values(SdkErrorCode).every((c) => c.startsWith('SDK_')));
});

test('instanceof works across duplicate installs (brands are global symbols)', () => {
  // What a second copy of the package would create: another class, the same Symbol.for brands.
  const foreign = Object.create(Object.getPrototypeOf(new ReplayTimeoutError('cluster', 10, 0))) as object;
  const copy = { [Symbol.for('kubemeta.sdk.SdkError')]: true, [Symbol.for('kubemeta.sdk.ReplayTimeoutError')]: true };
  assert.ok(foreign instanceof ReplayTimeoutError);
  assert.ok(copy instanceof SdkError, 'branded by the other copy');
  assert.ok(copy instanceof ReplayTimeoutError);
  assert.ok(!(copy instanceof ReplayRefusedError), 'another kind of error stays another kind');
  assert.ok(!(new Error('x') instanceof SdkError));
  assert.ok(!(new ReplayTimeoutError('cluster', 1, 0) instanceof ReplayRefusedError));
});

test('SDK errors of another copy of the SDK module are instances of this copy\'s classes', async () => {
  const copy = (await import(new URL('./errors.ts?copy=2', import.meta.url).href)) as typeof import('./errors.ts');
  assert.notEqual(copy.ReplayLostError, ReplayLostError);
  const err = new copy.ReplayLostError('node/n1', 'sequence jump');
  assert.ok(err instanceof ReplayLostError && err instanceof SdkError && isSdkError(err) && isKubemetaError(err));
  assert.ok(!(err instanceof ReplayRefusedError));
  assert.ok(new ReplayLostError('node/n1', 'x') instanceof copy.ReplayLostError);
});
