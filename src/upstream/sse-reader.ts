/**
 * Reads an upstream's SSE body (a Node readable) into events without an async layer per chunk or per event: the body's
 * `data` events are parsed as they arrive into a queue, and `next()` hands out queued events as resolved promises.
 * `parseSse` (an async generator over an async iterable) costs a readable iterator's promise per chunk, a generator's
 * round of promises per event and, at the end, an `AbortError` with its stack trace when the iterator tears the body
 * down; a stream of 50 events paid those on every event. This reader is what the upstream client uses.
 */
import type { Readable } from 'node:stream';
import type { SseEvent, SseHooks } from './sse.ts';

/** Queued events above which the body is paused until the consumer catches up. */
const HIGH_WATER = 256;

class PrematureClose extends Error {
  readonly code = 'ERR_STREAM_PREMATURE_CLOSE';
}

export class SseReader implements AsyncIterableIterator<SseEvent> {
  private readonly decoder = new TextDecoder();
  private pending = '';
  private data: string[] = [];
  private event: string | undefined;
  private queue: SseEvent[] = [];
  private head = 0;
  private ended = false;
  private failure: unknown;
  private finished = false;
  private paused = false;
  private waiter: { resolve: (result: IteratorResult<SseEvent>) => void; reject: (error: unknown) => void } | undefined;
  private readonly onData = (chunk: Buffer | string): void => this.take(chunk);
  private readonly onEnd = (): void => this.end();
  private readonly onError = (error: unknown): void => this.fail(error);
  private readonly onClose = (): void => {
    if (!this.ended && this.failure === undefined) this.fail(new PrematureClose('the body closed before its end'));
  };

  constructor(
    private readonly body: Readable,
    private readonly hooks: SseHooks = {},
  ) {
    body.on('data', this.onData);
    body.on('end', this.onEnd);
    body.on('error', this.onError);
    body.on('close', this.onClose);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<SseEvent>> {
    if (this.head < this.queue.length) return Promise.resolve({ value: this.shift(), done: false });
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    if (this.failure !== undefined) return Promise.reject(this.settle());
    if (this.ended) {
      this.settle();
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.paused) {
      this.paused = false;
      this.body.resume();
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<SseEvent>> {
    this.settle();
    return Promise.resolve({ value: undefined, done: true });
  }

  private shift(): SseEvent {
    const event = this.queue[this.head++]!;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    return event;
  }

  /** Parses one chunk; the first complete event goes straight to a waiting consumer, the rest are queued. */
  private take(chunk: Buffer | string): void {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const pending = this.pending;
    let start = 0;
    let newline: number;
    while ((newline = pending.indexOf('\n', start)) !== -1) {
      const end = newline > start && pending.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      this.line(pending.slice(start, end));
      start = newline + 1;
    }
    this.pending = start === 0 ? pending : pending.slice(start);
    if (this.queue.length - this.head > HIGH_WATER && !this.paused) {
      this.paused = true;
      this.body.pause();
    }
  }

  private line(line: string): void {
    if (line === '') {
      this.emit();
    } else if (line.startsWith('data:')) {
      this.data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
    } else if (line.startsWith('event:')) {
      this.event = line.slice(line.charCodeAt(6) === 32 ? 7 : 6);
    }
    // Comments (`:`), `id:` and `retry:` lines carry nothing the gateway needs.
  }

  private emit(): void {
    if (this.data.length > 0) {
      const data = this.data.length === 1 ? this.data[0]! : this.data.join('\n');
      const event: SseEvent = this.event === undefined ? { data } : { event: this.event, data };
      const waiter = this.waiter;
      if (waiter) {
        this.waiter = undefined;
        waiter.resolve({ value: event, done: false });
      } else {
        this.queue.push(event);
      }
    }
    this.data = [];
    this.event = undefined;
  }

  /** The body ended: a last event without its blank line still counts. */
  private end(): void {
    if (this.ended || this.finished) return;
    this.ended = true;
    const rest = this.pending + this.decoder.decode();
    this.pending = '';
    if (rest.startsWith('data:')) this.data.push(rest.slice(rest.charCodeAt(5) === 32 ? 6 : 5).replace(/\r$/, ''));
    this.emit();
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      this.settle();
      waiter.resolve({ value: undefined, done: true });
    }
  }

  private fail(error: unknown): void {
    if (this.ended || this.finished || this.failure !== undefined) return;
    this.failure = error;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.reject(this.settle());
    }
  }

  /** Detaches from the body once, runs `onDone`, and returns the mapped failure, if any. */
  private settle(): unknown {
    if (!this.finished) {
      this.finished = true;
      this.queue = [];
      this.head = 0;
      this.body.off('data', this.onData);
      this.body.off('end', this.onEnd);
      this.body.off('close', this.onClose);
      // The error listener stays: a body destroyed later must not throw an unhandled 'error'.
      this.hooks.onDone?.();
    }
    const failure = this.failure;
    if (failure === undefined) return undefined;
    this.failure = undefined;
    return this.hooks.mapError ? this.hooks.mapError(failure) : failure;
  }
}
