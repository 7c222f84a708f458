/**
 * A Responses request → a chat-completions request, for providers without a native Responses API.
 * What cannot be translated faithfully is refused with a 400 naming the parameter, never dropped in silence.
 */
import { InvalidRequestError } from '../../errors/gateway-error.ts';
import type { JsonObject } from '../../plugin-sdk.ts';

type ChatMessage = JsonObject & { role: string };

/** Looks up an item an `item_reference` points at (see recent-items.ts). */
export type ItemResolver = (id: string) => JsonObject | undefined;

function unsupported(param: string, message: string): InvalidRequestError {
  return new InvalidRequestError(message, param, 'unsupported_parameter');
}

function invalid(param: string, message: string): InvalidRequestError {
  return new InvalidRequestError(`Invalid '${param}': ${message}`, param);
}

const STATELESS = 'this model is served by translating to chat completions, and the gateway stores no responses';

/**
 * Fields that need server-side state or work the gateway does not do on this path. `store` is refused only when
 * explicitly true (a promise of `GET /v1/responses/{id}` the gateway cannot keep): the API's default is true, but no
 * client library sends it unless asked (the openai SDK, LangChain and @ai-sdk/openai 3.x all leave it out), so a
 * refusal of the default would break them all. An absent `store` only keeps the answer's items for `item_reference`,
 * which @ai-sdk/openai relies on (see recent-items.ts).
 */
export function assertTranslatable(body: JsonObject): void {
  if (body.previous_response_id != null) {
    throw unsupported('previous_response_id', `'previous_response_id' is not supported: ${STATELESS}. Send the whole conversation in 'input'.`);
  }
  if (body.store === true) throw unsupported('store', `'store: true' is not supported: ${STATELESS}. Leave 'store' out or set it to false.`);
  if (body.background === true) throw unsupported('background', `'background: true' is not supported: ${STATELESS}.`);
  if (body.conversation != null) throw unsupported('conversation', `'conversation' is not supported: ${STATELESS}. Send the whole conversation in 'input'.`);
  if (body.prompt != null) throw unsupported('prompt', `'prompt' templates are not supported: ${STATELESS}.`);
}

/** The chat request for a Responses request; `stream` adds `stream_options.include_usage` so the final event has usage. */
export function toChatRequest(body: JsonObject, stream: boolean, resolve?: ItemResolver): JsonObject {
  assertTranslatable(body);
  const chat: JsonObject = { model: body.model, messages: toMessages(body, resolve) };
  const tools = Array.isArray(body.tools) && body.tools.length > 0 ? toChatTools(body.tools) : undefined;
  if (tools) chat.tools = tools;
  const toolChoice = toChatToolChoice(body.tool_choice);
  if (toolChoice !== undefined) chat.tool_choice = toolChoice;
  // Chat servers reject parallel_tool_calls without tools.
  if (tools && typeof body.parallel_tool_calls === 'boolean') chat.parallel_tool_calls = body.parallel_tool_calls;
  const responseFormat = toResponseFormat(body.text);
  if (responseFormat) chat.response_format = responseFormat;
  if (typeof body.max_output_tokens === 'number') chat.max_completion_tokens = body.max_output_tokens;
  if (typeof body.temperature === 'number') chat.temperature = body.temperature;
  if (typeof body.top_p === 'number') chat.top_p = body.top_p;
  const effort = (body.reasoning as { effort?: unknown } | null | undefined)?.effort;
  if (typeof effort === 'string') chat.reasoning_effort = effort;
  if (stream) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  return chat;
}

function toMessages(body: JsonObject, resolve: ItemResolver | undefined): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (typeof body.instructions === 'string' && body.instructions.length > 0) messages.push({ role: 'system', content: body.instructions });
  const input = body.input;
  if (typeof input === 'string') messages.push({ role: 'user', content: input });
  else if (Array.isArray(input)) {
    input.forEach((item, index) => {
      addItem(messages, item as JsonObject, `input[${index}]`, resolve);
    });
  }
  if (!messages.some((message) => message.role !== 'system')) {
    throw new InvalidRequestError("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
  }
  return messages;
}

function addItem(messages: ChatMessage[], item: JsonObject, param: string, resolve: ItemResolver | undefined): void {
  const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
  switch (type) {
    case 'message':
      messages.push(toChatMessage(item, param));
      return;
    case 'function_call':
      addToolCall(messages, item, param);
      return;
    case 'function_call_output':
      messages.push(toToolMessage(item, param));
      return;
    case 'reasoning':
      // Chat completions take no reasoning back; open models' chat templates drop past reasoning anyway.
      return;
    case 'item_reference': {
      const id = typeof item.id === 'string' ? item.id : '';
      const found = id ? resolve?.(id) : undefined;
      if (found) return addItem(messages, found, param, undefined);
      // A reasoning item would be dropped (above) even if it were still held.
      if (id.startsWith('rs_')) return;
      throw unsupported(
        `${param}.id`,
        `The item '${id.slice(0, 80)}' is not held by this gateway: it keeps the items of its recent translated answers in memory, per key, for an hour. Send the item itself instead (with the AI SDK: providerOptions.openai.store = false).`,
      );
    }
    default:
      throw unsupported(
        `${param}.type`,
        `Input items of type '${String(type)}' are not supported: only messages, function_call and function_call_output items can be translated to chat completions.`,
      );
  }
}

const ROLES = new Set(['user', 'assistant', 'system', 'developer']);

function toChatMessage(item: JsonObject, param: string): ChatMessage {
  if (typeof item.role !== 'string' || !ROLES.has(item.role)) throw invalid(`${param}.role`, "expected 'user', 'assistant', 'system' or 'developer'.");
  // Open models' chat templates know no `developer` role.
  const role = item.role === 'developer' ? 'system' : item.role;
  const content = item.content;
  if (typeof content === 'string') return { role, content };
  if (!Array.isArray(content)) throw invalid(`${param}.content`, 'expected a string or an array of content parts.');
  const parts = content.map((part, index) => toChatPart(part as JsonObject, `${param}.content[${index}]`));
  const texts = parts.filter((part) => part.type === 'text').map((part) => part.text as string);
  if (texts.length === parts.length) {
    // One text part, or a non-user role (whose chat content many servers only take as a string): plain text.
    if (texts.length === 1 || role !== 'user') return { role, content: texts.join('\n') };
  } else if (role !== 'user') {
    throw unsupported(`${param}.content`, `Only user messages may contain images; this one has role '${item.role}'.`);
  }
  return { role, content: parts };
}

function toChatPart(part: JsonObject, param: string): JsonObject {
  switch (part?.type) {
    case 'input_text':
    case 'output_text':
    case 'text':
      if (typeof part.text !== 'string') throw invalid(`${param}.text`, 'expected a string.');
      return { type: 'text', text: part.text };
    case 'refusal':
      return { type: 'text', text: String(part.refusal ?? '') };
    case 'input_image': {
      if (typeof part.image_url !== 'string')
        throw unsupported(`${param}.image_url`, "Images must be given as 'image_url' (a URL or a data URL); file ids are not supported for this model.");
      const image: JsonObject = { url: part.image_url };
      if (typeof part.detail === 'string' && part.detail !== 'auto') image.detail = part.detail;
      return { type: 'image_url', image_url: image };
    }
    default:
      throw unsupported(
        `${param}.type`,
        `Content parts of type '${String(part?.type)}' are not supported for this model: only input_text, output_text and input_image.`,
      );
  }
}

function addToolCall(messages: ChatMessage[], item: JsonObject, param: string): void {
  for (const field of ['call_id', 'name', 'arguments'] as const) {
    if (typeof item[field] !== 'string') throw invalid(`${param}.${field}`, 'expected a string.');
  }
  const call = { id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } };
  const last = messages.at(-1);
  // Consecutive calls, and the text the model wrote just before them, are one assistant turn in chat terms.
  if (last?.role === 'assistant') {
    last.tool_calls = [...((last.tool_calls as JsonObject[] | undefined) ?? []), call];
    return;
  }
  messages.push({ role: 'assistant', content: null, tool_calls: [call] });
}

function toToolMessage(item: JsonObject, param: string): ChatMessage {
  if (typeof item.call_id !== 'string') throw invalid(`${param}.call_id`, 'expected a string.');
  const output = item.output;
  let content: string;
  if (typeof output === 'string') content = output;
  else if (Array.isArray(output) && output.every((part) => typeof (part as JsonObject)?.text === 'string')) {
    content = output.map((part) => (part as JsonObject).text).join('');
  } else if (output !== undefined && output !== null) content = JSON.stringify(output);
  else throw invalid(`${param}.output`, 'expected a string or an array of content parts.');
  return { role: 'tool', tool_call_id: item.call_id, content };
}

function toChatTools(tools: unknown[]): JsonObject[] {
  return tools.map((raw, index) => {
    const tool = raw as JsonObject;
    if (tool?.type !== 'function') {
      throw unsupported(
        `tools[${index}].type`,
        `Tools of type '${String(tool?.type)}' are not supported for this model: only function tools can be translated to chat completions.`,
      );
    }
    if (typeof tool.name !== 'string' || tool.name.length === 0) throw invalid(`tools[${index}].name`, 'expected a non-empty string.');
    const fn: JsonObject = { name: tool.name };
    if (typeof tool.description === 'string') fn.description = tool.description;
    if (tool.parameters != null) fn.parameters = tool.parameters;
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
    return { type: 'function', function: fn };
  });
}

function toChatToolChoice(choice: unknown): unknown {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'none' || choice === 'auto' || choice === 'required') return choice;
  const named = choice as JsonObject;
  if (named?.type === 'function' && typeof named.name === 'string') return { type: 'function', function: { name: named.name } };
  throw unsupported('tool_choice', 'Only \'none\', \'auto\', \'required\' and {"type": "function", "name": …} can be translated to chat completions.');
}

function toResponseFormat(text: unknown): JsonObject | undefined {
  const format = (text as { format?: JsonObject } | null | undefined)?.format;
  if (format === undefined || format === null) return undefined;
  switch (format.type) {
    case 'text':
      return undefined;
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema': {
      if (format.schema === undefined || format.schema === null || typeof format.schema !== 'object')
        throw invalid('text.format.schema', 'expected a JSON schema object.');
      const schema: JsonObject = { name: typeof format.name === 'string' ? format.name : 'response', schema: format.schema };
      if (typeof format.description === 'string') schema.description = format.description;
      if (typeof format.strict === 'boolean') schema.strict = format.strict;
      return { type: 'json_schema', json_schema: schema };
    }
    default:
      throw unsupported('text.format.type', `'text.format' of type '${String(format.type)}' is not supported: use text, json_object or json_schema.`);
  }
}
