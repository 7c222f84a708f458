/** Egress: an Anthropic Messages `usage` object → the chat-completions `usage`, and the stop_reason → finish_reason. */
import type { JsonObject } from '../../plugin-sdk.ts';

export interface MessagesUsage {
  input_tokens?: unknown;
  output_tokens?: unknown;
  cache_read_input_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
}

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0);

/**
 * Messages counts plain input, cache reads and cache writes apart; chat's `prompt_tokens` is all the input, and
 * `prompt_tokens_details` says how much of it was read from the cache (`cached_tokens`, OpenAI's own field) and
 * written to it (`cache_write_tokens`, as OpenRouter reports it), so the meter can price each at its own rate.
 */
export function messagesUsageToChat(usage: MessagesUsage): JsonObject {
  const cacheRead = count(usage.cache_read_input_tokens);
  const cacheWrite = count(usage.cache_creation_input_tokens);
  const prompt = count(usage.input_tokens) + cacheRead + cacheWrite;
  const completion = count(usage.output_tokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead, cache_write_tokens: cacheWrite },
  };
}

/** end_turn / stop_sequence / pause_turn → stop, max_tokens → length, tool_use → tool_calls, refusal → content_filter. */
export function stopReasonToFinish(reason: unknown): string {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}
