/**
 * An Anthropic Messages request → a chat-completions request, for providers that do not speak Messages. What has
 * no chat equivalent (server tools, documents other than text) is refused with a 400 naming the parameter; thinking
 * blocks in the history are dropped, because chat servers either ignore or reject reasoning sent back to them.
 */
import { InvalidRequestError } from '../../errors/gateway-error.ts';
import type { JsonObject } from '../../plugin-sdk.ts';
import type { ToolNames } from './tool-names.ts';

type ChatMessage = JsonObject & { role: string };
type Block = JsonObject & { type?: unknown };

function invalid(param: string, message: string): InvalidRequestError {
  return new InvalidRequestError(`Invalid '${param}': ${message}`, param);
}

/** The chat request; `stream` also asks for the usage chunk, which the translated stream's last event needs. */
export function messagesToChatRequest(body: JsonObject, stream: boolean, names: ToolNames): JsonObject {
  const chat: JsonObject = { model: body.model, messages: toChatMessages(body, names) };
  const tools = Array.isArray(body.tools) && body.tools.length > 0 ? toChatTools(body.tools as JsonObject[], names) : undefined;
  if (tools) chat.tools = tools;
  const choice = body.tool_choice as { type?: unknown; name?: unknown; disable_parallel_tool_use?: unknown } | undefined;
  // Chat servers refuse tool_choice (and parallel_tool_calls) without tools.
  if (tools && choice && typeof choice === 'object') {
    chat.tool_choice = toChatToolChoice(choice, names);
    if (choice.disable_parallel_tool_use === true) chat.parallel_tool_calls = false;
  }
  if (typeof body.max_tokens === 'number') chat.max_completion_tokens = body.max_tokens;
  if (typeof body.temperature === 'number') chat.temperature = body.temperature;
  if (typeof body.top_p === 'number') chat.top_p = body.top_p;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) chat.stop = body.stop_sequences;
  const user = (body.metadata as { user_id?: unknown } | undefined)?.user_id;
  if (typeof user === 'string' && user) chat.user = user;
  if (stream) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  return chat;
}

/**
 * The system prompt first (many open-model servers reject a system message that is not), with `system` entries
 * found inside `messages` folded into it in order; then the turns.
 */
function toChatMessages(body: JsonObject, names: ToolNames): ChatMessage[] {
  const system: string[] = [];
  if (body.system !== undefined && body.system !== null) system.push(textOf(body.system, 'system'));
  const turns: ChatMessage[] = [];
  for (const [i, message] of (body.messages as JsonObject[]).entries()) {
    const param = `messages[${i}]`;
    if (message.role === 'system') system.push(textOf(message.content, `${param}.content`));
    else if (message.role === 'assistant') turns.push(assistantMessage(message.content, param, names));
    else turns.push(...userMessages(message.content, param));
  }
  const prompt = system.filter((text) => text.length > 0).join('\n\n');
  return prompt ? [{ role: 'system', content: prompt }, ...turns] : turns;
}

/** A string, or the text of text blocks (a system prompt's blocks may carry `cache_control`, which chat has no use for). */
function textOf(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(param, 'expected a string or an array of text blocks.');
  return (content as Block[])
    .map((block, j) => {
      if (block?.type !== 'text' || typeof block.text !== 'string') throw invalid(`${param}[${j}]`, 'expected a text block.');
      return block.text;
    })
    .join('\n\n');
}

/** Tool results become `tool` messages first (they must follow the assistant's calls), then the rest as one user message. */
function userMessages(content: unknown, param: string): ChatMessage[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  if (!Array.isArray(content)) throw invalid(`${param}.content`, 'expected a string or an array of content blocks.');
  const results: ChatMessage[] = [];
  const parts: JsonObject[] = [];
  for (const [j, block] of (content as Block[]).entries()) {
    const at = `${param}.content[${j}]`;
    if (block?.type === 'tool_result') results.push(...toolResult(block, at));
    else if (block?.type === 'thinking' || block?.type === 'redacted_thinking') continue;
    else parts.push(contentPart(block, at));
  }
  return parts.length > 0 ? [...results, { role: 'user', content: collapse(parts) }] : results;
}

/** Text-only content as one string, which every chat server accepts; parts otherwise. */
function collapse(parts: JsonObject[]): string | JsonObject[] {
  if (parts.every((part) => part.type === 'text')) return parts.map((part) => part.text as string).join('\n\n');
  return parts;
}

function contentPart(block: Block, param: string): JsonObject {
  if (block?.type === 'text') {
    if (typeof block.text !== 'string') throw invalid(`${param}.text`, 'expected a string.');
    return { type: 'text', text: block.text };
  }
  if (block?.type === 'image') return { type: 'image_url', image_url: { url: imageUrl(block.source, `${param}.source`) } };
  if (block?.type === 'document') {
    const source = block.source as { type?: unknown; data?: unknown } | undefined;
    if (source?.type === 'text' && typeof source.data === 'string') return { type: 'text', text: source.data };
    throw invalid(`${param}.source`, 'only text documents can be sent to a model served through chat completions.');
  }
  throw invalid(`${param}.type`, `content blocks of type '${String(block?.type)}' cannot be sent to a model served through chat completions.`);
}

function imageUrl(source: unknown, param: string): string {
  const s = source as { type?: unknown; media_type?: unknown; data?: unknown; url?: unknown } | undefined;
  if (s?.type === 'base64' && typeof s.media_type === 'string' && typeof s.data === 'string') return `data:${s.media_type};base64,${s.data}`;
  if (s?.type === 'url' && typeof s.url === 'string') return s.url;
  throw invalid(param, "expected {type: 'base64', media_type, data} or {type: 'url', url}.");
}

/**
 * One `tool` message per result. Chat has no error flag, so a failed tool's text says so; images a result returns
 * follow as a user message, since tool messages carry text only on most servers.
 */
function toolResult(block: Block, param: string): ChatMessage[] {
  if (typeof block.tool_use_id !== 'string') throw invalid(`${param}.tool_use_id`, 'expected a string.');
  const texts: string[] = [];
  const images: JsonObject[] = [];
  const content = block.content;
  if (typeof content === 'string') texts.push(content);
  else if (Array.isArray(content)) {
    for (const [k, inner] of (content as Block[]).entries()) {
      const part = contentPart(inner, `${param}.content[${k}]`);
      if (part.type === 'text') texts.push(part.text as string);
      else images.push(part);
    }
  } else if (content !== undefined && content !== null) throw invalid(`${param}.content`, 'expected a string or an array of content blocks.');
  const text = texts.join('\n\n');
  const messages: ChatMessage[] = [{ role: 'tool', tool_call_id: block.tool_use_id, content: block.is_error === true ? `Error: ${text}` : text }];
  if (images.length > 0) messages.push({ role: 'user', content: images });
  return messages;
}

/** Text blocks → `content`, `tool_use` blocks → `tool_calls` with the input as JSON text. */
function assistantMessage(content: unknown, param: string, names: ToolNames): ChatMessage {
  if (typeof content === 'string') return { role: 'assistant', content };
  if (!Array.isArray(content)) throw invalid(`${param}.content`, 'expected a string or an array of content blocks.');
  const texts: string[] = [];
  const calls: JsonObject[] = [];
  for (const [j, block] of (content as Block[]).entries()) {
    const at = `${param}.content[${j}]`;
    if (block?.type === 'text') texts.push(contentPart(block, at).text as string);
    else if (block?.type === 'tool_use') calls.push(toolCall(block, at, names));
    else if (block?.type === 'thinking' || block?.type === 'redacted_thinking') continue;
    else throw invalid(`${at}.type`, `assistant blocks of type '${String(block?.type)}' cannot be sent to a model served through chat completions.`);
  }
  // Null content is only valid beside tool calls; a turn of thinking alone becomes an empty text.
  const message: ChatMessage = { role: 'assistant', content: texts.length > 0 ? texts.join('') : calls.length > 0 ? null : '' };
  if (calls.length > 0) message.tool_calls = calls;
  return message;
}

function toolCall(block: Block, param: string, names: ToolNames): JsonObject {
  if (typeof block.id !== 'string' || typeof block.name !== 'string') throw invalid(param, "a tool_use block needs a string 'id' and 'name'.");
  const input = block.input ?? {};
  return { id: block.id, type: 'function', function: { name: names.toUpstream(block.name), arguments: JSON.stringify(input) } };
}

function toChatTools(tools: JsonObject[], names: ToolNames): JsonObject[] {
  return tools.map((tool, i) => {
    if (typeof tool?.name !== 'string') throw invalid(`tools[${i}].name`, 'expected a string.');
    if (tool.type !== undefined && tool.type !== null && tool.type !== 'custom') {
      throw invalid(
        `tools[${i}]`,
        `server tools ('${String(tool.type).slice(0, 64)}') are not available on a model served through chat completions; define a custom tool with an input_schema.`,
      );
    }
    if (!tool.input_schema || typeof tool.input_schema !== 'object') throw invalid(`tools[${i}].input_schema`, 'expected a JSON schema object.');
    const fn: JsonObject = { name: names.toUpstream(tool.name), parameters: tool.input_schema };
    if (typeof tool.description === 'string') fn.description = tool.description;
    return { type: 'function', function: fn };
  });
}

function toChatToolChoice(choice: { type?: unknown; name?: unknown }, names: ToolNames): unknown {
  switch (choice.type) {
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      if (typeof choice.name !== 'string') throw invalid('tool_choice.name', 'expected the name of a tool.');
      return { type: 'function', function: { name: names.toUpstream(choice.name) } };
    default:
      throw invalid('tool_choice.type', "expected 'auto', 'any', 'tool' or 'none'.");
  }
}
