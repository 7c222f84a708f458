/**
 * Egress: a chat-completions request → an Anthropic Messages request, for a provider that speaks only Messages.
 * System and developer messages become `system`, tool calls and results become tool_use / tool_result blocks,
 * and `max_tokens` (required by Messages) is always set.
 */
import { InvalidRequestError } from '../../errors/gateway-error.ts';
import type { JsonObject } from '../../plugin-sdk.ts';
import { chatContentToBlocks, chatTextOf, type Block } from './chat-content-to-blocks.ts';

interface Turn {
  role: 'user' | 'assistant';
  content: Block[];
}

/**
 * Fields dropped on the way: Messages has nothing like them, and none changes what a correct answer is
 * (`stream_options` is the core's own business; the usage always arrives in Messages streams; `response_format`
 * `text` / `json_object` leave the answer's shape to the prompt). `n > 1`, `logprobs` and a `json_schema` format
 * would change what a correct answer is, so they are refused instead (see refuseUnexpressible).
 */
const DROPPED = new Set([
  'stream_options',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'service_tier',
  'store',
  'metadata',
  'response_format',
  'reasoning_effort',
  'prediction',
  'modalities',
  'audio',
  'web_search_options',
  'n',
  'logprobs',
  'top_logprobs',
  'parallel_tool_calls',
  'prompt_cache_key',
  'safety_identifier',
  'verbosity',
]);

/** The Messages request for a chat request; `defaultMaxTokens` is the gateway's cap, sent when the client set none. */
export function chatRequestToMessages(chat: JsonObject, defaultMaxTokens: number): JsonObject {
  refuseUnexpressible(chat);
  const messages = chat.messages as JsonObject[];
  const out: JsonObject = { model: chat.model };
  const system = systemOf(messages);
  if (system !== undefined) out.system = system;
  out.messages = turnsOf(messages);
  out.max_tokens = maxTokensOf(chat, defaultMaxTokens);
  for (const field of ['temperature', 'top_p', 'top_k', 'stream'] as const) if (chat[field] != null) out[field] = chat[field];
  const stop = chat.stop;
  if (typeof stop === 'string') out.stop_sequences = [stop];
  else if (Array.isArray(stop) && stop.length > 0) out.stop_sequences = stop;
  if (typeof chat.user === 'string' && chat.user) out.metadata = { user_id: chat.user };
  const tools = toolsOf(chat.tools);
  if (tools) {
    out.tools = tools;
    const choice = toolChoiceOf(chat.tool_choice, chat.parallel_tool_calls);
    if (choice) out.tool_choice = choice;
  }
  for (const [field, value] of Object.entries(chat)) {
    if (!(field in out) && !KNOWN.has(field) && !DROPPED.has(field)) out[field] = value;
  }
  return out;
}

/** Chat fields translated above (not copied through); unknown fields pass as they are, e.g. `thinking`. */
const KNOWN = new Set(['model', 'messages', 'max_tokens', 'max_completion_tokens', 'stop', 'user', 'tools', 'tool_choice', 'functions', 'function_call']);

function refuseUnexpressible(chat: JsonObject): void {
  if (typeof chat.n === 'number' && chat.n > 1) {
    throw new InvalidRequestError(
      'This model is served through the Anthropic Messages API, which answers one choice per request: n must be 1.',
      'n',
      'unsupported_parameter',
    );
  }
  if (chat.logprobs === true) {
    throw new InvalidRequestError(
      'This model is served through the Anthropic Messages API, which has no log probabilities.',
      'logprobs',
      'unsupported_parameter',
    );
  }
  // A client asking for schema-bound JSON would silently get free text: say so instead (tools can carry a schema).
  if ((chat.response_format as { type?: unknown } | null | undefined)?.type === 'json_schema') {
    throw new InvalidRequestError(
      "response_format 'json_schema' cannot be translated to the Anthropic Messages API: send the schema as a tool and set tool_choice to it.",
      'response_format',
      'unsupported_parameter',
    );
  }
  if (chat.functions !== undefined || chat.function_call !== undefined) {
    throw new InvalidRequestError(
      "The deprecated 'functions' / 'function_call' fields are not translated to Anthropic Messages: send 'tools' / 'tool_choice'.",
      'functions',
      'unsupported_parameter',
    );
  }
}

function maxTokensOf(chat: JsonObject, defaultMaxTokens: number): number {
  const asked = chat.max_completion_tokens ?? chat.max_tokens;
  return typeof asked === 'number' && asked > 0 ? asked : defaultMaxTokens;
}

/** Every system / developer message, in order: one string when there is one plain text, else text blocks. */
function systemOf(messages: readonly JsonObject[]): string | Block[] | undefined {
  const blocks: Block[] = [];
  for (const [index, message] of messages.entries()) {
    if (message.role !== 'system' && message.role !== 'developer') continue;
    blocks.push(...systemBlocks(message.content, index));
  }
  if (blocks.length === 0) return undefined;
  if (blocks.length === 1 && blocks[0].cache_control === undefined) return blocks[0].text as string;
  return blocks;
}

function systemBlocks(content: unknown, index: number): Block[] {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content)) return [];
  return content
    .map((part, partIndex) => {
      const text = chatTextOf(part);
      if (text === undefined) {
        throw new InvalidRequestError('System messages may hold only text parts for an Anthropic model.', `messages[${index}].content[${partIndex}]`);
      }
      const block: Block = { type: 'text', text };
      const cache = (part as JsonObject).cache_control;
      if (cache !== undefined) block.cache_control = cache;
      return block;
    })
    .filter((block) => block.text !== '');
}

/** User, assistant and tool messages as alternating turns; tool results join the user turn that follows the call. */
function turnsOf(messages: readonly JsonObject[]): Turn[] {
  const turns: Turn[] = [];
  for (const [index, message] of messages.entries()) {
    const turn = turnOf(message, index);
    // An empty turn (`content: ""` with no tool calls) is refused by Messages and says nothing: leave it out.
    if (!turn || turn.content.length === 0) continue;
    const last = turns.at(-1);
    // Messages wants alternating roles and tool results first in their user turn: merge consecutive same-role turns.
    if (last && last.role === turn.role) last.content = mergeContent(last.content, turn.content);
    else turns.push(turn);
  }
  return turns;
}

function mergeContent(earlier: Block[], later: Block[]): Block[] {
  const all = [...earlier, ...later];
  const results = all.filter((block) => block.type === 'tool_result');
  return results.length === 0 ? all : [...results, ...all.filter((block) => block.type !== 'tool_result')];
}

function turnOf(message: JsonObject, index: number): Turn | undefined {
  switch (message.role) {
    case 'system':
    case 'developer':
      return undefined;
    case 'user':
      return { role: 'user', content: chatContentToBlocks(message.content, `messages[${index}].content`) };
    case 'assistant':
      return { role: 'assistant', content: assistantBlocks(message, index) };
    case 'tool':
      return { role: 'user', content: [toolResultBlock(message, index)] };
    default:
      throw new InvalidRequestError(`Unknown message role '${String(message.role).slice(0, 64)}'.`, `messages[${index}].role`);
  }
}

function assistantBlocks(message: JsonObject, index: number): Block[] {
  const blocks = message.content == null ? [] : chatContentToBlocks(message.content, `messages[${index}].content`);
  const calls = message.tool_calls;
  if (Array.isArray(calls)) {
    for (const [callIndex, call] of calls.entries()) blocks.push(toolUseBlock(call, `messages[${index}].tool_calls[${callIndex}]`));
  }
  return blocks;
}

function toolUseBlock(call: unknown, param: string): Block {
  const fn = (call as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
  const id = (call as { id?: unknown } | null)?.id;
  if (typeof id !== 'string' || typeof fn?.name !== 'string') throw new InvalidRequestError('A tool call needs an id and a function name.', param);
  return { type: 'tool_use', id, name: fn.name, input: parseArguments(fn.arguments, `${param}.function.arguments`) };
}

/** Messages takes a tool call's input as an object: the chat arguments must be a JSON object's text. */
function parseArguments(text: unknown, param: string): JsonObject {
  if (text === undefined || text === null || text === '') return {};
  if (typeof text !== 'string') throw new InvalidRequestError('Tool call arguments must be a JSON string.', param);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidRequestError('Tool call arguments are not valid JSON; an Anthropic model needs them as a JSON object.', param);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new InvalidRequestError('Tool call arguments must be a JSON object for an Anthropic model.', param);
  return parsed as JsonObject;
}

function toolResultBlock(message: JsonObject, index: number): Block {
  if (typeof message.tool_call_id !== 'string') throw new InvalidRequestError("A tool message needs its 'tool_call_id'.", `messages[${index}].tool_call_id`);
  const block: Block = { type: 'tool_result', tool_use_id: message.tool_call_id };
  const content = message.content;
  if (typeof content === 'string') block.content = content;
  else if (Array.isArray(content)) block.content = chatContentToBlocks(content, `messages[${index}].content`);
  return block;
}

function toolsOf(tools: unknown): Block[] | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  return tools.map((tool, index) => {
    const fn = (tool as { type?: unknown; function?: JsonObject } | null)?.function;
    if ((tool as { type?: unknown }).type !== 'function' || typeof fn?.name !== 'string') {
      throw new InvalidRequestError('Only function tools can be sent to an Anthropic model.', `tools[${index}]`, 'unsupported_parameter');
    }
    const out: Block = { name: fn.name, input_schema: fn.parameters ?? { type: 'object', properties: {} } };
    if (typeof fn.description === 'string') out.description = fn.description;
    const cache = (tool as JsonObject).cache_control;
    if (cache !== undefined) out.cache_control = cache;
    return out;
  });
}

/** required → any, auto → auto, none → none, a named function → tool; `parallel_tool_calls: false` disables parallel use. */
function toolChoiceOf(choice: unknown, parallel: unknown): Block | undefined {
  let out: Block | undefined;
  if (choice === 'required') out = { type: 'any' };
  else if (choice === 'auto') out = { type: 'auto' };
  else if (choice === 'none') out = { type: 'none' };
  else if (choice && typeof choice === 'object') {
    const name = (choice as { function?: { name?: unknown } }).function?.name;
    if (typeof name !== 'string') throw new InvalidRequestError("A named tool_choice needs 'function.name'.", 'tool_choice');
    out = { type: 'tool', name };
  }
  if (parallel === false && out?.type !== 'none') out = { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return out;
}
