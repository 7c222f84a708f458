/** Builders shared by the JSON and stream translations: ids, the `response` object's echo of the request, usage, status. */
import { randomBytes } from 'node:crypto';
import type { JsonObject } from '../../plugin-sdk.ts';
import type { TokenUsage } from '../../metering/meter.ts';

/** `resp_…`, `msg_…`, `fc_…`, `rs_…`: random like OpenAI's, so ids from different calls never collide. */
export function newId(prefix: 'resp' | 'msg' | 'fc' | 'rs' | 'call'): string {
  return `${prefix}_${randomBytes(16).toString('hex')}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function objectOr(value: unknown, fallback: JsonObject): JsonObject {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : fallback;
}

/**
 * A `response` object without output, as the API returns it: the keys OpenAI's reference lists as required, the
 * request's own settings echoed back, `store: false` because the gateway keeps nothing.
 */
export function responseShell(request: JsonObject, id: string, createdAt: number, model: string): JsonObject {
  const reasoning = objectOr(request.reasoning, {});
  const text = objectOr(request.text, {});
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: 'in_progress',
    background: false,
    completed_at: null,
    error: null,
    incomplete_details: null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    model,
    output: [],
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: reasoning.effort ?? null, summary: reasoning.summary ?? null },
    store: false,
    temperature: request.temperature ?? 1,
    text: { ...text, format: text.format ?? { type: 'text' } },
    tool_choice: request.tool_choice ?? 'auto',
    tools: Array.isArray(request.tools) ? request.tools : [],
    top_p: request.top_p ?? 1,
    truncation: 'disabled',
    usage: null,
    user: request.user ?? null,
    metadata: objectOr(request.metadata, {}),
  };
}

interface ChatUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown; cache_write_tokens?: unknown } | null;
  completion_tokens_details?: { reasoning_tokens?: unknown } | null;
}

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/**
 * The Responses `usage` object for given token counts. Cache writes (a Messages upstream reports them) appear as
 * `input_tokens_details.cache_write_tokens` only when there are some.
 */
export function responseUsage(inputTokens: number, outputTokens: number, cachedTokens = 0, reasoningTokens = 0, cacheWriteTokens = 0): JsonObject {
  return {
    input_tokens: inputTokens,
    input_tokens_details: cacheWriteTokens > 0 ? { cached_tokens: cachedTokens, cache_write_tokens: cacheWriteTokens } : { cached_tokens: cachedTokens },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: reasoningTokens },
    total_tokens: inputTokens + outputTokens,
  };
}

/** Chat `usage` → Responses `usage`; null when the upstream reported none (the gateway then counts). */
export function fromChatUsage(usage: unknown): JsonObject | null {
  const u = usage as ChatUsage | null | undefined;
  if (!u || typeof u.prompt_tokens !== 'number' || typeof u.completion_tokens !== 'number') return null;
  const details = u.prompt_tokens_details;
  return responseUsage(
    u.prompt_tokens,
    u.completion_tokens,
    count(details?.cached_tokens),
    count(u.completion_tokens_details?.reasoning_tokens),
    count(details?.cache_write_tokens),
  );
}

/** The prompt-cache tokens of a Responses `usage`, for the meter's cache rates. */
export function responsesCacheTokens(usage: { input_tokens_details?: unknown }): Pick<TokenUsage, 'cacheReadTokens' | 'cacheWriteTokens'> {
  const details = usage.input_tokens_details as { cached_tokens?: unknown; cache_write_tokens?: unknown } | null | undefined;
  const out: Pick<TokenUsage, 'cacheReadTokens' | 'cacheWriteTokens'> = {};
  if (count(details?.cached_tokens) > 0) out.cacheReadTokens = count(details?.cached_tokens);
  if (count(details?.cache_write_tokens) > 0) out.cacheWriteTokens = count(details?.cache_write_tokens);
  return out;
}

export interface Outcome {
  status: 'completed' | 'incomplete';
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null;
}

/** `finish_reason` → the response's status: a cut answer is `incomplete`, never `completed`. */
export function outcomeOf(finishReason: unknown): Outcome {
  if (finishReason === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finishReason === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

/** The shell completed with its outcome, output and usage. */
export function finishedResponse(shell: JsonObject, outcome: Outcome, output: JsonObject[], usage: JsonObject | null): JsonObject {
  return {
    ...shell,
    status: outcome.status,
    completed_at: outcome.status === 'completed' ? nowSeconds() : null,
    incomplete_details: outcome.incomplete_details,
    output,
    usage,
  };
}

export function messageItem(id: string, text: string, status: string): JsonObject {
  return { id, type: 'message', status, role: 'assistant', content: [outputTextPart(text)] };
}

export function outputTextPart(text: string): JsonObject {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

export function reasoningItem(id: string, text: string): JsonObject {
  return { id, type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text }] };
}

export function functionCallItem(id: string, callId: string, name: string, args: string, status: string): JsonObject {
  return { id, type: 'function_call', status, arguments: args, call_id: callId, name };
}

/**
 * The reasoning in a chat message or delta: providers put it in `reasoning_content` or (some serving gpt-oss) in
 * `reasoning`; an empty string in one must not hide the other.
 */
export function reasoningOf(holder: { reasoning_content?: unknown; reasoning?: unknown }): string {
  if (typeof holder.reasoning_content === 'string' && holder.reasoning_content.length > 0) return holder.reasoning_content;
  return typeof holder.reasoning === 'string' ? holder.reasoning : '';
}

/** Everything the model generated in an output list: what the gateway counts when the upstream reports no usage. */
export function generatedText(output: unknown): string {
  if (!Array.isArray(output)) return '';
  let text = '';
  for (const item of output as JsonObject[]) {
    if (item?.type === 'function_call') text += `${String(item.name ?? '')}${String(item.arguments ?? '')}`;
    const content = Array.isArray(item?.content) ? (item.content as JsonObject[]) : [];
    for (const part of content) {
      if (typeof part?.text === 'string') text += part.text;
      else if (typeof part?.refusal === 'string') text += part.refusal;
    }
  }
  return text;
}
