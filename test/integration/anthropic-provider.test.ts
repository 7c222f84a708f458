/** Claude as a provider: the `openai` SDK's chat completions and Responses reach a mock Anthropic API through the `anthropic` plugin. */
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import type { APIError } from 'openai';
import { CANARY, lastUsageRow, startGateway, usageMark, usageRow, type TestGateway } from '../helpers/gateway.ts';
import {
  ANTHROPIC_KEY,
  ANTHROPIC_USAGE,
  anthropicEntry,
  CLAUDE_PIECES,
  CLAUDE_TEXT,
  CLAUDE_THINKING,
  startMockAnthropic,
  TOOL_PREAMBLE,
  TOOL_RESULT_ANSWER,
  type MockAnthropic,
} from '../helpers/mock-anthropic.ts';

const MODEL = 'claude-sonnet-4-5';
const PROMPT = ANTHROPIC_USAGE.input_tokens + ANTHROPIC_USAGE.cache_read_input_tokens + ANTHROPIC_USAGE.cache_creation_input_tokens;
const CHAT_USAGE = {
  prompt_tokens: PROMPT,
  completion_tokens: ANTHROPIC_USAGE.output_tokens,
  total_tokens: PROMPT + ANTHROPIC_USAGE.output_tokens,
  prompt_tokens_details: { cached_tokens: ANTHROPIC_USAGE.cache_read_input_tokens, cache_write_tokens: ANTHROPIC_USAGE.cache_creation_input_tokens },
};
/** USD per million tokens for claude-*; the cache rates differ from input so a wrong split shows in the cost. */
const PRICES = { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 };
const WEATHER: OpenAI.Chat.ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

type WithGatewayUsage = { gateway_usage: { cost_usd: number; tokens_charged: number } };

/** The expected cost in micro-USD: tokens × USD per million for each kind, rounded up once for the whole call. */
const EXPECTED_MICRO = Math.ceil(
  ANTHROPIC_USAGE.input_tokens * PRICES.input +
    ANTHROPIC_USAGE.cache_read_input_tokens * PRICES.cache_read +
    ANTHROPIC_USAGE.cache_creation_input_tokens * PRICES.cache_write +
    ANTHROPIC_USAGE.output_tokens * PRICES.output,
);

describe('anthropic provider: chat completions and Responses translated to Messages', () => {
  let claude: MockAnthropic;
  let gateway: TestGateway;
  let client: OpenAI;

  before(async () => {
    claude = await startMockAnthropic();
    gateway = await startGateway({
      providers: { anthropic: anthropicEntry(claude.url) },
      config: { pricing: { 'claude-*': PRICES, default: { input: 0.5, output: 1.5 } }, metering: { default_max_tokens: 2048 } },
    });
    client = gateway.client((await gateway.createKey()).secret);
  });

  after(async () => {
    await gateway.close();
    await claude.close();
  });

  it('translates a chat request to Messages, with the key, the version and the gateway cap as max_tokens', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: MODEL,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: 'Answer in English.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: `Hi ${CANARY}` },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            ],
          },
          { role: 'assistant', content: 'Hello.' },
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] },
        ],
        stop: 'END',
        temperature: 0.2,
        user: 'user-42',
        seed: 7,
      })
      .withResponse();
    const sent = claude.lastRequest!;
    assert.equal(sent.path, '/v1/messages');
    assert.equal(sent.headers['x-api-key'], ANTHROPIC_KEY);
    assert.equal(sent.headers['anthropic-version'], '2023-06-01');
    assert.equal(sent.headers.authorization, undefined);
    assert.deepEqual(sent.body, {
      model: MODEL,
      system: [
        { type: 'text', text: 'Be brief.' },
        { type: 'text', text: 'Answer in English.' },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: `Hi ${CANARY}` },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          ],
        },
        { role: 'assistant', content: [{ type: 'text', text: 'Hello.' }] },
        { role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } }] },
      ],
      max_tokens: 2048,
      temperature: 0.2,
      stop_sequences: ['END'],
      metadata: { user_id: 'user-42' },
    });
    assert.equal(response.headers.get('x-upstream-request-id'), 'req_mock_1');
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.id, 'msg_mock_01');
    assert.deepEqual(data.choices[0].message, { role: 'assistant', content: CLAUDE_TEXT });
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.deepEqual(data.usage, CHAT_USAGE);
    const row = await usageRow(gateway, response.headers.get('x-request-id')!);
    assert.deepEqual([row.endpoint, row.provider, row.prompt_tokens, row.completion_tokens, row.status], ['chat', 'anthropic', PROMPT, 9, 200]);
  });

  it("sends the client's max_completion_tokens and a single system text as a string", async () => {
    await client.chat.completions.create({
      model: MODEL,
      max_completion_tokens: 77,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
    });
    assert.equal(claude.lastRequest!.body!.max_tokens, 77);
    assert.equal(claude.lastRequest!.body!.system, 'Be brief.');
  });

  it('prices plain input, cache reads, cache writes and output each at its own rate, exactly', async () => {
    const { data, response } = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    const micro = EXPECTED_MICRO;
    assert.equal(micro, 42 + 600 + 1125 + 135);
    assert.equal((data as unknown as WithGatewayUsage).gateway_usage.cost_usd, micro / 1e6);
    const row = await usageRow(gateway, response.headers.get('x-request-id')!);
    assert.equal(row.cost_micro, micro);
  });

  it('streams text chunks and a final usage chunk with the same usage mapping', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(claude.lastRequest!.body!.stream, true);
    assert.equal(claude.lastRequest!.body!.max_tokens, 2048);
    assert.equal('stream_options' in claude.lastRequest!.body!, false);
    assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
    const text = chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, CLAUDE_TEXT);
    assert.deepEqual(
      chunks.filter((chunk) => chunk.choices[0]?.delta?.content).map((chunk) => chunk.choices[0].delta.content),
      CLAUDE_PIECES,
    );
    assert.equal(chunks.at(-2)!.choices[0].finish_reason, 'stop');
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, CHAT_USAGE);
    assert.equal((last as unknown as WithGatewayUsage).gateway_usage.tokens_charged, PROMPT + 9);
    assert.equal((last as unknown as WithGatewayUsage).gateway_usage.cost_usd, EXPECTED_MICRO / 1e6);
  });

  it('maps tools and tool_choice, and answers tool_use blocks as tool_calls with JSON arguments', async () => {
    const data = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [WEATHER],
      tool_choice: 'required',
      parallel_tool_calls: false,
    });
    const sent = claude.lastRequest!.body!;
    assert.deepEqual(sent.tools, [{ name: 'get_weather', description: 'Weather in a city', input_schema: WEATHER.function.parameters }]);
    assert.deepEqual(sent.tool_choice, { type: 'any', disable_parallel_tool_use: true });
    const message = data.choices[0].message;
    assert.equal(message.content, TOOL_PREAMBLE);
    assert.deepEqual(message.tool_calls, [{ id: 'toolu_mock_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);
    assert.equal(data.choices[0].finish_reason, 'tool_calls');
  });

  it('maps the other tool_choice values', async () => {
    const choices: [OpenAI.Chat.ChatCompletionToolChoiceOption, unknown][] = [
      ['auto', { type: 'auto' }],
      ['none', { type: 'none' }],
      [
        { type: 'function', function: { name: 'get_weather' } },
        { type: 'tool', name: 'get_weather' },
      ],
    ];
    for (const [choice, expected] of choices) {
      await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Weather?' }], tools: [WEATHER], tool_choice: choice });
      assert.deepEqual(claude.lastRequest!.body!.tool_choice, expected);
    }
  });

  it('sends a tool round trip back as tool_use blocks and one user turn of tool_result blocks', async () => {
    const data = await client.chat.completions.create({
      model: MODEL,
      tools: [WEATHER],
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: TOOL_PREAMBLE,
          tool_calls: [
            { id: 'toolu_mock_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'toolu_mock_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_mock_1', content: 'sunny' },
        { role: 'tool', tool_call_id: 'toolu_mock_2', content: [{ type: 'text', text: 'rainy' }] },
      ],
    });
    assert.deepEqual(claude.lastRequest!.body!.messages, [
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: TOOL_PREAMBLE },
          { type: 'tool_use', id: 'toolu_mock_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_mock_2', name: 'get_weather', input: { city: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_mock_1', content: 'sunny' },
          { type: 'tool_result', tool_use_id: 'toolu_mock_2', content: [{ type: 'text', text: 'rainy' }] },
        ],
      },
    ]);
    assert.equal(data.choices[0].message.content, TOOL_RESULT_ANSWER);
  });

  it('answers two parallel tool calls in one JSON answer', async () => {
    const data = await client.chat.completions.create({
      model: `${MODEL}-parallel`,
      messages: [{ role: 'user', content: 'Paris and Rome?' }],
      tools: [WEATHER],
    });
    assert.deepEqual(
      data.choices[0].message.tool_calls!.map((call) => [call.id, call.type === 'function' && call.function.arguments]),
      [
        ['toolu_mock_1', '{"city":"Paris"}'],
        ['toolu_mock_2', '{"city":"Rome"}'],
      ],
    );
  });

  it('streams two parallel tool calls with their own indexes and arguments from input_json_delta pieces', async () => {
    const stream = await client.chat.completions.create({
      model: `${MODEL}-parallel`,
      messages: [{ role: 'user', content: 'Paris and Rome?' }],
      tools: [WEATHER],
      stream: true,
    });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const calls = new Map<number, { id?: string; name?: string; arguments: string; pieces: number }>();
    let text = '';
    for (const chunk of chunks) {
      const delta = chunk.choices[0]?.delta;
      text += delta?.content ?? '';
      for (const call of delta?.tool_calls ?? []) {
        const entry = calls.get(call.index) ?? { arguments: '', pieces: 0 };
        if (call.id) entry.id = call.id;
        if (call.function?.name) entry.name = call.function.name;
        if (call.function?.arguments) {
          entry.arguments += call.function.arguments;
          entry.pieces++;
        }
        calls.set(call.index, entry);
      }
    }
    assert.equal(text, TOOL_PREAMBLE);
    assert.deepEqual(
      [...calls.entries()],
      [
        [0, { id: 'toolu_mock_1', name: 'get_weather', arguments: '{"city": "Paris"}', pieces: 2 }],
        [1, { id: 'toolu_mock_2', name: 'get_weather', arguments: '{"city": "Rome"}', pieces: 2 }],
      ],
    );
    assert.equal(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0].finish_reason, 'tool_calls');
    // The SDK's own assembler agrees.
    const runner = client.chat.completions.stream({ model: `${MODEL}-parallel`, messages: [{ role: 'user', content: 'Paris and Rome?' }], tools: [WEATHER] });
    const final = await runner.finalChatCompletion();
    assert.deepEqual(
      final.choices[0].message.tool_calls!.map((call) => call.type === 'function' && JSON.parse(call.function.arguments)),
      [{ city: 'Paris' }, { city: 'Rome' }],
    );
  });

  it('passes thinking through as reasoning_content, JSON and streamed', async () => {
    const body = { model: MODEL, messages: [{ role: 'user' as const, content: 'Hi' }], thinking: { type: 'enabled', budget_tokens: 1024 } };
    const data = await client.chat.completions.create(body);
    assert.deepEqual(claude.lastRequest!.body!.thinking, { type: 'enabled', budget_tokens: 1024 });
    assert.equal((data.choices[0].message as unknown as { reasoning_content: string }).reasoning_content, CLAUDE_THINKING);
    assert.equal(data.choices[0].message.content, CLAUDE_TEXT);
    const stream = await client.chat.completions.create({ ...body, stream: true });
    let reasoning = '';
    for await (const chunk of stream) reasoning += (chunk.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '';
    assert.equal(reasoning, CLAUDE_THINKING);
  });

  it('answers /v1/responses through the translation, JSON', async () => {
    const { data, response } = await client.responses.create({ model: MODEL, instructions: 'Be brief.', input: 'Hi', max_output_tokens: 300 }).withResponse();
    const sent = claude.lastRequest!.body!;
    assert.deepEqual([sent.system, sent.max_tokens, sent.messages], ['Be brief.', 300, [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }]]);
    assert.equal(data.output_text, CLAUDE_TEXT);
    assert.equal(data.status, 'completed');
    assert.deepEqual(
      [data.usage?.input_tokens, data.usage?.output_tokens, data.usage?.input_tokens_details],
      [PROMPT, 9, { cached_tokens: 2000, cache_write_tokens: 300 }],
    );
    assert.equal((data as unknown as WithGatewayUsage).gateway_usage.cost_usd, EXPECTED_MICRO / 1e6);
    const row = await usageRow(gateway, response.headers.get('x-request-id')!);
    assert.deepEqual(
      [row.endpoint, row.provider, row.prompt_tokens, row.completion_tokens, row.cost_micro],
      ['responses', 'anthropic', PROMPT, 9, EXPECTED_MICRO],
    );
  });

  it('answers /v1/responses through the translation, streamed, tool calls included', async () => {
    const stream = await client.responses.create({ model: MODEL, input: 'Hi', stream: true });
    const types: string[] = [];
    let text = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    assert.equal(types[0], 'response.created');
    assert.equal(types.at(-1), 'response.completed');
    assert.equal(text, CLAUDE_TEXT);
    assert.equal(completed?.usage?.input_tokens, PROMPT);
    assert.equal((completed as unknown as WithGatewayUsage).gateway_usage.cost_usd, EXPECTED_MICRO / 1e6);
    const tools = await client.responses.create({
      model: MODEL,
      input: 'Weather in Paris?',
      tools: [{ type: 'function', name: 'get_weather', parameters: WEATHER.function.parameters!, strict: false }],
      stream: true,
    });
    const calls: OpenAI.Responses.ResponseFunctionToolCall[] = [];
    for await (const event of tools) if (event.type === 'response.output_item.done' && event.item.type === 'function_call') calls.push(event.item);
    assert.deepEqual(
      calls.map((call) => [call.call_id, call.name, JSON.parse(call.arguments)]),
      [['toolu_mock_1', 'get_weather', { city: 'Paris' }]],
    );
  });

  it('refuses what Messages cannot express with a clear 400', async () => {
    await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], n: 2 }), (error: APIError) => {
      assert.equal(error.status, 400);
      assert.equal((error.error as { param?: string }).param, 'n');
      return true;
    });
    const before = claude.requests.length;
    await assert.rejects(
      client.chat.completions.create({
        model: MODEL,
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{not json' } }] },
        ],
      }),
      (error: APIError) => error.status === 400 && /valid JSON/.test(error.message),
    );
    assert.equal(claude.requests.length, before, 'nothing was sent upstream');
  });

  it('maps an overloaded 529 to 503 upstream_unavailable and a 429 to 429 with Retry-After', async () => {
    await assert.rejects(client.chat.completions.create({ model: `${MODEL}-overloaded`, messages: [{ role: 'user', content: 'Hi' }] }), (error: APIError) => {
      assert.equal(error.status, 503);
      assert.equal(error.code, 'upstream_unavailable');
      assert.match(error.message, /529: Overloaded/);
      return true;
    });
    await assert.rejects(client.chat.completions.create({ model: `${MODEL}-rate-limited`, messages: [{ role: 'user', content: 'Hi' }] }), (error: APIError) => {
      assert.equal(error.status, 429);
      assert.equal(error.code, 'upstream_rate_limited');
      assert.equal(error.headers?.get('retry-after'), '3');
      return true;
    });
  });

  it("keeps Anthropic's 400 a 400 with its message: the request itself must change", async () => {
    await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], temperature: 1.5 }), (error: APIError) => {
      assert.equal(error.status, 400);
      assert.equal(error.type, 'invalid_request_error');
      assert.match(error.message, /temperature: range: 0\.\.1/);
      return true;
    });
  });

  it('ends a stream whose upstream sends an error event with an error event', async () => {
    const response = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: `${MODEL}-midstream-error`, messages: [{ role: 'user', content: 'Hi' }], stream: true }),
    });
    assert.equal(response.status, 200);
    const frames = (await response.text()).split('\n\n').filter(Boolean);
    const contents = frames.slice(0, -1).map((frame) => JSON.parse(frame.slice('data: '.length)).choices[0].delta.content);
    assert.deepEqual(contents, ['', 'Hello', ' from']);
    const last = JSON.parse(frames.at(-1)!.slice('data: '.length));
    assert.equal(last.error.code, 'upstream_unavailable');
    assert.match(last.error.message, /failed mid-stream: Overloaded/);
  });

  it('aborts the upstream Messages stream when the client leaves a translated stream, and charges what was streamed', async () => {
    const mark = await usageMark(gateway);
    const aborted = claude.nextAbort();
    const stream = await client.chat.completions.create({ model: `${MODEL}-endless`, messages: [{ role: 'user', content: 'Talk.' }], stream: true });
    let received = 0;
    // Leaving the loop is how SDK users stop a stream: the SDK aborts its request.
    for await (const chunk of stream) if (chunk.choices[0]?.delta?.content && ++received === 3) break;
    await aborted;
    const row = await lastUsageRow(gateway, mark);
    assert.deepEqual([row.status, row.error_code, row.estimated], [200, 'client_closed_request', 1], 'the 200 was sent before the client left');
    assert.ok(row.completion_tokens >= 3, `charged ${row.completion_tokens} streamed tokens`);
  });

  it('lists Claude models in OpenAI shape', async () => {
    const models = await client.models.list();
    const claudeModels = models.data.filter((model) => model.owned_by === 'anthropic');
    assert.deepEqual(
      claudeModels.map((model) => [model.id, model.created]),
      [
        ['claude-sonnet-4-5-20250929', Date.parse('2025-09-29T00:00:00Z') / 1000],
        ['claude-haiku-4-5-20251001', Date.parse('2025-10-01T00:00:00Z') / 1000],
      ],
    );
    assert.equal(claude.requests.find((request) => request.path === '/v1/models')?.headers['anthropic-version'], '2023-06-01');
  });
});

describe('anthropic provider: configuration and provider errors', () => {
  let claude: MockAnthropic;
  let gateway: TestGateway;
  let client: OpenAI;

  before(async () => {
    claude = await startMockAnthropic();
    gateway = await startGateway({
      providers: {
        // First: auto-detection takes the first entry whose globs match.
        'anthropic-wrong-key': anthropicEntry(claude.url, { api_key: 'sk-ant-wrong', models: ['claude-wrong-*'] }),
        anthropic: anthropicEntry(claude.url, { api_key: '' }),
      },
      config: { pricing: { default: { input: 1, output: 2 } } },
    });
    client = gateway.client((await gateway.createKey()).secret);
  });

  after(async () => {
    await gateway.close();
    await claude.close();
  });

  it('answers 503 provider_not_configured naming ANTHROPIC_API_KEY when the key is unset', async () => {
    await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }), (error: APIError) => {
      assert.equal(error.status, 503);
      assert.equal(error.code, 'provider_not_configured');
      assert.match(error.message, /ANTHROPIC_API_KEY/);
      return true;
    });
    assert.equal(claude.requests.length, 0, 'nothing was sent without a key');
  });

  it('answers 502 upstream_error when Anthropic refuses the provider key, without repeating it', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'claude-wrong-1', messages: [{ role: 'user', content: 'Hi' }] }), (error: APIError) => {
      assert.equal(error.status, 502);
      assert.equal(error.code, 'upstream_error');
      assert.match(error.message, /401: invalid x-api-key/);
      assert.doesNotMatch(error.message, /sk-ant-wrong/);
      return true;
    });
  });

  it('prices cache tokens at the input price when no cache rates are configured', async () => {
    const working = await startGateway({ providers: { anthropic: anthropicEntry(claude.url) }, config: { pricing: { default: { input: 1, output: 2 } } } });
    try {
      const key = (await working.createKey()).secret;
      const data = await working.client(key).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] });
      assert.equal((data as unknown as WithGatewayUsage).gateway_usage.cost_usd, (PROMPT * 1 + ANTHROPIC_USAGE.output_tokens * 2) / 1e6);
    } finally {
      await working.close();
    }
  });
});
