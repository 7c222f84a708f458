/** Chat completion answers → one legacy `text_completion` answer, choices laid out prompt-major. */
import type { JsonObject } from '../../plugin-sdk.ts';

export interface CompletionChoice {
  text: string;
  index: number;
  logprobs: null;
  finish_reason: string | null;
}

/** Legacy completions know `stop`, `length` and `content_filter`; a chat `tool_calls` (no tools are sent) reads as `stop`. */
export function finishReasonOf(chatReason: unknown): string | null {
  if (chatReason === null || chatReason === undefined) return null;
  return chatReason === 'length' || chatReason === 'content_filter' ? chatReason : 'stop';
}

/** A chat message's text: a string, or the text of its content parts. */
export function messageText(message: unknown): string {
  const content = (message as { content?: unknown } | null | undefined)?.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (typeof (part as { text?: unknown })?.text === 'string' ? (part as { text: string }).text : '')).join('');
}

/** The choices of one chat answer, in their own `index` order. */
export function chatChoices(answer: JsonObject): { index?: unknown; message?: unknown; finish_reason?: unknown }[] {
  const choices = Array.isArray(answer.choices) ? (answer.choices as { index?: unknown }[]) : [];
  return [...choices].sort((a, b) => Number(a?.index ?? 0) - Number(b?.index ?? 0));
}

/** `chatcmpl-abc` → `cmpl-abc`, the id shape legacy clients know. */
export function completionId(chatId: unknown): string {
  const id = typeof chatId === 'string' && chatId !== '' ? chatId : `gateway-${Date.now().toString(36)}`;
  return id.startsWith('cmpl-') ? id : `cmpl-${id.replace(/^chatcmpl-/, '')}`;
}

/**
 * Flattens the answers (one per prompt, each with `n` choices) into `choices[i*n+j]` for prompt i, choice j: the
 * order LangChain's `generate()` slices on. `usage` is set by the caller, which knows what each call reported.
 */
export function fromChatAnswers(answers: readonly JsonObject[], n: number, model: unknown): JsonObject {
  const choices: CompletionChoice[] = [];
  answers.forEach((answer, promptIndex) => {
    chatChoices(answer).forEach((choice, choiceIndex) => {
      choices.push({
        text: messageText(choice?.message),
        index: promptIndex * n + choiceIndex,
        logprobs: null,
        finish_reason: finishReasonOf(choice?.finish_reason),
      });
    });
  });
  const first = answers[0] ?? {};
  return {
    id: completionId(first.id),
    object: 'text_completion',
    created: typeof first.created === 'number' ? first.created : Math.floor(Date.now() / 1000),
    model: typeof first.model === 'string' ? first.model : model,
    choices,
    ...(typeof first.system_fingerprint === 'string' ? { system_fingerprint: first.system_fingerprint } : {}),
  };
}

/** The text a `text_completion` answer generated, for counting when no usage was reported. */
export function completionText(body: JsonObject): string {
  const choices = Array.isArray(body.choices) ? (body.choices as { text?: unknown }[]) : [];
  return choices.map((choice) => (typeof choice?.text === 'string' ? choice.text : '')).join('');
}
