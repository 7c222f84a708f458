/**
 * `POST /v1/responses`: natively where the serving provider has a Responses API, otherwise translated to chat
 * completions and back. The choice is made per target, so a fallback may serve the other way than the primary.
 */
import { chatJson, chatStream } from '../dialects/chat-bridge.ts';
import type { TokenUsage } from '../metering/meter.ts';
import { countTextTokens } from '../metering/tokens.ts';
import type { JsonObject, JsonResult, SseEvent, StreamResult } from '../plugin-sdk.ts';
import type { Target } from '../plugins/registry.ts';
import type { Operation, OperationContext, ParsedCall } from '../proxy/operation.ts';
import { parseResponses } from './responses/parse.ts';
import { RecentItems } from './responses/recent-items.ts';
import { generatedText, responsesCacheTokens, responseUsage } from './responses/response-object.ts';
import { ResponsesStreamMeter } from './responses/stream-meter.ts';
import { toChatRequest, type ItemResolver } from './responses/translate-request.ts';
import { fromChatCompletion } from './responses/translate-response.ts';
import { translateChatStream } from './responses/translate-stream.ts';

/** For a metered call without an output bound, sets the one that was reserved. */
export function prepareResponses(upstream: JsonObject, _parsed: ParsedCall, outputCap: number | undefined): JsonObject {
  if (outputCap !== undefined) upstream.max_output_tokens = outputCap;
  return upstream;
}

/** Items of translated answers, for `item_reference` inputs (see recent-items.ts). */
const recentItems = new RecentItems();

function resolver(call: OperationContext): ItemResolver | undefined {
  const keyId = call.keyId;
  return keyId === null ? undefined : (id) => recentItems.resolve(keyId, id);
}

/** Nothing is kept for a client that said `store: false`. */
function rememberer(body: JsonObject, call: OperationContext): ((output: JsonObject[]) => void) | undefined {
  const keyId = call.keyId;
  return keyId === null || body.store === false ? undefined : (output) => recentItems.remember(keyId, output);
}

async function respond(target: Target, body: JsonObject, call: OperationContext): Promise<JsonResult> {
  const provider = target.provider.provider;
  if (provider.responses) return provider.responses(body, call);
  const chat = await chatJson(provider, target.provider.name, toChatRequest(body, false, resolver(call)), call);
  const response = fromChatCompletion(chat.body, body, target.provider.name);
  rememberer(body, call)?.(response.output as JsonObject[]);
  return { body: response, headers: chat.headers };
}

async function respondStream(target: Target, body: JsonObject, call: OperationContext): Promise<StreamResult> {
  const provider = target.provider.provider;
  if (provider.responsesStream) {
    const native = await provider.responsesStream(body, call);
    return { events: withEventNames(native.events), headers: native.headers };
  }
  const chat = await chatStream(provider, target.provider.name, toChatRequest(body, true, resolver(call)), call);
  return { events: translateChatStream(chat.events, body, target.provider.name, rememberer(body, call)), headers: chat.headers };
}

/** Some servers send Responses events as bare `data:` lines; clients expect an `event:` line naming each one. */
async function* withEventNames(events: AsyncIterable<SseEvent>): AsyncGenerator<SseEvent> {
  for await (const event of events) {
    if (event.event !== undefined) {
      yield event;
      continue;
    }
    let type: unknown;
    try {
      type = (JSON.parse(event.data) as { type?: unknown } | null)?.type;
    } catch {
      type = undefined;
    }
    yield typeof type === 'string' ? { event: type, data: event.data } : event;
  }
}

/**
 * The upstream's `usage`, else the gateway's count of the output. A counted usage is also written into the body
 * (which the handler sends next), so a client never sees `usage: null` for an answer it is billed for.
 */
export function responsesUsage(body: JsonObject, parsed: ParsedCall): TokenUsage {
  const usage = body.usage as { input_tokens?: unknown; output_tokens?: unknown; input_tokens_details?: unknown } | null | undefined;
  if (usage && typeof usage.input_tokens === 'number' && typeof usage.output_tokens === 'number') {
    return { promptTokens: usage.input_tokens, completionTokens: usage.output_tokens, estimated: false, ...responsesCacheTokens(usage) };
  }
  const completionTokens = countTextTokens(generatedText(body.output));
  body.usage = responseUsage(parsed.promptTokens, completionTokens);
  return { promptTokens: parsed.promptTokens, completionTokens, estimated: true };
}

export const responsesOperation: Operation = {
  endpoint: 'responses',
  parse: parseResponses,
  prepare: prepareResponses,
  json: respond,
  stream: respondStream,
  usageOf: responsesUsage,
  meter: (parsed, target) => new ResponsesStreamMeter(parsed.promptTokens, target.provider.name),
};
