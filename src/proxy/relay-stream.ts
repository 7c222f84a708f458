/**
 * Streams an upstream answer to the client as it arrives. Nothing is written until the upstream's first event, so
 * failures before it are plain HTTP errors (and may be retried); after it, a failure is a final error event. The
 * socket's back-pressure is respected, and a client that stops reading is cut off after `writeStallMs`.
 */
import type { Response } from 'express';
import { GatewayError, toGatewayError, UpstreamError, UpstreamTimeoutError } from '../errors/gateway-error.ts';
import type { JsonObject } from '../plugin-sdk.ts';
import type { Target } from '../plugins/registry.ts';
import { streamedResponseId } from '../routing/response-owners.ts';
import { formatSse, type SseEvent } from '../upstream/sse.ts';
import { withAttempts } from './attempts.ts';
import type { CallRecord } from './call-record.ts';
import { bodyFor, callContext, countTokens, type ProxyDeps } from './relay-shared.ts';
import type { Operation, OperationContext, ParsedCall, StreamMeter } from './operation.ts';

type Verdict = ReturnType<StreamMeter['inspect']>;

interface OpenedStream {
  iterator: AsyncIterator<SseEvent>;
  headers: Record<string, string>;
  meter: StreamMeter;
  /** The first event and what the meter said of it. */
  first: IteratorResult<SseEvent>;
  firstVerdict: Verdict;
}

/** Opens the upstream stream and reads its first event; an error event in first place fails the attempt. */
async function openStream(operation: Operation, target: Target, body: JsonObject, context: OperationContext, parsed: ParsedCall): Promise<OpenedStream> {
  const stream = await operation.stream(target, bodyFor(target, body), context, parsed);
  const iterator = stream.events[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new UpstreamError(`${target.provider.name} ended the stream without sending anything`, { retryable: true });
  const meter = operation.meter(parsed, target);
  const firstVerdict = meter.inspect(first.value);
  if (firstVerdict instanceof GatewayError) {
    await iterator.return?.();
    throw firstVerdict;
  }
  return { iterator, headers: stream.headers ?? {}, meter, first, firstVerdict };
}

export async function relayStream(
  deps: ProxyDeps,
  operation: Operation,
  call: CallRecord,
  res: Response,
  targets: readonly Target[],
  body: JsonObject,
  parsed: ParsedCall,
): Promise<void> {
  // The client going away or the stream outliving `max_stream_ms` both stop the upstream, through the call's one signal.
  const context: OperationContext = callContext(call);
  const {
    result: opened,
    target,
    lease,
  } = await withAttempts(deps, call, targets, (t) => openStream(operation, t, body, context, parsed), { holdLease: true });
  if (call.endpoint === 'responses' && target.routed && !opened.first.done) deps.router?.served(target, streamedResponseId(opened.first.value));
  const maxMs = target.provider.entry.max_stream_ms;
  const timer = setTimeout(() => call.stop(new UpstreamTimeoutError(`the stream from ${target.provider.name} exceeded ${maxMs} ms`)), maxMs);
  const { meter } = opened;
  call.status = 200;
  res.writeHead(200, {
    ...opened.headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  deps.metrics.activeStreams.inc();
  let failure: GatewayError | undefined;
  const writer = new CoalescedWriter(res);
  try {
    failure = await pump(deps, call, res, opened, writer);
  } finally {
    writer.flush();
    clearTimeout(timer);
    deps.metrics.activeStreams.dec();
    await opened.iterator.return?.()?.catch(() => undefined);
    // A stream cut midway counts against its target's health, but it is never replayed elsewhere.
    void lease.end(call.clientGone ? call.abort.signal.reason : failure);
  }
  const usage = deps.meter.charge(call, meter.usage(), target);
  countTokens(deps, call);
  if (call.clientGone) {
    call.errorCode = 'client_closed_request';
    return;
  }
  if (failure) {
    call.errorCode = failure.code;
    res.end(formatSse(meter.errorEvent(failure)));
    return;
  }
  let tail = '';
  for (const event of meter.closing(usage)) tail += formatSse(event);
  if (meter.doneMarker) tail += 'data: [DONE]\n\n';
  res.end(tail);
}

/** Forwards events until the upstream ends; returns the failure that ended it early, if any. */
async function pump(deps: ProxyDeps, call: CallRecord, res: Response, opened: OpenedStream, writer: CoalescedWriter): Promise<GatewayError | undefined> {
  let next = opened.first;
  let verdict = opened.firstVerdict;
  try {
    while (!next.done && verdict !== 'done') {
      if (verdict instanceof GatewayError) return verdict;
      if (verdict === 'forward') {
        writer.write(formatSse(next.value));
        if (call.ttftMs === null) {
          call.ttftMs = call.elapsedMs();
          deps.metrics.ttft.observe({ route: call.endpoint, provider: call.provider ?? 'none' }, call.ttftMs / 1000);
        }
        if (res.writableNeedDrain) await drained(res, deps.writeStallMs);
        if (call.clientGone) return undefined;
      }
      next = await opened.iterator.next();
      if (!next.done) verdict = opened.meter.inspect(next.value);
    }
    return undefined;
  } catch (error) {
    if (call.clientGone) return undefined;
    return toGatewayError(error, call.provider ?? 'upstream');
  }
}

/**
 * Joins the events forwarded within one turn of the event loop into one write. The events parsed from one upstream
 * read arrive in the same turn; written one by one, each would be its own HTTP chunk (size line, data, CRLF) and,
 * uncorked, its own system call. Back-pressure shows in `res.writableNeedDrain` after a flush.
 */
class CoalescedWriter {
  private pending = '';
  private scheduled = false;
  private readonly flushLater = (): void => this.flush();

  constructor(private readonly res: Response) {}

  write(text: string): void {
    this.pending += text;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushLater);
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    if (!this.res.destroyed) this.res.write(text);
  }
}

/** Waits for the socket to drain; a client that reads nothing for `stallMs` is disconnected. */
function drained(res: Response, stallMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(() => {
      res.destroy();
      done();
    }, stallMs);
    res.on('drain', done);
    res.on('close', done);
  });
}
