// Assertions shared by the conformance suite.
import assert from 'node:assert/strict';

/** Compares bytes, whatever Uint8Array subclass (Buffer) a backend returns. */
export function assertBytes(actual: Uint8Array | undefined, expected: Uint8Array | undefined, message?: string): void {
  assert.deepEqual(actual && [...actual], expected && [...expected], message);
}

/** Awaits a rejection with `code` and returns the error. */
export async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<unknown> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    assert.equal((err as { code?: string }).code, code, `expected ${code}, got ${String(err)}`);
    return true;
  });
  return caught;
}

