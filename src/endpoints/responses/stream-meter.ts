/**
 * The Responses stream meter, for native and translated streams alike. Events pass through untouched except the
 * terminal one (`response.completed` / `.incomplete`), which is held and sent last with `gateway_usage` (and the
 * gateway's own count when the upstream reported no usage) in its `response`. Failures end the stream with a
 * `response.failed` event that continues the sequence numbers.
 */
import { UpstreamError, type GatewayError } from '../../errors/gateway-error.ts';
import type { GatewayUsage, TokenUsage } from '../../metering/meter.ts';
import { countTextTokens } from '../../metering/tokens.ts';
import type { JsonObject, SseEvent } from '../../plugin-sdk.ts';
import type { StreamMeter } from '../../proxy/operation.ts';
import { generatedText, responsesCacheTokens, responseUsage } from './response-object.ts';

const TERMINAL = new Set(['response.completed', 'response.incomplete']);
const DELTAS = new Set([
  'response.output_text.delta',
  'response.refusal.delta',
  'response.reasoning_text.delta',
  'response.reasoning_summary_text.delta',
  'response.function_call_arguments.delta',
]);

interface StreamEvent extends JsonObject {
  type?: unknown;
  sequence_number?: unknown;
  response?: JsonObject;
}

export class ResponsesStreamMeter implements StreamMeter {
  readonly doneMarker = false;
  private lastSequence = -1;
  /** The latest `response` snapshot (from created / in_progress), the base of a `response.failed` event. */
  private snapshot: JsonObject | undefined;
  private readonly doneItems: JsonObject[] = [];
  private streamed = '';
  private terminal: StreamEvent | undefined;
  private counted: TokenUsage | undefined;

  constructor(
    private readonly promptTokens: number,
    private readonly provider: string,
  ) {}

  inspect(event: SseEvent): 'forward' | 'hold' | 'done' | GatewayError {
    // Responses streams end with their terminal event, but some servers add a chat-style `[DONE]`: not for the client.
    if (event.data === '[DONE]') return 'done';
    const parsed = parseEvent(event.data);
    if (!parsed) return new UpstreamError(`${this.provider} sent a stream event that is not JSON`);
    const type = parsed.type;
    if (type === 'error' || (type === undefined && parsed.error)) return new UpstreamError(`${this.provider} failed mid-stream: ${errorMessage(parsed)}`);
    if (type === 'response.failed') return new UpstreamError(`${this.provider} failed mid-stream: ${errorMessage(parsed.response ?? {})}`);
    // Only events the client receives count: the gateway's own `response.failed` takes the place of an upstream error.
    if (typeof parsed.sequence_number === 'number') this.lastSequence = Math.max(this.lastSequence, parsed.sequence_number);
    if (type === 'response.created' || type === 'response.in_progress') this.snapshot = parsed.response;
    else if (type === 'response.output_item.done' && parsed.item && typeof parsed.item === 'object') this.doneItems.push(parsed.item as JsonObject);
    else if (typeof type === 'string' && DELTAS.has(type) && typeof parsed.delta === 'string') this.streamed += parsed.delta;
    else if (typeof type === 'string' && TERMINAL.has(type) && parsed.response) {
      this.terminal = parsed;
      return 'hold';
    }
    return 'forward';
  }

  usage(): TokenUsage {
    if (this.counted) return this.counted;
    const reported = this.terminal?.response?.usage as { input_tokens?: unknown; output_tokens?: unknown; input_tokens_details?: unknown } | null | undefined;
    if (reported && typeof reported.input_tokens === 'number' && typeof reported.output_tokens === 'number') {
      this.counted = { promptTokens: reported.input_tokens, completionTokens: reported.output_tokens, estimated: false, ...responsesCacheTokens(reported) };
    } else {
      const text = this.terminal ? generatedText(this.terminal.response?.output) : this.streamed;
      this.counted = { promptTokens: this.promptTokens, completionTokens: countTextTokens(text), estimated: true };
    }
    return this.counted;
  }

  closing(gatewayUsage: GatewayUsage): SseEvent[] {
    const terminal = this.terminal;
    if (!terminal?.response) return [this.errorEvent(new UpstreamError(`${this.provider} ended the stream before the response was complete`))];
    const usage = this.usage();
    const response: JsonObject = { ...terminal.response, gateway_usage: gatewayUsage };
    if (usage.estimated) response.usage = responseUsage(usage.promptTokens, usage.completionTokens);
    return [{ event: String(terminal.type), data: JSON.stringify({ ...terminal, response }) }];
  }

  errorEvent(error: GatewayError): SseEvent {
    const response: JsonObject = {
      ...(this.snapshot ?? { object: 'response', output: [] }),
      status: 'failed',
      error: { code: error.code ?? 'server_error', message: error.message },
      output: this.doneItems,
    };
    const payload = { type: 'response.failed', sequence_number: ++this.lastSequence, response };
    return { event: 'response.failed', data: JSON.stringify(payload) };
  }
}

function parseEvent(data: string): StreamEvent | undefined {
  try {
    const value: unknown = JSON.parse(data);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as StreamEvent) : undefined;
  } catch {
    return undefined;
  }
}

function errorMessage(holder: JsonObject): string {
  const error = holder.error as { message?: unknown } | string | undefined;
  if (typeof error === 'string') return error.slice(0, 500);
  if (error && typeof error.message === 'string') return error.message.slice(0, 500);
  return typeof holder.message === 'string' ? holder.message.slice(0, 500) : 'unknown error';
}
