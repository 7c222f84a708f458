/** `/v1/messages` with the real Anthropic SDK, translated to chat completions in front of the mock router. */
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { countMessagesTokens } from '../../src/dialects/messages/count-tokens.ts';
import { HF_KEY, hfEntry, lastUsageRow, startGateway, usageMark, usageRow, type TestGateway } from '../helpers/gateway.ts';
import { MOCK_PIECES, MOCK_TEXT, MOCK_USAGE, startMock, TOOL_ANSWER, type MockUpstream } from '../helpers/mock-upstream.ts';

const MODEL = 'org/chat-model';
const HI: Anthropic.MessageParam[] = [{ role: 'user', content: 'Say hi' }];
const WEATHER: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const ASK_WEATHER: Anthropic.MessageParam = { role: 'user', content: 'Use get_weather for Paris.' };

describe('messages: the Anthropic SDK through the translation', () => {
  let hf: MockUpstream;
  let gateway: TestGateway;
  let secret: string;
  let client: Anthropic;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY, chunkDelayMs: 1 });
    gateway = await startGateway({ providers: { huggingface: hfEntry(hf.url) } });
    secret = (await gateway.createKey()).secret;
    client = new Anthropic({ apiKey: secret, baseURL: gateway.url, maxRetries: 0 });
  });

  after(async () => {
    await gateway.close();
    await hf.close();
  });

  it('creates a message: text, end_turn, the upstream usage, gateway_usage and a usage row', async () => {
    const { data, response } = await client.messages
      .create({ model: MODEL, max_tokens: 100, system: 'Be kind.', messages: HI, metadata: { user_id: 'user-7' } })
      .withResponse();
    assert.deepEqual(data.content, [{ type: 'text', text: MOCK_TEXT }]);
    assert.equal(data.stop_reason, 'end_turn');
    assert.equal(data.model, MODEL);
    assert.deepEqual(data.usage, { input_tokens: 17, output_tokens: 6 });
    const gatewayUsage = (data as unknown as { gateway_usage: { tokens_charged: number } }).gateway_usage;
    assert.equal(gatewayUsage.tokens_charged, 23);
    // The huggingface plugin sends the bound as max_tokens, which every router provider takes.
    assert.deepEqual(hf.lastRequest!.body, {
      model: MODEL,
      messages: [
        { role: 'system', content: 'Be kind.' },
        { role: 'user', content: 'Say hi' },
      ],
      max_tokens: 100,
      user: 'user-7',
    });
    const row = await usageRow(gateway, response.headers.get('x-request-id')!);
    assert.deepEqual(
      [row.endpoint, row.provider, row.model, row.prompt_tokens, row.completion_tokens, row.status, Boolean(row.stream), Boolean(row.estimated)],
      ['messages', 'huggingface', MODEL, 17, 6, 200, false, false],
    );
    assert.equal((data as { _request_id?: string | null })._request_id, row.request_id, 'the SDK reads the request id from its own header');
  });

  it('streams the exact event order, the assembled text and finalMessage() usage equal to the upstream counts', async () => {
    const stream = client.messages.stream({ model: MODEL, max_tokens: 100, messages: HI });
    const events: string[] = [];
    let startUsage: Anthropic.Usage | undefined;
    for await (const event of stream) {
      events.push(event.type === 'content_block_delta' ? `${event.type}:${event.index}:${event.delta.type}` : event.type);
      if (event.type === 'message_start') startUsage = event.message.usage;
    }
    assert.deepEqual(events, [
      'message_start',
      'content_block_start',
      ...MOCK_PIECES.map(() => 'content_block_delta:0:text_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    assert.ok(startUsage!.input_tokens > 0, 'message_start counts the prompt');
    const final = await stream.finalMessage();
    assert.deepEqual(
      final.content,
      [{ type: 'text', text: MOCK_TEXT, citations: undefined }].map(({ citations: _, ...block }) => block),
    );
    assert.equal(final.stop_reason, 'end_turn');
    assert.equal(final.usage.input_tokens, MOCK_USAGE.prompt_tokens);
    assert.equal(final.usage.output_tokens, MOCK_USAGE.completion_tokens);
    assert.deepEqual(hf.lastRequest!.body!.stream_options, { include_usage: true });
    const { response } = await stream.withResponse();
    const row = await usageRow(gateway, response.headers.get('x-request-id')!);
    assert.deepEqual([row.endpoint, row.prompt_tokens, row.completion_tokens, Boolean(row.stream), Boolean(row.estimated)], ['messages', 17, 6, true, false]);
  });

  it('round-trips a tool call as JSON: tool_use with parsed input, then the tool_result answered', async () => {
    const first = await client.messages.create({ model: MODEL, max_tokens: 100, tools: [WEATHER], messages: [ASK_WEATHER] });
    assert.equal(first.stop_reason, 'tool_use');
    assert.equal(first.content.length, 1);
    const use = first.content[0] as Anthropic.ToolUseBlock;
    assert.deepEqual([use.type, use.name, use.input], ['tool_use', 'get_weather', { city: 'Paris' }]);
    assert.deepEqual(hf.lastRequest!.body!.tools, [
      { type: 'function', function: { name: 'get_weather', description: WEATHER.description, parameters: WEATHER.input_schema } },
    ]);
    const second = await client.messages.create({
      model: MODEL,
      max_tokens: 100,
      tools: [WEATHER],
      messages: [
        ASK_WEATHER,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '{"sky":"sunny"}' }] },
      ],
    });
    assert.deepEqual(second.content, [{ type: 'text', text: TOOL_ANSWER }]);
    assert.equal(second.stop_reason, 'end_turn');
    assert.deepEqual((hf.lastRequest!.body!.messages as unknown[]).slice(1), [
      { role: 'assistant', content: null, tool_calls: [{ id: use.id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: use.id, content: '{"sky":"sunny"}' },
    ]);
  });

  it('round-trips a streamed tool call: input_json_delta pieces assemble to the input', async () => {
    const stream = client.messages.stream({ model: MODEL, max_tokens: 100, tools: [WEATHER], messages: [ASK_WEATHER] });
    const pieces: string[] = [];
    stream.on('inputJson', (partial) => pieces.push(partial));
    const final = await stream.finalMessage();
    assert.ok(pieces.length >= 2, 'arguments arrive in several pieces');
    assert.equal(pieces.join(''), '{"city":"Paris"}');
    assert.equal(final.stop_reason, 'tool_use');
    const use = final.content[0] as Anthropic.ToolUseBlock;
    assert.deepEqual([use.name, use.input], ['get_weather', { city: 'Paris' }]);
    const answer = await client.messages
      .stream({
        model: MODEL,
        max_tokens: 100,
        tools: [WEATHER],
        messages: [
          ASK_WEATHER,
          { role: 'assistant', content: final.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] },
        ],
      })
      .finalText();
    assert.equal(answer, TOOL_ANSWER);
  });

  it('answers two parallel tool calls each in its own block, JSON and streamed', async () => {
    const body = {
      model: 'org/parallel-tools',
      max_tokens: 100,
      tools: [WEATHER],
      messages: [{ role: 'user' as const, content: 'Weather in Paris and Rome?' }],
    };
    const json = await client.messages.create(body);
    const stream = client.messages.stream(body);
    const starts: number[] = [];
    stream.on('streamEvent', (event) => {
      if (event.type === 'content_block_start') starts.push(event.index);
    });
    const streamed = await stream.finalMessage();
    assert.deepEqual(starts, [0, 1]);
    for (const message of [json, streamed]) {
      assert.equal(message.stop_reason, 'tool_use');
      const uses = message.content as Anthropic.ToolUseBlock[];
      assert.deepEqual(
        uses.map((u) => [u.type, u.name, u.input]),
        [
          ['tool_use', 'get_weather', { city: 'Paris' }],
          ['tool_use', 'get_weather', { city: 'Rome' }],
        ],
      );
      assert.notEqual(uses[0].id, uses[1].id);
    }
  });

  it('sends reasoning_content as a thinking block before the text', async () => {
    const message = await client.messages.create({ model: 'org/reasoning', max_tokens: 100, messages: HI });
    assert.deepEqual(
      message.content.map((b) => b.type),
      ['thinking', 'text'],
    );
    const streamed = await client.messages.stream({ model: 'org/reasoning', max_tokens: 100, messages: HI }).finalMessage();
    assert.deepEqual(
      streamed.content.map((b) => b.type),
      ['thinking', 'text'],
    );
    assert.equal((streamed.content[0] as Anthropic.ThinkingBlock).thinking, (message.content[0] as Anthropic.ThinkingBlock).thinking);
  });

  it('counts tokens without charging or writing a usage row', async () => {
    const mark = await usageMark(gateway);
    const body = { model: MODEL, system: 'Be kind.', tools: [WEATHER], messages: [...HI, { role: 'assistant' as const, content: 'Hi!' }] };
    const counted = await client.messages.countTokens(body);
    assert.deepEqual(counted, { input_tokens: countMessagesTokens(body) });
    await client.messages.create({ model: MODEL, max_tokens: 5, messages: HI });
    await lastUsageRow(gateway, mark);
    const rows = await gateway.running.deps.db('usage').where('id', '>', mark);
    assert.deepEqual(
      rows.map((row: { endpoint: string; max_tokens?: number }) => row.endpoint),
      ['messages'],
      'only the model call left a row',
    );
    await assert.rejects(
      new Anthropic({ apiKey: 'sk-sy-wrong', baseURL: gateway.url, maxRetries: 0 }).messages.countTokens(body),
      Anthropic.AuthenticationError,
    );
  });

  it('folds system entries inside messages into the leading system message', async () => {
    await client.messages.create({
      model: MODEL,
      max_tokens: 50,
      system: [{ type: 'text', text: 'Base prompt.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'Say hi' }, { role: 'system', content: 'Agents: Explore, Plan.' } as unknown as Anthropic.MessageParam],
    });
    assert.deepEqual(hf.lastRequest!.body!.messages, [
      { role: 'system', content: 'Base prompt.\n\nAgents: Explore, Plan.' },
      { role: 'user', content: 'Say hi' },
    ]);
  });

  it('accepts Authorization: Bearer with a newer anthropic-version, and ?beta=true', async () => {
    const bearer = new Anthropic({
      authToken: secret,
      apiKey: null,
      baseURL: gateway.url,
      maxRetries: 0,
      defaultHeaders: { 'anthropic-version': '2026-10-21' },
    });
    const message = await bearer.beta.messages.create({ model: MODEL, max_tokens: 50, messages: HI, betas: ['interleaved-thinking-2025-05-14'] });
    assert.equal((message.content[0] as Anthropic.TextBlock).text, MOCK_TEXT);
    const raw = await fetch(`${gateway.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'anthropic-version': '2026-10-21', 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 50, messages: HI }),
    });
    assert.equal(raw.status, 200);
  });
});

describe('messages: errors in Anthropic shape', () => {
  let hf: MockUpstream;
  let gateway: TestGateway;
  let secret: string;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    gateway = await startGateway({ providers: { huggingface: hfEntry(hf.url) }, config: { server: { body_limit: '64kb' } } });
    secret = (await gateway.createKey()).secret;
  });

  after(async () => {
    await gateway.close();
    await hf.close();
  });

  const sdk = (key: string) => new Anthropic({ apiKey: key, baseURL: gateway.url, maxRetries: 0 });

  async function post(
    path: string,
    body: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: unknown; requestId: string | null; shouldRetry: string | null }> {
    const response = await fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json', ...headers },
      body,
    });
    return {
      status: response.status,
      body: await response.json(),
      requestId: response.headers.get('x-request-id'),
      shouldRetry: response.headers.get('x-should-retry'),
    };
  }

  it("tells clients not to retry a refusal that would repeat (x-should-retry: false): Claude Code retried a bad key's 401 for minutes", async () => {
    const refused = await post('/v1/messages?beta=true', JSON.stringify({ model: MODEL, max_tokens: 5, messages: HI }), { 'x-api-key': 'sk-sy-nope' });
    assert.deepEqual([refused.status, refused.shouldRetry], [401, 'false']);
    const unknownModel = await post('/v1/messages', JSON.stringify({ model: 'claude-nobody-serves', max_tokens: 5, messages: HI }));
    assert.deepEqual([unknownModel.status, unknownModel.shouldRetry], [404, 'false']);
    const loading = await post('/v1/messages', JSON.stringify({ model: 'org/loading', max_tokens: 5, messages: HI }));
    assert.deepEqual([loading.status, loading.shouldRetry], [503, null], 'a 5xx may well pass on a second try: the client decides');
  });

  it('a bad key is an AuthenticationError with authentication_error', async () => {
    const error = await sdk('sk-sy-nope')
      .messages.create({ model: MODEL, max_tokens: 10, messages: HI })
      .then(
        () => assert.fail('expected 401'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof Anthropic.AuthenticationError);
    assert.equal(error.error && (error.error as { type: string }).type, 'error');
    assert.equal((error.error as { error: { type: string } }).error.type, 'authentication_error');
    assert.match(String(error.requestID), /^req_/);
  });

  it('402 billing_error when credits cannot cover max_tokens, without calling the upstream', async () => {
    const poor = (await gateway.createKey({ credits_usd: 0.00001 })).secret;
    const before = hf.requests.length;
    const error = await sdk(poor)
      .messages.create({ model: MODEL, max_tokens: 1000, messages: HI })
      .then(
        () => assert.fail('expected 402'),
        (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
      );
    assert.equal(error.status, 402);
    assert.deepEqual(Object.keys(error.error as object), ['type', 'error']);
    assert.equal((error.error as { error: { type: string } }).error.type, 'billing_error');
    assert.equal(hf.requests.length, before);
  });

  it('429 rate_limit_error with Retry-After when the key is over its rate', async () => {
    const limited = sdk((await gateway.createKey({ rpm: 1 })).secret);
    await limited.messages.create({ model: MODEL, max_tokens: 10, messages: HI });
    const error = await limited.messages.create({ model: MODEL, max_tokens: 10, messages: HI }).then(
      () => assert.fail('expected 429'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof Anthropic.RateLimitError);
    assert.equal((error.error as { error: { type: string } }).error.type, 'rate_limit_error');
    assert.ok(Number(error.headers?.get('retry-after')) >= 1);
  });

  it('middleware and validation errors take the same shape, with x-request-id', async () => {
    const cases: [string, string, Record<string, string>, number, string][] = [
      ['/v1/messages', '{"model":', {}, 400, 'invalid_request_error'],
      ['/v1/messages', JSON.stringify({ model: MODEL, messages: HI }), {}, 400, 'invalid_request_error'],
      ['/v1/messages?beta=true', JSON.stringify({ model: 'claude-nobody-serves', max_tokens: 5, messages: HI }), {}, 404, 'not_found_error'],
      [
        '/v1/messages',
        JSON.stringify({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'x'.repeat(70_000) }] }),
        {},
        413,
        'request_too_large',
      ],
      ['/v1/messages/count_tokens', '[]', {}, 400, 'invalid_request_error'],
      ['/v1/messages/count_tokens', JSON.stringify({ model: MODEL, messages: HI }), { 'x-api-key': '' }, 401, 'authentication_error'],
      ['/v1/messages', JSON.stringify({ model: 'org/html-500', max_tokens: 5, messages: HI }), {}, 502, 'api_error'],
      ['/v1/messages', JSON.stringify({ model: 'org/loading', max_tokens: 5, messages: HI }), {}, 503, 'overloaded_error'],
    ];
    for (const [path, body, headers, status, type] of cases) {
      const answer = await post(path, body, headers);
      assert.equal(answer.status, status, `${path} ${body.slice(0, 40)}`);
      assert.equal((answer.body as { type: string }).type, 'error');
      assert.equal((answer.body as { error: { type: string } }).error.type, type, `${path} ${body.slice(0, 40)}`);
      assert.equal(typeof (answer.body as { error: { message: string } }).error.message, 'string');
      assert.match(answer.requestId!, /^req_/);
    }
    const wrongMethod = await fetch(`${gateway.url}/v1/messages`, { headers: { 'x-api-key': secret } });
    assert.equal(wrongMethod.status, 405);
    assert.equal(((await wrongMethod.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
    const chat = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', body: '{"model":' });
    assert.ok(((await chat.json()) as { error: { param: unknown } }).error.param !== undefined, 'other routes keep the OpenAI shape');
  });

  it('malformed bodies get a 400 invalid_request_error naming what is wrong, never a 5xx', async () => {
    const ok = { model: MODEL, max_tokens: 10 };
    const bodies: Record<string, unknown>[] = [
      { ...ok, messages: [] },
      { ...ok, messages: [{ role: 'tool', content: 'x' }] },
      { ...ok, messages: [{ role: 'user', content: null }] },
      { ...ok, messages: [{ role: 'user', content: [null] }] },
      { ...ok, messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] },
      { ...ok, messages: [{ role: 'user', content: [{ type: 'tool_result', content: 'no id' }] }] },
      { ...ok, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'image', source: 'x' }] }] }] },
      { ...ok, messages: [{ role: 'assistant', content: [{ type: 'tool_use', name: 'f' }] }] },
      { ...ok, messages: HI, system: 5 },
      { ...ok, messages: HI, system: [{ type: 'image' }] },
      { ...ok, messages: HI, tools: [{ name: 'f' }] },
      { ...ok, messages: HI, tools: [{ name: 'f', input_schema: {} }], tool_choice: { type: 'sometimes' } },
      { ...ok, messages: HI, max_tokens: 0 },
      { ...ok, messages: HI, max_tokens: 'many' },
      { ...ok, messages: HI, stream: 'yes' },
    ];
    const sentBefore = hf.requests.length;
    for (const body of bodies) {
      const answer = await post('/v1/messages', JSON.stringify(body));
      const label = JSON.stringify(body).slice(30, 160);
      assert.equal(answer.status, 400, label);
      assert.equal((answer.body as { error: { type: string } }).error.type, 'invalid_request_error', label);
      assert.match((answer.body as { error: { message: string } }).error.message, /Invalid '|expected|Required|Too small/i, label);
    }
    assert.equal(hf.requests.length, sentBefore, 'refused before any upstream call');
  });

  it('a mid-stream upstream failure ends the stream with an error event', async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'org/midstream-error', max_tokens: 50, stream: true, messages: HI }),
    });
    const text = await response.text();
    const events = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    assert.deepEqual(events, ['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'error']);
    const last = JSON.parse(text.trim().split('\n').at(-1)!.slice('data: '.length));
    assert.equal(last.type, 'error');
    assert.equal(last.error.type, 'api_error');
    assert.match(last.error.message, /overloaded/i);
    await assert.rejects(sdk(secret).messages.stream({ model: 'org/midstream-error', max_tokens: 50, messages: HI }).finalMessage(), /overloaded/i);
    const row = await usageRow(gateway, response.headers.get('x-request-id')!);
    assert.deepEqual([row.status, row.error_code], [200, 'upstream_error']);
    assert.ok(row.completion_tokens > 0, 'what was streamed is charged');
  });

  it('a client abort aborts the upstream and charges the partial usage in one row', async () => {
    const mark = await usageMark(gateway);
    const metered = (await gateway.createKey({ credits_usd: 1 })).secret;
    const stream = sdk(metered).messages.stream({ model: 'org/endless', max_tokens: 500, messages: HI });
    const aborted = hf.nextAbort();
    let deltas = 0;
    await new Promise<void>((resolve) => {
      stream.on('text', () => {
        if (++deltas === 5) {
          stream.abort();
          resolve();
        }
      });
    });
    await stream.done().catch(() => undefined);
    await aborted;
    const row = await lastUsageRow(gateway, mark);
    // The answer had begun (200) when the client left.
    assert.deepEqual([row.endpoint, row.status, row.error_code, Boolean(row.estimated)], ['messages', 200, 'client_closed_request', true]);
    assert.ok(row.prompt_tokens > 0 && row.completion_tokens >= 5, `partial usage ${row.prompt_tokens}/${row.completion_tokens}`);
    assert.ok(row.cost_micro > 0, 'the partial usage is charged');
    await gateway.running.deps.writer.flush();
    const rows = await gateway.running.deps.db('usage').where('id', '>', mark);
    assert.equal(rows.length, 1);
  });
});
