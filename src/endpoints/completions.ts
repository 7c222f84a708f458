/**
 * `POST /v1/completions` (legacy): natively where the serving provider has the endpoint, otherwise translated to
 * chat completions, one call per prompt. The choice is made per target, so a fallback may serve the other way.
 */
import { chatJson, chatStream } from '../dialects/chat-bridge.ts';
import { completionText, fromChatAnswers, chatChoices, messageText } from '../dialects/completions/answer.ts';
import { assertTranslatable, completionsSchema, DEFAULT_MAX_TOKENS, promptsOf, toChatRequest } from '../dialects/completions/request.ts';
import { completionsFromChatStream } from '../dialects/completions/stream.ts';
import { toGatewayError, UpstreamRequestError } from '../errors/gateway-error.ts';
import type { TokenUsage } from '../metering/meter.ts';
import { PartialUsageError, sumUsage } from '../metering/partial-usage.ts';
import { countChatPromptTokens, countTextTokens } from '../metering/tokens.ts';
import type { JsonObject, JsonResult, StreamResult } from '../plugin-sdk.ts';
import type { Target } from '../plugins/registry.ts';
import { fanOut, type FanOutOutcome } from '../proxy/fan-out.ts';
import type { Operation, OperationContext, ParsedCall } from '../proxy/operation.ts';
import { validateBody } from '../proxy/validate.ts';
import { CompletionsStreamMeter } from './completions-stream-meter.ts';

/**
 * Chat calls in flight for one translated request. LangChain sends up to 20 prompts at once: four at a time answers
 * them in five rounds, gets most of the latency gain, and keeps one client request from taking a provider's whole
 * rate limit or a local server's whole batch.
 */
export const PARALLEL_CALLS = 4;

/**
 * The hold covers every prompt × choices (`best_of` when a native upstream generates more than it returns) ×
 * `max_tokens`, which defaults to 16 as on OpenAI; prompt tokens are counted as the chat message each becomes.
 */
export function parseCompletions(body: JsonObject): ParsedCall {
  const valid = validateBody(completionsSchema, body);
  const prompts = promptsOf(valid);
  const choices = Math.max(valid.n ?? 1, valid.best_of ?? 1);
  return {
    model: valid.model,
    stream: valid.stream === true,
    provider: valid.provider,
    promptTokens: prompts.reduce<number>((sum, prompt) => sum + promptTokens(prompt), 0),
    maxOutputTokens: prompts.length * choices * (valid.max_tokens ?? DEFAULT_MAX_TOKENS),
    generates: true,
    clientWantsUsage: valid.stream_options?.include_usage === true,
  };
}

function promptTokens(prompt: unknown): number {
  if (typeof prompt === 'string') return countChatPromptTokens({ messages: [{ role: 'user', content: prompt }] });
  return Array.isArray(prompt) ? prompt.length : 1;
}

/**
 * Makes OpenAI's default bound explicit, so an upstream with another default (llama.cpp generates until the context
 * is full) cannot outrun the hold; asks a stream for its usage, as for chat.
 */
export function prepareCompletions(upstream: JsonObject, parsed: ParsedCall): JsonObject {
  upstream.max_tokens ??= DEFAULT_MAX_TOKENS;
  if (parsed.stream) upstream.stream_options = { ...(upstream.stream_options as JsonObject | undefined), include_usage: true };
  return upstream;
}

/** Usage of translated answers, known exactly per call (the body alone cannot say which parts were counted). */
const translatedUsage = new WeakMap<JsonObject, TokenUsage>();

/** Refused before anything is reserved when the primary target translates; fallbacks check again as they are tried. */
function checkCompletions(body: JsonObject, target: Target): void {
  if (!target.provider.provider.completions) assertTranslatable(body);
}

async function complete(target: Target, body: JsonObject, call: OperationContext): Promise<JsonResult> {
  const provider = target.provider.provider;
  if (provider.completions) return withoutRawWhenUncounted(await provider.completions(body, call));
  assertTranslatable(body);
  return completeViaChat(target, body, call);
}

/** An answer without usage gets the gateway's count written into its body, which must then be sent re-serialised. */
function withoutRawWhenUncounted(result: JsonResult): JsonResult {
  return result.body.usage ? result : { body: result.body, headers: result.headers };
}

async function completeStream(target: Target, body: JsonObject, call: OperationContext): Promise<StreamResult> {
  const provider = target.provider.provider;
  if (provider.completionsStream) return provider.completionsStream(body, call);
  assertTranslatable(body);
  const chat = await chatStream(provider, target.provider.name, toChatRequest(body, promptsOf(body)[0] as string), call);
  return { events: completionsFromChatStream(chat.events, body.model), headers: chat.headers };
}

/** One chat call per prompt; a failure aborts the rest and charges what the finished calls generated. */
async function completeViaChat(target: Target, body: JsonObject, call: OperationContext): Promise<JsonResult> {
  const { provider, name } = target.provider;
  const requests = promptsOf(body).map((prompt) => toChatRequest(body, prompt as string));
  const outcome = await fanOut(requests.length, PARALLEL_CALLS, call.signal, (index, signal) => chatJson(provider, name, requests[index], { ...call, signal }));
  const usage = sumUsage(outcome.results.flatMap((result, index) => (result ? [chatCallUsage(result.body, requests[index])] : [])));
  if (outcome.failure) throw failureOf(outcome, usage, target);
  const answers = outcome.results.map((result) => result!.body);
  const n = typeof body.n === 'number' ? body.n : 1;
  const short = answers.findIndex((answer) => chatChoices(answer).length !== n);
  if (short >= 0) {
    // Misplaced choices would hand one prompt's text to another in LangChain's generate(); better to fail. Many
    // servers ignore `n`, so this fails the same way every time: a 400 naming `n`, which SDKs do not retry (each
    // retry would be charged again) and routing does not hold against the provider entry.
    const got = chatChoices(answers[short]).length;
    const error = new UpstreamRequestError(
      400,
      `${name} answered ${got} choice${got === 1 ? '' : 's'} where n=${n} were asked: this model's server does not honour 'n'; send n: 1 and repeat the request instead.`,
      'unsupported_parameter',
      'n',
    );
    throw new PartialUsageError(error, usage, target);
  }
  const answer = fromChatAnswers(answers, n, body.model);
  answer.usage = { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens };
  translatedUsage.set(answer, usage);
  return { body: answer, headers: outcome.results[0]!.headers };
}

/** The failing call's error; with what the finished calls generated when there is any, so it is charged. */
function failureOf(outcome: FanOutOutcome<JsonResult>, usage: TokenUsage, target: Target): Error {
  const error = toGatewayError(outcome.failure!.error, target.provider.name);
  // Nothing generated: an ordinary failure, which may be retried or fall back like any other.
  if (!outcome.results.some(Boolean)) return error;
  return new PartialUsageError(error, usage, target);
}

/** One chat answer's usage: as reported, else counted from its request and text. */
function chatCallUsage(answer: JsonObject, request: JsonObject): TokenUsage {
  const usage = answer.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
  if (usage && typeof usage.prompt_tokens === 'number' && typeof usage.completion_tokens === 'number') {
    return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, estimated: false };
  }
  const text = chatChoices(answer)
    .map((choice) => messageText(choice?.message))
    .join('');
  return { promptTokens: countChatPromptTokens(request), completionTokens: countTextTokens(text), estimated: true };
}

/**
 * The usage of an answer: the translation's exact sum, else the native upstream's `usage`, else the gateway's count
 * (then also written into the body, so a client never sees an answer without the usage it is billed for).
 */
export function completionsUsage(body: JsonObject, parsed: ParsedCall): TokenUsage {
  const translated = translatedUsage.get(body);
  if (translated) return translated;
  const usage = body.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | null | undefined;
  if (usage && typeof usage.prompt_tokens === 'number' && typeof usage.completion_tokens === 'number') {
    return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, estimated: false };
  }
  const completionTokens = countTextTokens(completionText(body));
  body.usage = { prompt_tokens: parsed.promptTokens, completion_tokens: completionTokens, total_tokens: parsed.promptTokens + completionTokens };
  return { promptTokens: parsed.promptTokens, completionTokens, estimated: true };
}

export const completionsOperation: Operation = {
  endpoint: 'completions',
  parse: parseCompletions,
  check: checkCompletions,
  prepare: prepareCompletions,
  json: complete,
  stream: completeStream,
  usageOf: completionsUsage,
  meter: (parsed, target) => new CompletionsStreamMeter(parsed.promptTokens, parsed.clientWantsUsage, target.provider.name),
};
