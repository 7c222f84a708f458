/** The upstream SSE reader: events split across reads, CRLF, comments, a last event without its blank line, errors, early return. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { SseReader } from '../../src/upstream/sse-reader.ts';
import type { SseEvent } from '../../src/upstream/sse.ts';

async function drain(reader: SseReader): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of reader) events.push(event);
  return events;
}

describe('upstream: SSE reader', () => {
  it('parses events split anywhere across reads, multi-line data, CRLF, comments and a last event without its blank line', async () => {
    const body = new PassThrough();
    let done = 0;
    const reader = new SseReader(body, { onDone: () => done++ });
    const wire = ': keep-alive\r\nevent: response.created\r\ndata: {"a":1}\r\n\r\ndata: line one\ndata: line two\nid: 7\n\ndata: é€\n\ndata:[DONE]';
    const bytes = Buffer.from(wire);
    // One byte at a time splits every line and the multi-byte characters.
    for (let i = 0; i < bytes.length; i++) body.write(bytes.subarray(i, i + 1));
    body.end();
    assert.deepEqual(await drain(reader), [{ event: 'response.created', data: '{"a":1}' }, { data: 'line one\nline two' }, { data: 'é€' }, { data: '[DONE]' }]);
    assert.equal(done, 1);
  });

  it('hands queued events out before the error that followed them, mapped once, then ends', async () => {
    const body = new PassThrough();
    const reader = new SseReader(body, { mapError: (error) => new Error(`mapped: ${(error as Error).message}`) });
    body.write('data: 1\n\ndata: 2\n\n');
    body.destroy(new Error('reset'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(await reader.next(), { value: { data: '1' }, done: false });
    assert.deepEqual(await reader.next(), { value: { data: '2' }, done: false });
    await assert.rejects(reader.next(), /mapped: reset/);
    assert.deepEqual(await reader.next(), { value: undefined, done: true });
  });

  it('fails a body closed before its end as a premature close', async () => {
    const body = new PassThrough();
    const reader = new SseReader(body);
    const next = reader.next();
    body.destroy();
    await assert.rejects(next, (error: Error & { code?: string }) => error.code === 'ERR_STREAM_PREMATURE_CLOSE');
  });

  it('runs onDone on an early return, so the caller can release the body', async () => {
    const body = new PassThrough();
    const reader = new SseReader(body, { onDone: () => body.destroy() });
    body.write('data: 1\n\n');
    assert.deepEqual(await reader.next(), { value: { data: '1' }, done: false });
    assert.deepEqual(await reader.return(), { value: undefined, done: true });
    assert.equal(body.destroyed, true);
    assert.deepEqual(await reader.next(), { value: undefined, done: true });
  });
});
