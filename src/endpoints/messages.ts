/**
 * `POST /v1/messages` (Anthropic Messages): natively where the serving provider speaks Messages (the body passes
 * through, with the client's `anthropic-version` / `anthropic-beta`), otherwise translated to chat completions and
 * back through the chat bridge. The choice is made per target, so a fallback may serve the other way.
 */
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { chatJson, chatStream } from '../dialects/chat-bridge.ts';
import { chatAnswerToMessage, generatedText } from '../dialects/messages/chat-answer-to-message.ts';
import { chatStreamToEvents } from '../dialects/messages/chat-stream-to-events.ts';
import { countMessagesTokens } from '../dialects/messages/count-tokens.ts';
import { messagesToChatRequest } from '../dialects/messages/request-to-chat.ts';
import { ToolNames } from '../dialects/messages/tool-names.ts';
import type { TokenUsage } from '../metering/meter.ts';
import { countTextTokens } from '../metering/tokens.ts';
import type { JsonObject, JsonResult, StreamResult } from '../plugin-sdk.ts';
import type { Target } from '../plugins/registry.ts';
import type { Operation, OperationContext, ParsedCall } from '../proxy/operation.ts';
import { validateBody } from '../proxy/validate.ts';
import { MessagesStreamMeter, tokenUsageOf } from './messages/stream-meter.ts';

/**
 * The request id also as `request-id`, the header Anthropic's SDKs read (`message._request_id`,
 * `error.requestID`); `x-request-id` stays as on every route.
 */
export function anthropicRequestId(): RequestHandler {
  return function setAnthropicRequestId(_req, res, next) {
    res.setHeader('request-id', res.locals.requestId);
    next();
  };
}

/** Client headers a native Messages provider receives unchanged. */
export const MESSAGES_CLIENT_HEADERS = ['anthropic-version', 'anthropic-beta'] as const;

const content = z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]);

/** What both Messages routes need; `count_tokens` takes the same body without `max_tokens`. */
export const countTokensSchema = z.looseObject({
  model: z.string().min(1).max(512),
  // `system` entries inside `messages` are what Claude Code sends after a user turn.
  messages: z
    .array(z.looseObject({ role: z.enum(['user', 'assistant', 'system']), content }))
    .min(1)
    .max(10_000),
  system: content.nullish(),
  tools: z.array(z.looseObject({ name: z.string().min(1).max(512) })).nullish(),
  provider: z.unknown().optional(),
});

export const messagesSchema = countTokensSchema.extend({
  max_tokens: z.number().int().positive().max(10_000_000),
  stream: z.boolean().nullish(),
});

export function parseMessages(body: JsonObject): ParsedCall {
  const valid = validateBody(messagesSchema, body);
  return {
    model: valid.model,
    stream: valid.stream === true,
    provider: valid.provider,
    promptTokens: countMessagesTokens(valid),
    maxOutputTokens: valid.max_tokens,
    generates: true,
    clientWantsUsage: true,
  };
}

/** Usage the gateway counted for a translated answer, by answer (the body itself carries no such flag). */
const counted = new WeakMap<JsonObject, TokenUsage>();

async function message(target: Target, body: JsonObject, call: OperationContext, parsed: ParsedCall): Promise<JsonResult> {
  const provider = target.provider.provider;
  if (provider.messages) return provider.messages(body, call);
  const names = new ToolNames();
  const chat = await chatJson(provider, target.provider.name, messagesToChatRequest(body, false, names), call);
  const { message: answer, estimated } = chatAnswerToMessage(chat.body, body, names, parsed.promptTokens);
  if (estimated) counted.set(answer, tokenUsageOf(answer.usage as JsonObject, true)!);
  return { body: answer, headers: chat.headers };
}

async function messageStream(target: Target, body: JsonObject, call: OperationContext, parsed: ParsedCall): Promise<StreamResult> {
  const provider = target.provider.provider;
  if (provider.messagesStream) return provider.messagesStream(body, call);
  const names = new ToolNames();
  const chat = await chatStream(provider, target.provider.name, messagesToChatRequest(body, true, names), call);
  const events = chatStreamToEvents(chat.events, { request: body, names, promptTokens: parsed.promptTokens, provider: target.provider.name });
  return { events, headers: chat.headers };
}

/** The answer's `usage` (cache tokens included in the prompt), else the gateway's count, written into the answer too. */
export function messagesUsage(body: JsonObject, parsed: ParsedCall): TokenUsage {
  const known = counted.get(body) ?? tokenUsageOf(body.usage as JsonObject | undefined);
  if (known) return known;
  const blocks = Array.isArray(body.content) ? (body.content as JsonObject[]) : [];
  const completionTokens = countTextTokens(generatedText(blocks));
  body.usage = { input_tokens: parsed.promptTokens, output_tokens: completionTokens };
  return { promptTokens: parsed.promptTokens, completionTokens, estimated: true };
}

/** A request the translation would refuse is refused before anything is reserved (and before any fallback is tried). */
function checkTranslatable(body: JsonObject, target: Target): void {
  if (!target.provider.provider.messages) messagesToChatRequest(body, false, new ToolNames());
}

export const messagesOperation: Operation = {
  endpoint: 'messages',
  clientHeaders: MESSAGES_CLIENT_HEADERS,
  parse: parseMessages,
  check: checkTranslatable,
  json: message,
  stream: messageStream,
  usageOf: messagesUsage,
  meter: (parsed, target) => new MessagesStreamMeter(parsed.promptTokens, target.provider.name),
};
