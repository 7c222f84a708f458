/** A chat completion → a Responses `response` object: reasoning, message and function_call output items, usage, status. */
import { UpstreamError } from '../../errors/gateway-error.ts';
import type { JsonObject } from '../../plugin-sdk.ts';
import {
  finishedResponse,
  fromChatUsage,
  functionCallItem,
  messageItem,
  newId,
  nowSeconds,
  outcomeOf,
  reasoningItem,
  reasoningOf,
  responseShell,
} from './response-object.ts';

interface ChatToolCall {
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

interface ChatChoiceMessage {
  content?: unknown;
  refusal?: unknown;
  reasoning_content?: unknown;
  reasoning?: unknown;
  tool_calls?: ChatToolCall[] | null;
}

/** `request` is the Responses request the chat call was made for: its settings are echoed in the response. */
export function fromChatCompletion(chat: JsonObject, request: JsonObject, provider: string): JsonObject {
  const choice = (Array.isArray(chat.choices) ? chat.choices[0] : undefined) as { message?: ChatChoiceMessage; finish_reason?: unknown } | undefined;
  const message = choice?.message;
  if (!message || typeof message !== 'object') throw new UpstreamError(`${provider} answered a chat completion without a message`);
  const outcome = outcomeOf(choice.finish_reason);
  const output = outputItems(message, outcome.status);
  const created = typeof chat.created === 'number' ? chat.created : nowSeconds();
  const model = typeof chat.model === 'string' && chat.model ? chat.model : String(request.model);
  return finishedResponse(responseShell(request, newId('resp'), created, model), outcome, output, fromChatUsage(chat.usage));
}

function outputItems(message: ChatChoiceMessage, status: string): JsonObject[] {
  const output: JsonObject[] = [];
  const reasoning = reasoningOf(message);
  if (reasoning.length > 0) output.push(reasoningItem(newId('rs'), reasoning));
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  const text = typeof message.content === 'string' ? message.content : '';
  if (typeof message.refusal === 'string' && message.refusal.length > 0) {
    output.push({ id: newId('msg'), type: 'message', status, role: 'assistant', content: [{ type: 'refusal', refusal: message.refusal }] });
  } else if (text.length > 0 || calls.length === 0) {
    output.push(messageItem(newId('msg'), text, status));
  }
  for (const call of calls) {
    const fn = call?.function ?? {};
    const callId = typeof call?.id === 'string' && call.id ? call.id : newId('call');
    output.push(
      functionCallItem(
        newId('fc'),
        callId,
        String(fn.name ?? ''),
        typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {}),
        'completed',
      ),
    );
  }
  return output;
}
