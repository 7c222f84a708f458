/** Egress: an Anthropic Messages answer (`type: message`) → a chat completion. */
import { UpstreamError } from '../../errors/gateway-error.ts';
import type { JsonObject } from '../../plugin-sdk.ts';
import { messagesUsageToChat, stopReasonToFinish, type MessagesUsage } from './messages-usage-to-chat.ts';

interface MessageBlock {
  type?: unknown;
  text?: unknown;
  thinking?: unknown;
  id?: unknown;
  name?: unknown;
  input?: unknown;
}

/** Text blocks join into `content`, thinking into `reasoning_content`, tool_use blocks become `tool_calls`. */
export function messageToChatAnswer(message: JsonObject, provider: string): JsonObject {
  if (message.type !== 'message' || !Array.isArray(message.content)) {
    throw new UpstreamError(`${provider} answered with something that is not a Messages answer`);
  }
  let text = '';
  let reasoning = '';
  const toolCalls: JsonObject[] = [];
  for (const block of message.content as MessageBlock[]) {
    if (block?.type === 'text' && typeof block.text === 'string') text += block.text;
    else if (block?.type === 'thinking' && typeof block.thinking === 'string') reasoning += block.thinking;
    else if (block?.type === 'tool_use') toolCalls.push(toolCallOf(block));
  }
  const answer: JsonObject = { role: 'assistant', content: text || (toolCalls.length > 0 ? null : '') };
  if (reasoning) answer.reasoning_content = reasoning;
  if (toolCalls.length > 0) answer.tool_calls = toolCalls;
  const chat: JsonObject = {
    id: typeof message.id === 'string' ? message.id : 'msg_gateway',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: message.model,
    choices: [{ index: 0, message: answer, logprobs: null, finish_reason: stopReasonToFinish(message.stop_reason) }],
  };
  if (message.usage && typeof message.usage === 'object') chat.usage = messagesUsageToChat(message.usage as MessagesUsage);
  return chat;
}

function toolCallOf(block: MessageBlock): JsonObject {
  return {
    id: String(block.id ?? ''),
    type: 'function',
    function: { name: String(block.name ?? ''), arguments: JSON.stringify(block.input ?? {}) },
  };
}
