/**
 * Egress: an Anthropic Messages event stream → chat.completion.chunk events, as a state machine over the content
 * blocks. Each tool_use block gets its own tool-call index (parallel calls stay apart), its arguments arrive as
 * input_json_delta pieces, and the stream ends with the finish chunk and one usage chunk. An `error` event
 * becomes a gateway error thrown mid-stream.
 */
import { UpstreamError, UpstreamRateLimitedError, UpstreamUnavailableError, type GatewayError } from '../../errors/gateway-error.ts';
import type { JsonObject } from '../../plugin-sdk.ts';
import type { SseEvent } from '../../upstream/sse.ts';
import { messagesUsageToChat, stopReasonToFinish, type MessagesUsage } from './messages-usage-to-chat.ts';

interface OpenBlock {
  kind: 'text' | 'thinking' | 'tool' | 'other';
  /** The tool call's index among this answer's tool calls. */
  toolIndex: number;
  /** Whether any argument text was sent for this tool call. */
  argumentsSent: boolean;
  /** The input given in content_block_start, sent whole when no input_json_delta follows. */
  startInput: unknown;
}

interface MessagesEvent {
  type?: unknown;
  message?: { id?: unknown; model?: unknown; usage?: MessagesUsage };
  index?: unknown;
  content_block?: { type?: unknown; id?: unknown; name?: unknown; input?: unknown; text?: unknown };
  delta?: { type?: unknown; text?: unknown; thinking?: unknown; partial_json?: unknown; stop_reason?: unknown };
  usage?: MessagesUsage;
  error?: { type?: unknown; message?: unknown };
}

class ChatChunker {
  private id = 'msg_gateway';
  private model: unknown = '';
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly blocks = new Map<number, OpenBlock>();
  private tools = 0;
  private usage: MessagesUsage = {};
  private stopReason: unknown = null;
  finished = false;

  constructor(private readonly provider: string) {}

  /** The chat chunks for one Messages event (often none). */
  translate(event: MessagesEvent): JsonObject[] {
    switch (event.type) {
      case 'message_start':
        return this.start(event);
      case 'content_block_start':
        return this.blockStart(event);
      case 'content_block_delta':
        return this.blockDelta(event);
      case 'content_block_stop':
        return this.blockStop(event);
      case 'message_delta':
        if (event.delta?.stop_reason != null) this.stopReason = event.delta.stop_reason;
        if (event.usage) this.usage = { ...this.usage, ...definedOnly(event.usage) };
        return [];
      case 'message_stop':
        this.finished = true;
        return [this.chunk({}, stopReasonToFinish(this.stopReason)), this.usageChunk()];
      case 'error':
        throw midStreamError(this.provider, event.error);
      default:
        return []; // ping, and event types added after this was written
    }
  }

  private start(event: MessagesEvent): JsonObject[] {
    const message = event.message ?? {};
    if (typeof message.id === 'string') this.id = message.id;
    this.model = message.model ?? '';
    if (message.usage) this.usage = definedOnly(message.usage);
    return [this.chunk({ role: 'assistant', content: '' })];
  }

  private blockStart(event: MessagesEvent): JsonObject[] {
    const block = event.content_block ?? {};
    const index = Number(event.index);
    if (block.type === 'tool_use') {
      const open: OpenBlock = { kind: 'tool', toolIndex: this.tools++, argumentsSent: false, startInput: block.input };
      this.blocks.set(index, open);
      const call = { index: open.toolIndex, id: String(block.id ?? ''), type: 'function', function: { name: String(block.name ?? ''), arguments: '' } };
      return [this.chunk({ tool_calls: [call] })];
    }
    const kind = block.type === 'text' ? 'text' : block.type === 'thinking' ? 'thinking' : 'other';
    this.blocks.set(index, { kind, toolIndex: -1, argumentsSent: false, startInput: undefined });
    return kind === 'text' && typeof block.text === 'string' && block.text ? [this.chunk({ content: block.text })] : [];
  }

  private blockDelta(event: MessagesEvent): JsonObject[] {
    const delta = event.delta ?? {};
    const open = this.blocks.get(Number(event.index));
    if (delta.type === 'text_delta' && typeof delta.text === 'string') return [this.chunk({ content: delta.text })];
    if (delta.type === 'thinking_delta' && typeof delta.thinking === 'string') return [this.chunk({ reasoning_content: delta.thinking })];
    if (delta.type === 'input_json_delta' && open?.kind === 'tool' && typeof delta.partial_json === 'string' && delta.partial_json) {
      open.argumentsSent = true;
      return [this.arguments(open.toolIndex, delta.partial_json)];
    }
    return []; // signature_delta, citations_delta: nothing chat can carry
  }

  /** A tool call whose input never streamed still gets arguments a client can parse (never an empty string). */
  private blockStop(event: MessagesEvent): JsonObject[] {
    const open = this.blocks.get(Number(event.index));
    if (open?.kind !== 'tool' || open.argumentsSent) return [];
    open.argumentsSent = true;
    return [this.arguments(open.toolIndex, JSON.stringify(open.startInput ?? {}))];
  }

  private arguments(toolIndex: number, text: string): JsonObject {
    return this.chunk({ tool_calls: [{ index: toolIndex, function: { arguments: text } }] });
  }

  private chunk(delta: JsonObject, finishReason: string | null = null): JsonObject {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    };
  }

  private usageChunk(): JsonObject {
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: messagesUsageToChat(this.usage) };
  }
}

/** message_delta repeats only some usage fields (newer API versions send them all): keep what it does not send. */
function definedOnly(usage: MessagesUsage): MessagesUsage {
  return Object.fromEntries(Object.entries(usage).filter(([, value]) => value !== null && value !== undefined));
}

/** Overloaded and rate-limited streams keep their meaning, so clients see 503 / 429 kinds rather than a generic 502. */
function midStreamError(provider: string, error: MessagesEvent['error']): GatewayError {
  const message = `${provider} failed mid-stream: ${String(error?.message ?? 'unknown error').slice(0, 500)}`;
  if (error?.type === 'overloaded_error') return new UpstreamUnavailableError(message);
  if (error?.type === 'rate_limit_error') return new UpstreamRateLimitedError(message);
  return new UpstreamError(message);
}

function parseEvent(event: SseEvent, provider: string): MessagesEvent {
  try {
    const parsed: unknown = JSON.parse(event.data);
    if (parsed && typeof parsed === 'object') return parsed as MessagesEvent;
  } catch {
    // reported below
  }
  throw new UpstreamError(`${provider} sent a Messages stream event that is not a JSON object`);
}

/** The chat chunks of a Messages stream; an upstream that stops before `message_stop` is an error, not an answer. */
export async function* eventsToChatStream(events: AsyncIterable<SseEvent>, provider: string): AsyncGenerator<SseEvent> {
  const chunker = new ChatChunker(provider);
  for await (const event of events) {
    // Read on to the body's end after message_stop, so the connection can be reused.
    if (chunker.finished) continue;
    for (const chunk of chunker.translate(parseEvent(event, provider))) yield { data: JSON.stringify(chunk) };
  }
  if (!chunker.finished) throw new UpstreamError(`${provider} ended the stream before its message_stop event`);
}
