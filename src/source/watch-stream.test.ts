import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { readWatchEvents } from './watch-stream.ts';
import { SourceError } from './errors.ts';
import type { WatchEvent } from './objects.ts';

const pod = (rv: string) => ({ kind: 'Pod', metadata: { name: 'p', uid: 'u1', resourceVersion: rv } });

async function collect(body: Readable, idleTimeoutMs = 5_000): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  for await (const e of readWatchEvents(body, { idleTimeoutMs, what: 'test watch' })) out.push(e);
  return out;
}

test('decodes events split across chunks at arbitrary byte boundaries', async () => {
  const text = [
    JSON.stringify({ type: 'ADDED', object: pod('5') }),
    JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Pod', metadata: { resourceVersion: '9' } } }),
    JSON.stringify({ type: 'DELETED', object: pod('10') }),
  ].join('\n') + '\n';
  const bytes = Buffer.from(text);
  const chunks = [];
  for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.subarray(i, i + 7));
  const events = await collect(Readable.from(chunks));
  assert.deepEqual(events.map((e) => e.type), ['ADDED', 'BOOKMARK', 'DELETED']);
  assert.deepEqual(events[1], { type: 'BOOKMARK', resourceVersion: '9', initialEventsEnd: false });
});

test('an ERROR event with code 410 becomes an expired SourceError', async () => {
  const line = JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (50)' } });
  await assert.rejects(collect(Readable.from([Buffer.from(line + '\n')])), (err: unknown) => {
    assert.ok(err instanceof SourceError);
    assert.equal(err.errorClass, 'expired');
    assert.match(err.message, /too old resource version/);
    return true;
  });
});

test('a malformed line is a retriable error, not a crash', async () => {
  await assert.rejects(collect(Readable.from([Buffer.from('{"type":"ADDED","obj\n')])), (err: unknown) => {
    assert.ok(err instanceof SourceError);
    assert.equal(err.errorClass, 'retriable');
    assert.match(err.message, /malformed watch event/);
    return true;
  });
});

test('a watch silent for longer than the idle bound is declared dead', async () => {
  const body = new PassThrough();
  body.write(JSON.stringify({ type: 'ADDED', object: pod('1') }) + '\n');
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const e of readWatchEvents(body, { idleTimeoutMs: 50, what: 'quiet watch' })) seen.push(e.type);
    })(),
    (err: unknown) => err instanceof SourceError && err.code === 'SOURCE_WATCH_IDLE',
  );
  assert.deepEqual(seen, ['ADDED']);
  assert.ok(body.destroyed, 'the response is destroyed so the connection is released');
});
