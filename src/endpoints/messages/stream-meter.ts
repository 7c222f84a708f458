/**
 * The Messages stream meter, for native and translated streams alike. Events pass through untouched except the
 * last two: `message_delta` (the stop reason and final usage) is held and sent at the end with `gateway_usage`,
 * then `message_stop`. Usage comes from `message_start` and `message_delta`, prompt-cache tokens included; a
 * stream cut short is charged for its prompt and the gateway's count of what was streamed. Failures end the stream
 * with an Anthropic `error` event.
 */
import { type GatewayError, UpstreamError, UpstreamRateLimitedError, UpstreamUnavailableError } from '../../errors/gateway-error.ts';
import type { GatewayUsage, TokenUsage } from '../../metering/meter.ts';
import { countTextTokens } from '../../metering/tokens.ts';
import type { JsonObject, SseEvent } from '../../plugin-sdk.ts';
import type { StreamMeter } from '../../proxy/operation.ts';
import { messagesErrorBody } from '../../dialects/messages/errors.ts';

interface AnthropicUsage {
  input_tokens?: unknown;
  output_tokens?: unknown;
  cache_read_input_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
}

interface StreamEvent extends JsonObject {
  type?: unknown;
  usage?: AnthropicUsage;
  message?: { usage?: AnthropicUsage };
  delta?: { text?: unknown; partial_json?: unknown; thinking?: unknown };
  error?: { type?: unknown; message?: unknown };
}

const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);

/** Anthropic's `usage` → TokenUsage; `promptTokens` counts all input, cache reads and writes included. */
export function tokenUsageOf(usage: AnthropicUsage | undefined, estimated = false): TokenUsage | undefined {
  const input = num(usage?.input_tokens);
  const output = num(usage?.output_tokens);
  if (input === undefined || output === undefined) return undefined;
  const cacheRead = num(usage?.cache_read_input_tokens) ?? 0;
  const cacheWrite = num(usage?.cache_creation_input_tokens) ?? 0;
  const result: TokenUsage = { promptTokens: input + cacheRead + cacheWrite, completionTokens: output, estimated };
  if (cacheRead) result.cacheReadTokens = cacheRead;
  if (cacheWrite) result.cacheWriteTokens = cacheWrite;
  return result;
}

/** An upstream `error` event as a gateway error, so a failure before the first byte can be retried like an HTTP one. */
export function errorFromMessagesEvent(parsed: StreamEvent, provider: string): GatewayError {
  const type = parsed.error?.type;
  const message = `${provider} failed mid-stream: ${typeof parsed.error?.message === 'string' ? parsed.error.message.slice(0, 500) : 'unknown error'}`;
  if (type === 'overloaded_error') return new UpstreamUnavailableError(message);
  if (type === 'rate_limit_error') return new UpstreamRateLimitedError(message);
  return new UpstreamError(message);
}

export class MessagesStreamMeter implements StreamMeter {
  readonly doneMarker = false;
  private started = false;
  private startUsage: AnthropicUsage | undefined;
  private delta: { event: StreamEvent; estimated: boolean } | undefined;
  private streamed = '';

  constructor(
    private readonly promptTokens: number,
    private readonly provider: string,
  ) {}

  inspect(event: SseEvent): 'forward' | 'hold' | 'done' | GatewayError {
    if (event.data === '[DONE]') return 'done';
    let parsed: StreamEvent;
    try {
      parsed = JSON.parse(event.data) as StreamEvent;
    } catch {
      return new UpstreamError(`${this.provider} sent a stream event that is not JSON`);
    }
    if (!parsed || typeof parsed !== 'object') return new UpstreamError(`${this.provider} sent a stream event that is not a JSON object`);
    const type = parsed.type ?? event.event;
    switch (type) {
      case 'error':
        return errorFromMessagesEvent(parsed, this.provider);
      case 'message_start':
        // A client's message snapshot breaks on a second message_start: only the first is sent.
        if (this.started) return 'hold';
        this.started = true;
        this.startUsage = parsed.message?.usage;
        return 'forward';
      case 'content_block_delta':
        this.streamed += textOf(parsed.delta);
        return 'forward';
      case 'message_delta':
        this.delta = { event: parsed, estimated: (event as { estimated?: boolean }).estimated === true };
        return 'hold';
      case 'message_stop':
        return 'done';
      default:
        return 'forward';
    }
  }

  /**
   * The final usage: `message_delta`'s counters are whole-message totals that override `message_start`'s when
   * present. Without a `message_delta` (a stream cut short) the output is the gateway's count of what was streamed.
   */
  usage(): TokenUsage {
    const start = this.startUsage;
    const final = this.delta?.event.usage;
    if (final && num(final.output_tokens) !== undefined) {
      const merged: AnthropicUsage = {
        input_tokens: num(final.input_tokens) ?? num(start?.input_tokens) ?? this.promptTokens,
        output_tokens: final.output_tokens,
        cache_read_input_tokens: num(final.cache_read_input_tokens) ?? start?.cache_read_input_tokens,
        cache_creation_input_tokens: num(final.cache_creation_input_tokens) ?? start?.cache_creation_input_tokens,
      };
      return tokenUsageOf(merged, this.delta!.estimated)!;
    }
    const prompt = tokenUsageOf({ ...start, output_tokens: 0 }) ?? { promptTokens: this.promptTokens, completionTokens: 0, estimated: true };
    return { ...prompt, completionTokens: countTextTokens(this.streamed), estimated: true };
  }

  closing(gatewayUsage: GatewayUsage): SseEvent[] {
    if (!this.delta) return [this.errorEvent(new UpstreamError(`${this.provider} ended the stream before the message was complete`))];
    const payload: JsonObject = { ...this.delta.event, gateway_usage: gatewayUsage };
    return [
      { event: 'message_delta', data: JSON.stringify(payload) },
      { event: 'message_stop', data: '{"type":"message_stop"}' },
    ];
  }

  errorEvent(error: GatewayError): SseEvent {
    return { event: 'error', data: JSON.stringify(messagesErrorBody(error)) };
  }
}

function textOf(delta: StreamEvent['delta']): string {
  if (!delta) return '';
  for (const field of ['text', 'partial_json', 'thinking'] as const) {
    if (typeof delta[field] === 'string') return delta[field];
  }
  return '';
}
