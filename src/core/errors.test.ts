import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import * as errors from './errors.ts';
import { ClosedError, KubemetaError, TimeoutError, isKubemetaError } from './errors.ts';

/** A second copy of this module, as a second install of the package would load it. */
async function secondCopy(): Promise<typeof errors> {
  const copy = (await import(new URL('./errors.ts?copy=2', import.meta.url).href)) as typeof errors;
  assert.notEqual(copy.KubemetaError, KubemetaError, 'the copy has classes of its own');
  return copy;
}

test('errors of another copy of the package are instances of this copy\'s classes', async () => {
  const copy = await secondCopy();
  const err = new copy.TimeoutError('the answer', 100);
  assert.ok(err instanceof TimeoutError);
  assert.ok(err instanceof KubemetaError);
  assert.ok(isKubemetaError(err) && KubemetaError.is(err));
  assert.ok(!(err instanceof ClosedError), 'another kind of error stays another kind');
  assert.ok(new TimeoutError('x', 1) instanceof copy.TimeoutError, 'and the other way round');
  assert.ok(!(new Error('x') instanceof KubemetaError));
  assert.ok(!isKubemetaError('CORE_TIMEOUT') && !isKubemetaError(null));
});

test('a subclass that is not branded keeps the ordinary instanceof', () => {
  class StageError extends KubemetaError {}
  class OtherStageError extends KubemetaError {}
  const err = new StageError('STAGE_FAILED', 'failed');
  assert.ok(err instanceof StageError && err instanceof KubemetaError);
  assert.ok(!(err instanceof OtherStageError));
  assert.ok(!(new KubemetaError('X', 'x') instanceof StageError));
});

test('errors branded by an older copy (the brand as an own field) are still KubemetaErrors', () => {
  const older = Object.assign(new Error('from an older install'), { code: 'LOG_X', [Symbol.for('kubemeta.error')]: true });
  assert.ok(older instanceof KubemetaError && isKubemetaError(older));
});

test('errors from another realm are recognised by their global-symbol brands', () => {
  const foreign = runInNewContext(`
    class TimeoutError extends Error {}
    for (const key of ['kubemeta.error', 'kubemeta.core.TimeoutError']) Object.defineProperty(TimeoutError.prototype, Symbol.for(key), { value: true });
    new TimeoutError('timed out');
  `) as unknown;
  assert.ok(!(foreign instanceof Error), 'another realm\'s Error');
  assert.ok(foreign instanceof TimeoutError && isKubemetaError(foreign));
  assert.ok(!(foreign instanceof ClosedError));
});
