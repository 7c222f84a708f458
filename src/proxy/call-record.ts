/**
 * CallRecord: the usage row of one model call, filled in as the request goes through the pipeline, and finished
 * exactly once, when both the response has closed and the handler has let go of it (whichever comes last).
 */
import type { Response } from 'express';
import type { Hold } from '../metering/lease-book.ts';
import type { TokenHold } from '../metering/token-limit.ts';
import type { UsageRow } from '../metering/usage-row.ts';

export type Endpoint = 'chat' | 'responses' | 'embeddings' | 'completions' | 'messages';

/** The reason the gateway aborts an upstream call when its client goes away. */
export class ClientClosedError extends Error {
  readonly code = 'client_closed_request';
  constructor() {
    super('client closed the connection');
  }
}

export class CallRecord {
  readonly requestId: string;
  readonly endpoint: Endpoint;
  readonly createdAt = Date.now();
  readonly startedAt = performance.now();
  /** Stops the upstream call: aborted when the client disconnects before the response is complete, or by `stop`. */
  readonly abort = new AbortController();
  keyId: string | null = null;
  provider: string | null = null;
  model: string | null = null;
  stream = false;
  promptTokens = 0;
  completionTokens = 0;
  estimated = false;
  costMicro = 0;
  chargedTokens = 0;
  ttftMs: number | null = null;
  status: number | undefined;
  errorCode: string | null = null;
  attempts = 0;
  hold: Hold | undefined;
  /** What the call counted against its key's tokens per minute. */
  tokenHold: TokenHold | undefined;
  /** The output tokens reserved for this call (the client's bound or the default cap); 0 when it generates nothing. */
  outputCap = 0;
  /** The client headers the operation forwards to a native upstream (see Operation.clientHeaders). */
  clientHeaders: Readonly<Record<string, string>> | undefined;
  private owners = 1;
  private done = false;
  private gone = false;

  constructor(
    requestId: string,
    endpoint: Endpoint,
    private readonly onFinish: (record: CallRecord) => void,
  ) {
    this.requestId = requestId;
    this.endpoint = endpoint;
  }

  /** Ties the record to the response: a client that leaves early aborts the upstream call. */
  attach(res: Response): void {
    res.once('close', () => {
      if (!res.writableFinished) {
        this.gone = true;
        this.abort.abort(new ClientClosedError());
      }
      this.status ??= res.writableFinished ? res.statusCode : 499;
      this.release();
    });
  }

  /** The handler takes a share of the record; it must `release()` when it has filled in the outcome. */
  retain(): void {
    this.owners++;
  }

  release(): void {
    if (--this.owners === 0 && !this.done) {
      this.done = true;
      this.onFinish(this);
    }
  }

  /** Whether the client disconnected before the response was complete. */
  get clientGone(): boolean {
    return this.gone;
  }

  /** Stops the upstream call for a reason of the gateway's own (a stream past `max_stream_ms`): the client is still there. */
  stop(reason: Error): void {
    this.abort.abort(reason);
  }

  elapsedMs(): number {
    return Math.round(performance.now() - this.startedAt);
  }

  toUsageRow(): UsageRow {
    return {
      request_id: this.requestId,
      key_id: this.keyId,
      endpoint: this.endpoint,
      provider: this.provider,
      model: this.model?.slice(0, 300) ?? null,
      prompt_tokens: this.promptTokens,
      completion_tokens: this.completionTokens,
      cost_micro: this.costMicro,
      status: this.status ?? 0,
      error_code: this.errorCode,
      latency_ms: this.elapsedMs(),
      ttft_ms: this.ttftMs,
      stream: this.stream,
      estimated: this.estimated,
      attempts: this.attempts,
      created_at: this.createdAt,
    };
  }
}
