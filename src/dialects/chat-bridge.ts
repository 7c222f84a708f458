/**
 * The hub of dialect translation: every translated dialect (responses, completions, messages) reaches a provider
 * through chat completions, and these two functions reach any provider for chat, natively when it has `chat`, else
 * through the dialect it does speak (a Messages-only provider such as Anthropic).
 */
import { UpstreamError } from '../errors/gateway-error.ts';
import { DEFAULT_MAX_OUTPUT_TOKENS } from '../metering/tokens.ts';
import type { CallContext, JsonObject, JsonResult, Provider, StreamResult } from '../plugin-sdk.ts';
import { chatRequestToMessages } from './messages/chat-request-to-messages.ts';
import { eventsToChatStream } from './messages/events-to-chat-stream.ts';
import { messageToChatAnswer } from './messages/message-to-chat-answer.ts';

/** A whole chat completion from any provider. */
export async function chatJson(provider: Provider, providerName: string, request: JsonObject, call: CallContext): Promise<JsonResult> {
  if (provider.chat) return provider.chat(request, call);
  if (provider.messages) {
    const answer = await provider.messages(toMessages(request, call, false), call);
    return { body: messageToChatAnswer(answer.body, providerName), headers: answer.headers };
  }
  throw new UpstreamError(`${providerName} speaks no dialect the gateway can translate chat completions to`);
}

/** A streamed chat completion (chat.completion.chunk events) from any provider. */
export async function chatStream(provider: Provider, providerName: string, request: JsonObject, call: CallContext): Promise<StreamResult> {
  if (provider.chatStream) return provider.chatStream(request, call);
  if (provider.messagesStream) {
    const answer = await provider.messagesStream(toMessages(request, call, true), call);
    return { events: eventsToChatStream(answer.events, providerName), headers: answer.headers };
  }
  throw new UpstreamError(`${providerName} speaks no dialect the gateway can translate chat completions to`);
}

/** Messages requires `max_tokens`: the call's cap, which the handler always sets, else the configuration's default. */
function toMessages(request: JsonObject, call: CallContext, stream: boolean): JsonObject {
  const body = chatRequestToMessages(request, call.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS);
  if (stream) body.stream = true;
  else delete body.stream;
  return body;
}
