/**
 * The hub of dialect translation: every translated dialect (responses, completions, messages) reaches a provider
 * through chat completions, and these two functions reach any provider for chat, natively when it has `chat`, else
 * through the dialect it does speak (a Messages-only provider such as Anthropic).
 */
import { UpstreamError } from '../errors/gateway-error.ts';
import type { CallContext, JsonObject, JsonResult, Provider, StreamResult } from '../plugin-sdk.ts';

/** A whole chat completion from any provider. */
export async function chatJson(provider: Provider, providerName: string, request: JsonObject, call: CallContext): Promise<JsonResult> {
  if (provider.chat) return provider.chat(request, call);
  throw new UpstreamError(`${providerName} speaks no dialect the gateway can translate chat completions to`);
}

/** A streamed chat completion (chat.completion.chunk events) from any provider. */
export async function chatStream(provider: Provider, providerName: string, request: JsonObject, call: CallContext): Promise<StreamResult> {
  if (provider.chatStream) return provider.chatStream(request, call);
  throw new UpstreamError(`${providerName} speaks no dialect the gateway can translate chat completions to`);
}
