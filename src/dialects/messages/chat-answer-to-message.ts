/**
 * A chat completion → an Anthropic `message`: thinking (from `reasoning_content`), text and `tool_use` blocks with
 * their arguments parsed, the stop reason, and usage that is never all zeros (the gateway's count stands in for an
 * upstream that reported none). The pieces are shared with the stream translation.
 */
import { randomUUID } from 'node:crypto';
import { countTextTokens } from '../../metering/tokens.ts';
import type { JsonObject } from '../../plugin-sdk.ts';
import type { ToolNames } from './tool-names.ts';

/** Usage in Anthropic's terms; `input_tokens` excludes the cache reads, as Anthropic counts them. */
export interface MessagesUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number;
}

export interface TranslatedMessage {
  message: JsonObject;
  /** True when the usage is the gateway's count. */
  estimated: boolean;
}

export function newMessageId(): string {
  return `msg_${randomUUID().replaceAll('-', '')}`;
}

export function newToolUseId(): string {
  return `toolu_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

/**
 * `finish_reason` → `stop_reason`. Chat does not say which stop sequence matched, but vLLM-based servers put it in
 * the choice's `stop_reason`; a plain `stop` is then told apart from the end of the turn.
 */
export function stopReason(
  finish: unknown,
  matched: unknown,
  stopSequences: readonly string[],
  usedTools: boolean,
): { stop_reason: string; stop_sequence: string | null } {
  if (typeof matched === 'string' && stopSequences.includes(matched)) return { stop_reason: 'stop_sequence', stop_sequence: matched };
  if (finish === 'length') return { stop_reason: 'max_tokens', stop_sequence: null };
  if (finish === 'tool_calls' || finish === 'function_call' || usedTools) return { stop_reason: 'tool_use', stop_sequence: null };
  if (finish === 'content_filter') return { stop_reason: 'refusal', stop_sequence: null };
  return { stop_reason: 'end_turn', stop_sequence: null };
}

/** The upstream's usage in Anthropic's terms, or undefined when it reported none (or only zeros). */
export function usageFromChat(usage: unknown): MessagesUsage | undefined {
  const u = usage as { prompt_tokens?: unknown; completion_tokens?: unknown; prompt_tokens_details?: { cached_tokens?: unknown } | null } | null | undefined;
  if (!u || typeof u.prompt_tokens !== 'number' || typeof u.completion_tokens !== 'number') return undefined;
  if (u.prompt_tokens === 0 && u.completion_tokens === 0) return undefined;
  const cached = typeof u.prompt_tokens_details?.cached_tokens === 'number' ? Math.min(u.prompt_tokens_details.cached_tokens, u.prompt_tokens) : 0;
  const result: MessagesUsage = { input_tokens: u.prompt_tokens - cached, output_tokens: u.completion_tokens };
  if (cached > 0) result.cache_read_input_tokens = cached;
  return result;
}

/**
 * A tool call's `arguments` text → the `input` object. Some servers double-encode it (a JSON string holding the
 * object); text that is not JSON at all is kept under `_raw_arguments` rather than lost, so the tool's own input
 * validation tells the model what went wrong instead of the call silently running with `{}`.
 */
export function parseToolInput(args: unknown): JsonObject {
  if (args && typeof args === 'object' && !Array.isArray(args)) return args as JsonObject;
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    let value: unknown = JSON.parse(args);
    if (typeof value === 'string') value = JSON.parse(value);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as JsonObject;
  } catch {
    // falls through
  }
  return { _raw_arguments: args };
}

interface ChatMessageOut {
  content?: unknown;
  reasoning_content?: unknown;
  reasoning?: unknown;
  tool_calls?: { id?: unknown; function?: { name?: unknown; arguments?: unknown } }[];
}

/** The answer's content blocks: thinking, then text, then tool calls (the order Anthropic models answer in). */
function contentBlocks(message: ChatMessageOut, names: ToolNames): JsonObject[] {
  const blocks: JsonObject[] = [];
  const reasoning = typeof message.reasoning_content === 'string' ? message.reasoning_content : message.reasoning;
  if (typeof reasoning === 'string' && reasoning) blocks.push({ type: 'thinking', thinking: reasoning, signature: '' });
  const text = textOf(message.content);
  if (text) blocks.push({ type: 'text', text });
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    const name = typeof call?.function?.name === 'string' ? names.toClient(call.function.name) : '';
    blocks.push({
      type: 'tool_use',
      id: typeof call?.id === 'string' && call.id ? call.id : newToolUseId(),
      name,
      input: parseToolInput(call?.function?.arguments),
    });
  }
  return blocks;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as { text?: unknown }[]).map((part) => (typeof part?.text === 'string' ? part.text : '')).join('');
}

/** The whole translated answer; `promptTokens` is the gateway's count, used when the upstream reported no usage. */
export function chatAnswerToMessage(chat: JsonObject, request: JsonObject, names: ToolNames, promptTokens: number): TranslatedMessage {
  const choice = (Array.isArray(chat.choices) ? chat.choices[0] : undefined) as
    | { message?: ChatMessageOut; finish_reason?: unknown; stop_reason?: unknown }
    | undefined;
  const content = contentBlocks(choice?.message ?? {}, names);
  const stopSequences = Array.isArray(request.stop_sequences) ? (request.stop_sequences as string[]) : [];
  const stop = stopReason(
    choice?.finish_reason,
    choice?.stop_reason,
    stopSequences,
    content.some((block) => block.type === 'tool_use'),
  );
  const reported = usageFromChat(chat.usage);
  const usage = reported ?? { input_tokens: promptTokens, output_tokens: countTextTokens(generatedText(content)) };
  const message: JsonObject = { id: newMessageId(), type: 'message', role: 'assistant', model: request.model, content, ...stop, usage };
  return { message, estimated: reported === undefined };
}

/** What the model generated, for counting when the upstream did not. */
export function generatedText(content: readonly JsonObject[]): string {
  let text = '';
  for (const block of content) {
    if (typeof block.text === 'string') text += block.text;
    else if (typeof block.thinking === 'string') text += block.thinking;
    else if (block.type === 'tool_use') text += String(block.name) + JSON.stringify(block.input);
  }
  return text;
}
