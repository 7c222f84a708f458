/**
 * A chat-completions stream → Anthropic Messages events, as a small state machine: one `message_start` (with the
 * gateway's prompt count until the upstream has counted), one block index per block, a new block whenever the kind
 * changes or another tool call starts (each parallel call its own block, its arguments routed by the chunk's
 * tool_call index), a `content_block_stop` for every started block, then `message_delta` once the upstream's usage
 * has arrived (or at the end with the gateway's count) and `message_stop`.
 */
import { UpstreamError } from '../../errors/gateway-error.ts';
import { countTextTokens } from '../../metering/tokens.ts';
import type { JsonObject, SseEvent } from '../../plugin-sdk.ts';
import { errorFromStreamEvent } from '../../proxy/wire.ts';
import { newMessageId, newToolUseId, parseToolInput, stopReason, usageFromChat, type MessagesUsage } from './chat-answer-to-message.ts';
import type { ToolNames } from './tool-names.ts';

/** A Messages event; `estimated` marks a `message_delta` whose usage is the gateway's count (never on the wire). */
export interface MessagesEvent extends SseEvent {
  event: string;
  estimated?: boolean;
}

export interface StreamTranslation {
  /** The client's request: its model names the message, its stop sequences tell a `stop_sequence` stop. */
  request: JsonObject;
  names: ToolNames;
  /** The gateway's count of the prompt. */
  promptTokens: number;
  provider: string;
}

type Kind = 'text' | 'thinking' | 'tool_use';

interface ToolBlock {
  index: number;
  id: string;
}

interface ChunkDelta {
  content?: unknown;
  reasoning_content?: unknown;
  reasoning?: unknown;
  tool_calls?: { index?: unknown; id?: unknown; function?: { name?: unknown; arguments?: unknown } }[];
}

interface ChunkChoice {
  index?: unknown;
  delta?: ChunkDelta;
  finish_reason?: unknown;
  stop_reason?: unknown;
}

function event(type: string, payload: JsonObject): MessagesEvent {
  return { event: type, data: JSON.stringify({ type, ...payload }) };
}

export class ChatToMessages {
  private started = false;
  private open: { index: number; kind: Kind } | undefined;
  private nextIndex = 0;
  /** Tool blocks by the upstream's tool_call index. */
  private readonly tools = new Map<number, ToolBlock>();
  private usedTools = false;
  private finish: unknown;
  private matched: unknown;
  private finished = false;
  private usage: MessagesUsage | undefined;
  private delivered = false;
  private generated = '';

  constructor(private readonly options: StreamTranslation) {}

  /** The events for one upstream chunk (its parsed JSON). */
  push(chunk: JsonObject): MessagesEvent[] {
    const out: MessagesEvent[] = [];
    const usage = usageFromChat(chunk.usage);
    if (!this.started) out.push(this.messageStart(usage));
    const choices = Array.isArray(chunk.choices) ? (chunk.choices as ChunkChoice[]) : [];
    // A Messages answer has one choice; any other the upstream sends is not the client's.
    const choice = choices.find((c) => c?.index === undefined || c.index === 0);
    if (choice?.delta) this.delta(choice.delta, out);
    if (choice?.finish_reason) {
      this.finish = choice.finish_reason;
      this.matched = choice.stop_reason;
      this.finished = true;
      this.closeBlock(out);
    }
    // Some servers report running usage on every chunk: the latest counts, and a usage-only chunk after the finish
    // is the final one. Otherwise the end of the stream sends the message_delta.
    if (usage) this.usage = usage;
    if (this.finished && usage && choices.length === 0 && !this.delivered) out.push(this.messageDelta(usage, false));
    return out;
  }

  /** The events after the upstream's last chunk: open blocks closed, the `message_delta` if not yet sent, `message_stop`. */
  end(): MessagesEvent[] {
    const out: MessagesEvent[] = [];
    if (!this.started) out.push(this.messageStart(undefined));
    this.closeBlock(out);
    if (!this.delivered) {
      const counted = { input_tokens: this.options.promptTokens, output_tokens: countTextTokens(this.generated) };
      out.push(this.messageDelta(this.usage ?? counted, this.usage === undefined));
    }
    out.push(event('message_stop', {}));
    return out;
  }

  private messageStart(usage: MessagesUsage | undefined): MessagesEvent {
    this.started = true;
    const message = {
      id: newMessageId(),
      type: 'message',
      role: 'assistant',
      model: this.options.request.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: usage?.input_tokens ?? this.options.promptTokens,
        output_tokens: 0,
        ...(usage?.cache_read_input_tokens ? { cache_read_input_tokens: usage.cache_read_input_tokens } : {}),
      },
    };
    return event('message_start', { message });
  }

  private messageDelta(usage: MessagesUsage, estimated: boolean): MessagesEvent {
    this.delivered = true;
    const stops = Array.isArray(this.options.request.stop_sequences) ? (this.options.request.stop_sequences as string[]) : [];
    const delta = stopReason(this.finish, this.matched, stops, this.usedTools);
    const out = event('message_delta', { delta, usage });
    if (estimated) out.estimated = true;
    return out;
  }

  private delta(delta: ChunkDelta, out: MessagesEvent[]): void {
    const reasoning = typeof delta.reasoning_content === 'string' ? delta.reasoning_content : delta.reasoning;
    if (typeof reasoning === 'string' && reasoning) {
      this.blockOf('thinking', out, { type: 'thinking', thinking: '', signature: '' });
      out.push(event('content_block_delta', { index: this.open!.index, delta: { type: 'thinking_delta', thinking: reasoning } }));
      this.generated += reasoning;
    }
    if (typeof delta.content === 'string' && delta.content) {
      this.blockOf('text', out, { type: 'text', text: '' });
      out.push(event('content_block_delta', { index: this.open!.index, delta: { type: 'text_delta', text: delta.content } }));
      this.generated += delta.content;
    }
    if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) this.toolDelta(call, out);
  }

  /** Keeps the open block if it is of `kind` (and not a tool call), else closes it and starts a new one. */
  private blockOf(kind: Kind, out: MessagesEvent[], start: JsonObject): void {
    if (this.open?.kind === kind && kind !== 'tool_use') return;
    this.closeBlock(out);
    this.open = { index: this.nextIndex++, kind };
    out.push(event('content_block_start', { index: this.open.index, content_block: start }));
  }

  private closeBlock(out: MessagesEvent[]): void {
    if (!this.open) return;
    out.push(event('content_block_stop', { index: this.open.index }));
    this.open = undefined;
  }

  /**
   * A new tool block when a tool_call index is first seen, or when it comes back with another id (some servers
   * number every parallel call 0). Arguments go to the block of their index: upstreams send calls one after the
   * other, and a late fragment for an earlier call still lands in that call's block, so its input stays whole.
   */
  private toolDelta(call: NonNullable<ChunkDelta['tool_calls']>[number], out: MessagesEvent[]): void {
    const key = typeof call?.index === 'number' ? call.index : 0;
    const id = typeof call?.id === 'string' && call.id ? call.id : undefined;
    let block = this.tools.get(key);
    if (!block || (id !== undefined && id !== block.id)) {
      const name = typeof call?.function?.name === 'string' ? this.options.names.toClient(call.function.name) : '';
      this.closeBlock(out);
      block = { index: this.nextIndex++, id: id ?? newToolUseId() };
      this.tools.set(key, block);
      this.open = { index: block.index, kind: 'tool_use' };
      this.usedTools = true;
      out.push(event('content_block_start', { index: block.index, content_block: { type: 'tool_use', id: block.id, name, input: {} } }));
      this.generated += name;
    }
    const args = call?.function?.arguments;
    const json = typeof args === 'string' ? args : args && typeof args === 'object' ? JSON.stringify(parseToolInput(args)) : '';
    if (!json) return;
    out.push(event('content_block_delta', { index: block.index, delta: { type: 'input_json_delta', partial_json: json } }));
    this.generated += json;
  }
}

/** Translates a chat SSE stream; an upstream error chunk is thrown, so the core ends the stream with an `error` event. */
export async function* chatStreamToEvents(events: AsyncIterable<SseEvent>, options: StreamTranslation): AsyncGenerator<MessagesEvent> {
  const machine = new ChatToMessages(options);
  for await (const upstream of events) {
    if (upstream.data === '[DONE]') break;
    const error = errorFromStreamEvent(upstream.data, options.provider);
    if (error) throw error;
    let chunk: unknown;
    try {
      chunk = JSON.parse(upstream.data);
    } catch {
      throw new UpstreamError(`${options.provider} sent a stream chunk that is not JSON`);
    }
    if (!chunk || typeof chunk !== 'object' || Array.isArray(chunk))
      throw new UpstreamError(`${options.provider} sent a stream chunk that is not a JSON object`);
    yield* machine.push(chunk as JsonObject);
  }
  yield* machine.end();
}
