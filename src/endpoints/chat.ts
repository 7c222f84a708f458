/** `POST /v1/chat/completions`: validation, token counting and the upstream body for any provider plugin. */
import type { TokenUsage } from '../metering/meter.ts';
import { chatPromptBound, countChatPromptTokens, countTextTokens } from '../metering/tokens.ts';
import type { JsonObject } from '../plugin-sdk.ts';
import type { Operation, ParsedCall } from '../proxy/operation.ts';
import { checkArray, checkObject, checkOptionalArray, checkOptionalBoolean, checkOptionalInt, checkString, invalid } from '../proxy/check-fields.ts';
import { cacheTokensOf, ChatStreamMeter, type ChatUsage } from './chat-stream-meter.ts';
import { chatJson, chatStream } from '../dialects/chat-bridge.ts';

const MAX_TOKENS = 10_000_000;

/**
 * Only what the gateway relies on is checked; everything else is the upstream's to judge. Fields are checked in
 * this order and the first fault is reported, with the wording and `param` the earlier zod schema gave.
 */
export function checkChatBody(body: JsonObject): void {
  checkString('model', body.model, 1, 512);
  const messages = checkArray('messages', body.messages, 1, 10_000);
  for (let i = 0; i < messages.length; i++) checkMessage(i, messages[i]);
  checkOptionalBoolean('stream', body.stream);
  if (body.stream_options != null) checkOptionalBoolean('stream_options.include_usage', checkObject('stream_options', body.stream_options).include_usage);
  checkOptionalInt('max_tokens', body.max_tokens, 0, MAX_TOKENS, true);
  checkOptionalInt('max_completion_tokens', body.max_completion_tokens, 0, MAX_TOKENS, true);
  checkOptionalInt('n', body.n, 1, 128);
  checkOptionalArray('tools', body.tools);
}

function checkMessage(index: number, message: unknown): void {
  const fields = checkObject(`messages[${index}]`, message);
  checkString(`messages[${index}].role`, fields.role, 1, 64);
  const content = fields.content;
  if (content !== undefined && content !== null && typeof content !== 'string' && !Array.isArray(content))
    throw invalid(`messages[${index}].content`, 'Invalid input');
}

export function parseChat(body: JsonObject): ParsedCall {
  checkChatBody(body);
  const options = body.stream_options as { include_usage?: boolean | null } | null | undefined;
  let counted: number | undefined;
  return {
    model: body.model as string,
    stream: body.stream === true,
    provider: body.provider,
    // Counted when first read, and kept: a hold that fits with the cheap bound never reads it, nor does an answer
    // whose upstream reports its usage. (A getter of the literal, not one added later: that made each parse slow.)
    get promptTokens() {
      counted ??= countChatPromptTokens(body);
      return counted;
    },
    promptBound: chatPromptBound(body),
    maxOutputTokens: maxOutput(
      body.max_completion_tokens as number | null | undefined,
      body.max_tokens as number | null | undefined,
      body.n as number | null | undefined,
    ),
    generates: true,
    clientWantsUsage: options?.include_usage === true,
  };
}

/** The output bound of the whole request: per choice × `n`. */
function maxOutput(maxCompletion: number | null | undefined, maxTokens: number | null | undefined, n: number | null | undefined): number | undefined {
  const perChoice = maxCompletion ?? maxTokens ?? undefined;
  return perChoice === undefined ? undefined : perChoice * (n ?? 1);
}

/**
 * Always asks a stream for its usage (many upstreams omit it otherwise) and, for a metered call without an output
 * bound, sets the one that was reserved.
 */
export function prepareChat(upstream: JsonObject, parsed: ParsedCall, outputCap: number | undefined): JsonObject {
  if (parsed.stream) upstream.stream_options = { ...(upstream.stream_options as JsonObject | undefined), include_usage: true };
  if (outputCap !== undefined) upstream.max_completion_tokens = Math.max(1, Math.floor(outputCap / ((upstream.n as number | undefined) ?? 1)));
  return upstream;
}

/** The upstream's `usage`, else the gateway's count of the answer. */
export function chatUsage(body: JsonObject, parsed: ParsedCall): TokenUsage {
  const usage = body.usage as ChatUsage | undefined;
  if (usage && typeof usage.prompt_tokens === 'number' && typeof usage.completion_tokens === 'number') {
    return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, estimated: false, ...cacheTokensOf(usage) };
  }
  return { promptTokens: parsed.promptTokens, completionTokens: countTextTokens(answerText(body)), estimated: true };
}

function answerText(body: JsonObject): string {
  const choices = Array.isArray(body.choices) ? (body.choices as { message?: Record<string, unknown> }[]) : [];
  let text = '';
  for (const choice of choices) {
    const m = choice?.message;
    if (typeof m?.content === 'string') text += m.content;
    if (typeof m?.reasoning_content === 'string') text += m.reasoning_content;
    if (Array.isArray(m?.tool_calls)) text += JSON.stringify(m.tool_calls);
  }
  return text;
}

export const chatOperation: Operation = {
  endpoint: 'chat',
  parse: parseChat,
  prepare: prepareChat,
  json: (target, body, call) => chatJson(target.provider.provider, target.provider.name, body, call),
  stream: (target, body, call) => chatStream(target.provider.provider, target.provider.name, body, call),
  usageOf: chatUsage,
  meter: (parsed, target) => new ChatStreamMeter(() => parsed.promptTokens, parsed.clientWantsUsage, target.provider.name),
};
