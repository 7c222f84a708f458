/** The Messages ↔ chat translation on its own: requests, answers and recorded chunk sequences, the ugly ones included. */
import assert from 'node:assert/strict';
import { chatAnswerToMessage, parseToolInput } from '../../src/dialects/messages/chat-answer-to-message.ts';
import { ChatToMessages, chatStreamToEvents, type MessagesEvent } from '../../src/dialects/messages/chat-stream-to-events.ts';
import { countMessagesTokens } from '../../src/dialects/messages/count-tokens.ts';
import { messagesErrorType } from '../../src/dialects/messages/errors.ts';
import { messagesToChatRequest } from '../../src/dialects/messages/request-to-chat.ts';
import { shortToolName, ToolNames } from '../../src/dialects/messages/tool-names.ts';
import { InvalidRequestError, UpstreamError } from '../../src/errors/gateway-error.ts';
import type { JsonObject } from '../../src/plugin-sdk.ts';

const LONG_NAME = `mcp__github_enterprise_server__${'list_pull_request_review_comments_'.repeat(2)}v2`;
const WEATHER = {
  name: 'get_weather',
  description: 'Weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

function translate(body: JsonObject, names = new ToolNames()): JsonObject {
  return messagesToChatRequest({ model: 'org/m', max_tokens: 100, ...body }, false, names);
}

describe('messages: request → chat', () => {
  it('puts system (string or blocks) first and folds system entries inside messages into it, in order', () => {
    const chat = translate({
      system: [
        { type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } },
        { type: 'text', text: 'Answer in English.' },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: '<system-reminder>ctx</system-reminder>' },
            { type: 'text', text: 'Say hi' },
          ],
        },
        { role: 'system', content: 'Agent types: claude, Explore.' },
        { role: 'assistant', content: 'Hi.' },
        { role: 'system', content: [{ type: 'text', text: 'Second note.' }] },
        { role: 'user', content: 'Again' },
      ],
    });
    assert.deepEqual(chat.messages, [
      { role: 'system', content: 'You are terse.\n\nAnswer in English.\n\nAgent types: claude, Explore.\n\nSecond note.' },
      { role: 'user', content: '<system-reminder>ctx</system-reminder>\n\nSay hi' },
      { role: 'assistant', content: 'Hi.' },
      { role: 'user', content: 'Again' },
    ]);
  });

  it('maps parameters: max_tokens, temperature, top_p, stop_sequences, metadata.user_id, stream with usage', () => {
    const chat = messagesToChatRequest(
      {
        model: 'org/m',
        max_tokens: 64,
        temperature: 0.2,
        top_p: 0.9,
        top_k: 5,
        stop_sequences: ['END'],
        metadata: { user_id: 'u-1' },
        messages: [{ role: 'user', content: 'x' }],
        thinking: { type: 'adaptive' },
      },
      true,
      new ToolNames(),
    );
    assert.deepEqual(chat, {
      model: 'org/m',
      messages: [{ role: 'user', content: 'x' }],
      max_completion_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      stop: ['END'],
      user: 'u-1',
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('turns images (base64 and url) into image_url parts next to text', () => {
    const chat = translate({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    assert.deepEqual(chat.messages, [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        ],
      },
    ]);
  });

  it('turns tool_use into assistant tool_calls and tool_results into tool messages in order, dropping thinking', () => {
    const chat = translate({
      tools: [WEATHER],
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Two cities.', signature: 'sig' },
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Rome' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'no such city' }], is_error: true },
            { type: 'text', text: 'Thanks' },
          ],
        },
      ],
    });
    assert.deepEqual(chat.messages, [
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: no such city' },
      { role: 'user', content: 'Thanks' },
    ]);
    assert.deepEqual(chat.tools, [{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: WEATHER.input_schema } }]);
  });

  it('maps tool_choice auto/any/tool/none and disable_parallel_tool_use', () => {
    const choice = (tool_choice: JsonObject) => translate({ tools: [WEATHER], tool_choice, messages: [{ role: 'user', content: 'x' }] });
    assert.equal(choice({ type: 'auto' }).tool_choice, 'auto');
    assert.equal(choice({ type: 'any' }).tool_choice, 'required');
    assert.equal(choice({ type: 'none' }).tool_choice, 'none');
    const named = choice({ type: 'tool', name: 'get_weather', disable_parallel_tool_use: true });
    assert.deepEqual(named.tool_choice, { type: 'function', function: { name: 'get_weather' } });
    assert.equal(named.parallel_tool_calls, false);
    const toolless = translate({ tool_choice: { type: 'auto', disable_parallel_tool_use: true }, messages: [{ role: 'user', content: 'x' }] });
    assert.deepEqual([toolless.tool_choice, toolless.parallel_tool_calls], [undefined, undefined], 'nothing about tools without tools');
  });

  it('refuses what chat cannot carry with a 400 naming the parameter', () => {
    const refused = (body: JsonObject, param: string) =>
      assert.throws(
        () => translate(body),
        (error: unknown) => error instanceof InvalidRequestError && error.param === param,
      );
    refused({ messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'tools[0]');
    refused({ messages: [{ role: 'user', content: [{ type: 'container_upload', file_id: 'f' }] }] }, 'messages[0].content[0].type');
    refused({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }] }, 'messages[0].content[0].source');
    refused({ messages: [{ role: 'user', content: 'x' }], tools: [WEATHER], tool_choice: { type: 'tool' } }, 'tool_choice.name');
    refused({ messages: [{ role: 'user', content: 'x' }], tools: [{ name: 'f' }] }, 'tools[0].input_schema');
    refused({ messages: [{ role: 'assistant', content: [{ type: 'text', text: 5 }] }] }, 'messages[0].content[0].text');
  });
});

describe('messages: long tool names', () => {
  it('shortens names over 64 characters reversibly, to 55 characters, "_" and 8 hex digits', () => {
    const short = shortToolName(LONG_NAME);
    assert.equal(short.length, 64);
    assert.match(short, /^.{55}_[0-9a-f]{8}$/);
    assert.equal(shortToolName('get_weather'), 'get_weather');
    assert.notEqual(shortToolName(`${LONG_NAME}x`), short);
    const names = new ToolNames();
    const chat = translate(
      { tools: [{ ...WEATHER, name: LONG_NAME }], tool_choice: { type: 'tool', name: LONG_NAME }, messages: [{ role: 'user', content: 'x' }] },
      names,
    );
    assert.equal((chat.tools as { function: { name: string } }[])[0].function.name, short);
    assert.equal(names.toClient(short), LONG_NAME);
    assert.equal(names.toClient('other'), 'other');
  });

  it('maps shortened names back in answers and streams', () => {
    const names = new ToolNames();
    const short = names.toUpstream(LONG_NAME);
    const { message } = chatAnswerToMessage(
      {
        choices: [
          {
            message: { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: short, arguments: '{}' } }] },
            finish_reason: 'tool_calls',
          },
        ],
        usage: { prompt_tokens: 5, completion_tokens: 2 },
      },
      { model: 'm' },
      names,
      9,
    );
    assert.equal((message.content as JsonObject[])[0].name, LONG_NAME);
    const events = run([{ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'c1', function: { name: short, arguments: '{}' } }] } }] }], names);
    assert.equal(payloads(events).find((e) => e.type === 'content_block_start')!.content_block.name, LONG_NAME);
  });
});

describe('messages: chat answer → message', () => {
  const answer = (message: JsonObject, finish: string, usage: unknown = { prompt_tokens: 17, completion_tokens: 6 }, extra: JsonObject = {}) =>
    chatAnswerToMessage(
      { id: 'chatcmpl-1', choices: [{ index: 0, message, finish_reason: finish, ...extra }], usage },
      { model: 'org/m', stop_sequences: ['END'] },
      new ToolNames(),
      40,
    );

  it('answers thinking, text and tool_use blocks with parsed input and the stop reason', () => {
    const { message, estimated } = answer(
      {
        role: 'assistant',
        content: 'Let me check.',
        reasoning_content: 'Paris, so weather.',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      'tool_calls',
    );
    assert.equal(estimated, false);
    assert.deepEqual(message.content, [
      { type: 'thinking', thinking: 'Paris, so weather.', signature: '' },
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
    ]);
    assert.equal(message.stop_reason, 'tool_use');
    assert.deepEqual(message.usage, { input_tokens: 17, output_tokens: 6 });
    assert.equal(message.model, 'org/m');
    assert.match(String(message.id), /^msg_/);
  });

  it('maps length, stop, a matched stop sequence and tool calls under a plain stop', () => {
    assert.equal(answer({ content: 'x' }, 'length').message.stop_reason, 'max_tokens');
    assert.equal(answer({ content: 'x' }, 'stop').message.stop_reason, 'end_turn');
    const matched = answer({ content: 'x' }, 'stop', undefined, { stop_reason: 'END' }).message;
    assert.deepEqual([matched.stop_reason, matched.stop_sequence], ['stop_sequence', 'END']);
    assert.equal(answer({ content: null, tool_calls: [{ id: 'c', function: { name: 'f', arguments: '{}' } }] }, 'stop').message.stop_reason, 'tool_use');
  });

  it('never answers all-zero usage: missing or zero usage becomes the gateway count', () => {
    for (const usage of [null, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }]) {
      const { message, estimated } = answer({ content: 'Hello there' }, 'stop', usage);
      assert.equal(estimated, true);
      const u = message.usage as { input_tokens: number; output_tokens: number };
      assert.equal(u.input_tokens, 40);
      assert.ok(u.output_tokens > 0);
    }
  });

  it('reports cached prompt tokens as cache reads, outside input_tokens', () => {
    const { message } = answer({ content: 'x' }, 'stop', { prompt_tokens: 100, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 60 } });
    assert.deepEqual(message.usage, { input_tokens: 40, output_tokens: 3, cache_read_input_tokens: 60 });
  });

  it('parses tool arguments: objects, double-encoded JSON, empty text, and keeps text that is not JSON', () => {
    assert.deepEqual(parseToolInput('{"a":1}'), { a: 1 });
    assert.deepEqual(parseToolInput('"{\\"a\\":1}"'), { a: 1 });
    assert.deepEqual(parseToolInput({ a: 1 }), { a: 1 });
    assert.deepEqual(parseToolInput(''), {});
    assert.deepEqual(parseToolInput('{"a":'), { _raw_arguments: '{"a":' });
  });
});

// Recorded chunk sequences, as upstream servers sent them (trimmed to the fields that matter).
const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' };
const c = (delta: JsonObject, finish: string | null = null, extra: JsonObject = {}): JsonObject => ({
  ...head,
  choices: [{ index: 0, delta, finish_reason: finish }],
  ...extra,
});
const usageChunk = (prompt = 17, completion = 6): JsonObject => ({
  ...head,
  choices: [],
  usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
});
const tc = (index: number, fields: JsonObject): JsonObject => ({ tool_calls: [{ index, ...fields }] });

function run(chunks: JsonObject[], names = new ToolNames()): MessagesEvent[] {
  const machine = new ChatToMessages({ request: { model: 'org/m', stop_sequences: ['END'] }, names, promptTokens: 40, provider: 'hf' });
  return [...chunks.flatMap((chunk) => machine.push(chunk)), ...machine.end()];
}

/** An event's payload, read loosely: each test looks at the fields its event type has. */
interface Payload {
  type: string;
  index: number;
  content_block: { type: string; id: string; name: string };
  delta: { type: string; text?: string; partial_json?: string; thinking?: string; stop_reason?: string; stop_sequence?: string | null };
  message: { usage: { input_tokens: number } };
  usage: { input_tokens: number; output_tokens: number };
}

function payloads(events: MessagesEvent[]): Payload[] {
  return events.map((e) => JSON.parse(e.data) as Payload);
}

/** `type[:index][:detail]` per event, a compact picture of a stream. */
function shape(events: MessagesEvent[]): string[] {
  return payloads(events).map((e) => {
    if (e.type === 'content_block_start') return `start:${e.index}:${e.content_block.type}`;
    if (e.type === 'content_block_delta') return `delta:${e.index}:${e.delta.type}`;
    if (e.type === 'content_block_stop') return `stop:${e.index}`;
    if (e.type === 'message_delta') return `message_delta:${e.delta.stop_reason}`;
    return e.type;
  });
}

/** Each block's assembled text or JSON, by index. */
function assembled(events: MessagesEvent[]): Record<number, string> {
  const out: Record<number, string> = {};
  for (const e of payloads(events)) {
    if (e.type !== 'content_block_delta') continue;
    out[e.index] = (out[e.index] ?? '') + (e.delta.text ?? e.delta.partial_json ?? e.delta.thinking);
  }
  return out;
}

describe('messages: chat stream → events', () => {
  it('a plain text stream: one message_start with the gateway count, one block, usage from the usage-only chunk', () => {
    const events = run([c({ role: 'assistant', content: '' }), c({ content: 'Hel' }), c({ content: 'lo' }), c({}, 'stop'), usageChunk()]);
    assert.deepEqual(shape(events), [
      'message_start',
      'start:0:text',
      'delta:0:text_delta',
      'delta:0:text_delta',
      'stop:0',
      'message_delta:end_turn',
      'message_stop',
    ]);
    const [start, , , , , delta] = payloads(events);
    assert.deepEqual(start.message.usage, { input_tokens: 40, output_tokens: 0 });
    assert.deepEqual(delta.usage, { input_tokens: 17, output_tokens: 6 });
    assert.equal(events[5].estimated, undefined);
    assert.deepEqual(assembled(events), { 0: 'Hello' });
  });

  it('waits for the usage chunk before message_delta, and takes usage sent with the finish chunk', () => {
    const late = run([c({ content: 'Hi' }), c({}, 'stop')]);
    assert.equal(shape(late).filter((s) => s.startsWith('message_delta')).length, 1);
    const withFinish = run([
      c({ content: 'Hi' }, null, { usage: { prompt_tokens: 9, completion_tokens: 1 } }),
      c({}, 'length', { usage: { prompt_tokens: 9, completion_tokens: 4 } }),
    ]);
    assert.deepEqual(shape(withFinish), ['message_start', 'start:0:text', 'delta:0:text_delta', 'stop:0', 'message_delta:max_tokens', 'message_stop']);
    assert.deepEqual(payloads(withFinish)[4].usage, { input_tokens: 9, output_tokens: 4 });
  });

  it('without upstream usage, message_delta carries the gateway count, marked estimated', () => {
    const events = run([c({ content: 'Hello there, friend' }), c({}, 'stop'), { ...head, choices: [], usage: null }]);
    const delta = events.find((e) => e.event === 'message_delta')!;
    assert.equal(delta.estimated, true);
    const usage = JSON.parse(delta.data).usage;
    assert.equal(usage.input_tokens, 40);
    assert.ok(usage.output_tokens > 0);
  });

  it('reasoning then text: a thinking block, then a new text block', () => {
    const events = run([c({ reasoning_content: 'Think' }), c({ reasoning_content: 'ing.' }), c({ content: 'Answer' }), c({}, 'stop'), usageChunk()]);
    assert.deepEqual(shape(events), [
      'message_start',
      'start:0:thinking',
      'delta:0:thinking_delta',
      'delta:0:thinking_delta',
      'stop:0',
      'start:1:text',
      'delta:1:text_delta',
      'stop:1',
      'message_delta:end_turn',
      'message_stop',
    ]);
    assert.deepEqual(assembled(events), { 0: 'Thinking.', 1: 'Answer' });
  });

  it('text then two parallel tool calls streamed in pieces: a block each, arguments routed by index', () => {
    const events = run([
      c({ content: 'Checking both.' }),
      c(tc(0, { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } })),
      c(tc(0, { function: { arguments: '{"city":' } })),
      c(tc(0, { function: { arguments: '"Paris"}' } })),
      c(tc(1, { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"ci' } })),
      c(tc(1, { function: { arguments: 'ty":"Rome"}' } })),
      c({}, 'tool_calls'),
      usageChunk(),
    ]);
    assert.deepEqual(shape(events), [
      'message_start',
      'start:0:text',
      'delta:0:text_delta',
      'stop:0',
      'start:1:tool_use',
      'delta:1:input_json_delta',
      'delta:1:input_json_delta',
      'stop:1',
      'start:2:tool_use',
      'delta:2:input_json_delta',
      'delta:2:input_json_delta',
      'stop:2',
      'message_delta:tool_use',
      'message_stop',
    ]);
    const starts = payloads(events).filter((e) => e.type === 'content_block_start');
    assert.deepEqual(starts[1].content_block, { type: 'tool_use', id: 'call_a', name: 'get_weather', input: {} });
    assert.equal(starts[2].content_block.id, 'call_b');
    assert.deepEqual(assembled(events), { 0: 'Checking both.', 1: '{"city":"Paris"}', 2: '{"city":"Rome"}' });
  });

  it('ugly: parallel calls all numbered index 0 with distinct ids still get a block each', () => {
    const events = run([
      c(tc(0, { id: 'call_a', function: { name: 'f', arguments: '{"x":1}' } })),
      c(tc(0, { id: 'call_b', function: { name: 'g', arguments: '{"y":2}' } })),
      c({}, 'tool_calls'),
    ]);
    assert.deepEqual(shape(events), [
      'message_start',
      'start:0:tool_use',
      'delta:0:input_json_delta',
      'stop:0',
      'start:1:tool_use',
      'delta:1:input_json_delta',
      'stop:1',
      'message_delta:tool_use',
      'message_stop',
    ]);
    assert.deepEqual(assembled(events), { 0: '{"x":1}', 1: '{"y":2}' });
  });

  it("ugly: interleaved argument fragments land in their own call's block; the id repeated on every chunk is one call", () => {
    const events = run([
      c(tc(0, { id: 'call_a', function: { name: 'f', arguments: '{"x":' } })),
      c(tc(1, { id: 'call_b', function: { name: 'g', arguments: '{"y":' } })),
      c(tc(0, { id: 'call_a', function: { arguments: '1}' } })),
      c(tc(1, { function: { arguments: '2}' } })),
      c({}, 'tool_calls'),
      usageChunk(),
    ]);
    assert.deepEqual(assembled(events), { 0: '{"x":1}', 1: '{"y":2}' });
    assert.equal(payloads(events).filter((e) => e.type === 'content_block_start').length, 2);
    const stops = payloads(events)
      .filter((e) => e.type === 'content_block_stop')
      .map((e) => e.index);
    assert.deepEqual(stops.sort(), [0, 1]);
  });

  it('ugly: a tool call without an id or index, and arguments sent as an object', () => {
    const events = run([c({ tool_calls: [{ function: { name: 'f', arguments: { a: 1 } } }] }), c({}, 'stop')]);
    const start = payloads(events).find((e) => e.type === 'content_block_start')!;
    assert.match(start.content_block.id, /^toolu_/);
    assert.deepEqual(assembled(events), { 0: '{"a":1}' });
    assert.equal(shape(events).at(-2), 'message_delta:tool_use');
  });

  it('ugly: empty choices, chunks of another choice index, no finish_reason and no [DONE]', () => {
    const events = run([{ ...head, choices: [] }, c({ content: 'A' }), { ...head, choices: [{ index: 1, delta: { content: 'other' } }] }, c({ content: 'B' })]);
    assert.deepEqual(shape(events), [
      'message_start',
      'start:0:text',
      'delta:0:text_delta',
      'delta:0:text_delta',
      'stop:0',
      'message_delta:end_turn',
      'message_stop',
    ]);
    assert.deepEqual(assembled(events), { 0: 'AB' });
  });

  it('ugly: a stream with nothing at all still makes a whole message', () => {
    assert.deepEqual(shape(run([])), ['message_start', 'message_delta:end_turn', 'message_stop']);
  });

  it('ugly: usage arriving in the very first chunk sets message_start, and a stop sequence is reported', () => {
    const events = run([
      c({ content: 'x' }, null, { usage: { prompt_tokens: 12, completion_tokens: 0 } }),
      { ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop', stop_reason: 'END' }] },
      usageChunk(12, 1),
    ]);
    const all = payloads(events);
    assert.equal(all[0].message.usage.input_tokens, 12);
    const delta = all.find((e) => e.type === 'message_delta')!;
    assert.deepEqual(delta.delta, { stop_reason: 'stop_sequence', stop_sequence: 'END' });
    assert.deepEqual(delta.usage, { input_tokens: 12, output_tokens: 1 });
  });

  it('throws an upstream error chunk, and refuses chunks that are not JSON', async () => {
    async function* sse(...data: string[]) {
      for (const d of data) yield { data: d };
    }
    const options = { request: { model: 'm' }, names: new ToolNames(), promptTokens: 5, provider: 'hf' };
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const e of chatStreamToEvents(sse(JSON.stringify(c({ content: 'a' })), '{"error":"Model overloaded","error_type":"overloaded"}'), options))
          seen.push(e.event);
      })(),
      (error: unknown) => error instanceof UpstreamError && /overloaded/.test(error.message),
    );
    assert.deepEqual(seen, ['message_start', 'content_block_start', 'content_block_delta']);
    await assert.rejects(async () => {
      for await (const _ of chatStreamToEvents(sse('not json'), options)) void _;
    }, UpstreamError);
    const done: string[] = [];
    for await (const e of chatStreamToEvents(
      sse(JSON.stringify(c({ content: 'a' })), JSON.stringify(c({}, 'stop')), JSON.stringify(usageChunk()), '[DONE]'),
      options,
    ))
      done.push(e.event);
    assert.deepEqual(done, ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  });
});

describe('messages: counting and error types', () => {
  it('counts system, messages (system entries included), images and tools', () => {
    const base = countMessagesTokens({ messages: [{ role: 'user', content: 'hello' }] });
    assert.ok(countMessagesTokens({ system: 'Be brief.', messages: [{ role: 'user', content: 'hello' }] }) > base);
    assert.ok(
      countMessagesTokens({
        messages: [
          { role: 'user', content: 'hello' },
          { role: 'system', content: 'note' },
        ],
      }) > base,
    );
    assert.ok(countMessagesTokens({ messages: [{ role: 'user', content: 'hello' }], tools: [WEATHER] }) > base + 10);
    const image = countMessagesTokens({
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'x'.repeat(100_000) } }] }],
    });
    assert.ok(image >= 1000 && image < 1100);
  });

  it('names error types by status', () => {
    const types = [400, 401, 402, 403, 404, 405, 413, 429, 500, 502, 503, 504].map(messagesErrorType);
    assert.deepEqual(types, [
      'invalid_request_error',
      'authentication_error',
      'billing_error',
      'permission_error',
      'not_found_error',
      'invalid_request_error',
      'request_too_large',
      'rate_limit_error',
      'api_error',
      'api_error',
      'overloaded_error',
      'timeout_error',
    ]);
  });
});
