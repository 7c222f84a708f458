/**
 * A chat completion stream → a legacy completions stream: each `chat.completion.chunk` becomes a `text_completion`
 * chunk with `choices[].text`, the usage-only chunk keeps its `usage`, error events and `[DONE]` pass unchanged.
 */
import type { SseEvent } from '../../plugin-sdk.ts';
import { completionId, finishReasonOf, type CompletionChoice } from './answer.ts';

interface ChatChunk {
  id?: unknown;
  created?: unknown;
  model?: unknown;
  choices?: { index?: unknown; delta?: { content?: unknown }; finish_reason?: unknown }[];
  usage?: unknown;
  error?: unknown;
}

export async function* completionsFromChatStream(events: AsyncIterable<SseEvent>, model: unknown): AsyncGenerator<SseEvent> {
  for await (const event of events) {
    const translated = translateEvent(event, model);
    if (translated) yield translated;
  }
}

/** One event; undefined for a chunk that carries nothing a legacy client sees (the role-only first chunk). */
export function translateEvent(event: SseEvent, model: unknown): SseEvent | undefined {
  if (event.data === '[DONE]') return event;
  const chunk = parseChunk(event.data);
  // Not JSON or an error event: the stream meter judges it as it would a chat stream.
  if (!chunk || (chunk.error && !Array.isArray(chunk.choices))) return event;
  const choices = (Array.isArray(chunk.choices) ? chunk.choices : [])
    .map(toCompletionChoice)
    .filter((choice) => choice.text !== '' || choice.finish_reason !== null);
  const usage = chunk.usage && typeof chunk.usage === 'object' ? chunk.usage : undefined;
  if (choices.length === 0 && !usage) return undefined;
  const out: Record<string, unknown> = {
    id: completionId(chunk.id),
    object: 'text_completion',
    created: typeof chunk.created === 'number' ? chunk.created : Math.floor(Date.now() / 1000),
    model: typeof chunk.model === 'string' ? chunk.model : model,
    choices,
  };
  if (usage) out.usage = usage;
  return { data: JSON.stringify(out) };
}

function toCompletionChoice(choice: NonNullable<ChatChunk['choices']>[number]): CompletionChoice {
  const content = choice?.delta?.content;
  return {
    text: typeof content === 'string' ? content : '',
    index: typeof choice?.index === 'number' ? choice.index : 0,
    logprobs: null,
    finish_reason: finishReasonOf(choice?.finish_reason),
  };
}

function parseChunk(data: string): ChatChunk | undefined {
  try {
    const value: unknown = JSON.parse(data);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as ChatChunk) : undefined;
  } catch {
    return undefined;
  }
}
