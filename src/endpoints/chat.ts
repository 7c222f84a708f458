/** `POST /v1/chat/completions`: validation, token counting and the upstream body for any provider plugin. */
import { z } from 'zod';
import type { TokenUsage } from '../metering/meter.ts';
import { countChatPromptTokens, countTextTokens } from '../metering/tokens.ts';
import type { JsonObject } from '../plugin-sdk.ts';
import type { Operation, ParsedCall } from '../proxy/operation.ts';
import { validateBody } from '../proxy/validate.ts';
import { cacheTokensOf, ChatStreamMeter, type ChatUsage } from './chat-stream-meter.ts';
import { chatJson, chatStream } from '../dialects/chat-bridge.ts';

const message = z.looseObject({
  role: z.string().min(1).max(64),
  content: z.union([z.string(), z.array(z.unknown()), z.null()]).optional(),
});

const positiveInt = z.number().int().positive().max(10_000_000);

/** Only what the gateway relies on is checked; everything else is the upstream's to judge. */
export const chatSchema = z.looseObject({
  model: z.string().min(1).max(512),
  messages: z.array(message).min(1).max(10_000),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: positiveInt.nullish(),
  max_completion_tokens: positiveInt.nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  provider: z.unknown().optional(),
  tools: z.array(z.unknown()).nullish(),
});

export function parseChat(body: JsonObject): ParsedCall {
  const valid = validateBody(chatSchema, body);
  return {
    model: valid.model,
    stream: valid.stream === true,
    provider: valid.provider,
    promptTokens: countChatPromptTokens(valid),
    maxOutputTokens: maxOutput(valid.max_completion_tokens, valid.max_tokens, valid.n),
    generates: true,
    clientWantsUsage: valid.stream_options?.include_usage === true,
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
  meter: (parsed, target) => new ChatStreamMeter(parsed.promptTokens, parsed.clientWantsUsage, target.provider.name),
};
