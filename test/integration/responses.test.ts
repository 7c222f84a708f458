/** `/v1/responses` through the gateway with the `openai` SDK: translated (HF, compatible) and native (OpenAI), JSON and streams. */
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import type { APIError } from 'openai';
import { getKey } from '../../src/db/keys-repo.ts';
import { CANARY, compatibleEntry, HF_KEY, hfEntry, OPENAI_KEY, openaiEntry, startGateway, usageRow, type TestGateway } from '../helpers/gateway.ts';
import { DEFAULT_MICRO, LLAMA_MICRO } from '../helpers/costs.ts';
import { MOCK_PIECES, MOCK_REASONING, MOCK_TEXT, MOCK_USAGE, startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

type Event = OpenAI.Responses.ResponseStreamEvent;
type GatewayUsage = { tokens_charged: number; cost_usd: number; request_ms: number; estimated?: true };
const gatewayUsageOf = (value: unknown): GatewayUsage => (value as { gateway_usage: GatewayUsage }).gateway_usage;

const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';
const REQUIRED_KEYS = [
  'id',
  'object',
  'created_at',
  'error',
  'incomplete_details',
  'instructions',
  'model',
  'tools',
  'output',
  'parallel_tool_calls',
  'metadata',
  'tool_choice',
  'temperature',
  'top_p',
];

async function collect(stream: AsyncIterable<Event>): Promise<Event[]> {
  const events: Event[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

function assertSequence(events: Event[]): void {
  assert.deepEqual(
    events.map((event) => event.sequence_number),
    events.map((_event, index) => index),
    'sequence numbers count up from 0',
  );
}

describe('responses', () => {
  let hf: MockUpstream;
  let openai: MockUpstream;
  let local: MockUpstream;
  let vllm: MockUpstream;
  let gateway: TestGateway;
  let client: OpenAI;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    openai = await startMock({ flavor: 'openai', apiKey: OPENAI_KEY });
    local = await startMock({ flavor: 'compatible', streamUsage: false });
    vllm = await startMock({ flavor: 'compatible', responses: true, responsesEventLines: false });
    gateway = await startGateway({
      providers: {
        openai: openaiEntry(openai.url),
        local: compatibleEntry(local.url, { supports: { stream_usage: false } }),
        vllm: compatibleEntry(vllm.url, { models: ['qwen*'], supports: { responses: true } }),
        huggingface: hfEntry(hf.url),
      },
    });
    client = gateway.client((await gateway.createKey()).secret);
  });

  after(async () => {
    await gateway.close();
    for (const mock of [hf, openai, local, vllm]) await mock.close();
  });

  describe('translated to chat completions (huggingface)', () => {
    it('answers a response object with output_text, usage and gateway_usage, billed to the micro-dollar', async () => {
      const { data, response } = await client.responses.create({ model: LLAMA, input: `Hi ${CANARY}`, instructions: 'Be brief.' }).withResponse();
      assert.equal(data.object, 'response');
      assert.match(data.id, /^resp_[0-9a-f]{32}$/);
      assert.equal(data.status, 'completed');
      assert.equal(data.output_text, MOCK_TEXT);
      for (const key of REQUIRED_KEYS) assert.ok(key in data, `response has '${key}'`);
      assert.equal(data.instructions, 'Be brief.');
      const message = data.output[0] as OpenAI.Responses.ResponseOutputMessage;
      assert.equal(message.type, 'message');
      assert.match(message.id, /^msg_/);
      assert.deepEqual(message.content, [{ type: 'output_text', text: MOCK_TEXT, annotations: [], logprobs: [] }]);
      assert.deepEqual(data.usage, {
        input_tokens: MOCK_USAGE.prompt_tokens,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: MOCK_USAGE.completion_tokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: MOCK_USAGE.total_tokens,
      });
      assert.deepEqual(hf.lastRequest!.body!.messages, [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: `Hi ${CANARY}` },
      ]);
      const usage = gatewayUsageOf(data);
      assert.equal(usage.tokens_charged, 23);
      assert.equal(usage.cost_usd, LLAMA_MICRO / 1e6);
      const row = await usageRow(gateway, response.headers.get('x-request-id')!);
      assert.equal(row.endpoint, 'responses');
      assert.equal(row.provider, 'huggingface');
      assert.deepEqual(
        [row.prompt_tokens, row.completion_tokens, Number(row.cost_micro), Boolean(row.stream), Boolean(row.estimated)],
        [MOCK_USAGE.prompt_tokens, MOCK_USAGE.completion_tokens, LLAMA_MICRO, false, false],
      );
    });

    it('streams the Responses event sequence and ends with response.completed carrying usage and gateway_usage', async () => {
      const { data: stream, response } = await client.responses.create({ model: LLAMA, input: 'Hi', stream: true }).withResponse();
      const events = await collect(stream);
      assertSequence(events);
      const types = events.map((event) => event.type);
      assert.deepEqual(types, [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        ...MOCK_PIECES.map(() => 'response.output_text.delta'),
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ]);
      const deltas = events.filter((event): event is OpenAI.Responses.ResponseTextDeltaEvent => event.type === 'response.output_text.delta');
      assert.deepEqual(
        deltas.map((event) => event.delta),
        MOCK_PIECES,
      );
      const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
      assert.equal(completed.response.status, 'completed');
      assert.equal(completed.response.usage?.total_tokens, 23);
      assert.equal(gatewayUsageOf(completed.response).cost_usd, LLAMA_MICRO / 1e6);
      assert.deepEqual(hf.lastRequest!.body!.stream_options, { include_usage: true }, 'upstream is always asked for usage');
      const row = await usageRow(gateway, response.headers.get('x-request-id')!);
      assert.deepEqual([row.endpoint, Number(row.cost_micro), Boolean(row.stream)], ['responses', LLAMA_MICRO, true]);
    });

    it('frames every event with an event: line and sends no [DONE]', async () => {
      const secret = (await gateway.createKey()).secret;
      const answer = await fetch(`${gateway.baseURL}/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: LLAMA, input: 'Hi', stream: true }),
      });
      assert.equal(answer.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const frames = (await answer.text()).split('\n\n').filter(Boolean);
      assert.ok(!frames.some((frame) => frame.includes('[DONE]')));
      for (const frame of frames) {
        const [eventLine, dataLine] = frame.split('\n');
        const data = JSON.parse(dataLine.slice('data: '.length)) as { type: string };
        assert.equal(eventLine, `event: ${data.type}`);
      }
    });

    it('builds a consistent snapshot for the SDK stream helper', async () => {
      const final = await client.responses.stream({ model: LLAMA, input: 'Hi' }).finalResponse();
      assert.equal(final.output_text, MOCK_TEXT);
      assert.equal(final.usage?.output_tokens, 6);
    });

    it('reports a cut answer as incomplete, in JSON and as response.incomplete', async () => {
      const data = await client.responses.create({ model: 'org/length', input: 'Hi', max_output_tokens: 6 });
      assert.equal(data.status, 'incomplete');
      assert.deepEqual(data.incomplete_details, { reason: 'max_output_tokens' });
      assert.equal((data.output[0] as OpenAI.Responses.ResponseOutputMessage).status, 'incomplete');
      assert.equal(hf.lastRequest!.body!.max_tokens, 6, 'max_output_tokens goes to the router as max_tokens');
      const events = await collect(await client.responses.create({ model: 'org/length', input: 'Hi', stream: true }));
      const last = events.at(-1)!;
      assert.equal(last.type, 'response.incomplete');
      assert.equal((last as OpenAI.Responses.ResponseIncompleteEvent).response.incomplete_details?.reason, 'max_output_tokens');
    });

    it('turns reasoning into a reasoning item before the message', async () => {
      const data = await client.responses.create({ model: 'org/reasoning', input: 'Hi', reasoning: { effort: 'low' } });
      assert.equal(hf.lastRequest!.body!.reasoning_effort, 'low');
      assert.deepEqual(
        data.output.map((item) => item.type),
        ['reasoning', 'message'],
      );
      assert.deepEqual((data.output[0] as OpenAI.Responses.ResponseReasoningItem).content, [{ type: 'reasoning_text', text: MOCK_REASONING }]);
      assert.equal(data.output_text, MOCK_TEXT);
      const final = await client.responses.stream({ model: 'org/reasoning', input: 'Hi' }).finalResponse();
      assert.deepEqual(
        final.output.map((item) => item.type),
        ['reasoning', 'message'],
      );
      assert.equal(final.output_text, MOCK_TEXT);
    });

    it('ends a stream that fails midway with response.failed, continuing the sequence', async () => {
      const { data: stream, response } = await client.responses.create({ model: 'org/midstream-error', input: `Hi ${CANARY}`, stream: true }).withResponse();
      const events = await collect(stream);
      assertSequence(events);
      const failed = events.at(-1) as OpenAI.Responses.ResponseFailedEvent;
      assert.equal(failed.type, 'response.failed');
      assert.equal(failed.response.status, 'failed');
      assert.match(failed.response.error?.message ?? '', /Model overloaded/);
      const row = await usageRow(gateway, response.headers.get('x-request-id')!);
      assert.equal(row.error_code, 'upstream_error');
    });
  });

  describe('native passthrough (openai)', () => {
    it('forwards the upstream response object with gateway_usage', async () => {
      const { data, response } = await client.responses
        .create({
          model: 'gpt-4o-mini',
          input: 'Hi',
          // @ts-expect-error gateway extension
          provider: 'openai',
        })
        .withResponse();
      assert.equal(data.id, 'resp_mock_1');
      assert.equal(data.output_text, MOCK_TEXT);
      assert.equal(data.usage?.input_tokens, MOCK_USAGE.prompt_tokens);
      assert.equal(gatewayUsageOf(data).cost_usd, DEFAULT_MICRO / 1e6);
      const sent = openai.lastRequest!;
      assert.equal(sent.path, '/v1/responses');
      assert.equal('provider' in sent.body!, false);
      const row = await usageRow(gateway, response.headers.get('x-request-id')!);
      assert.deepEqual([row.endpoint, row.provider, Number(row.cost_micro)], ['responses', 'openai', DEFAULT_MICRO]);
    });

    it('passes stateful fields through to a provider that has them', async () => {
      const data = await client.responses.create({ model: 'gpt-4o-mini', input: 'Hi', previous_response_id: 'resp_earlier', store: true });
      assert.equal(data.output_text, MOCK_TEXT);
      assert.equal(openai.lastRequest!.body!.previous_response_id, 'resp_earlier');
    });

    it('streams the upstream events through and holds response.completed for gateway_usage', async () => {
      const events = await collect(await client.responses.create({ model: 'gpt-4o-mini', input: 'Hi', stream: true }));
      assertSequence(events);
      const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
      assert.equal(completed.type, 'response.completed');
      assert.equal(completed.response.id, 'resp_mock_1');
      assert.equal(gatewayUsageOf(completed.response).tokens_charged, 23);
      assert.equal(gatewayUsageOf(completed.response).cost_usd, DEFAULT_MICRO / 1e6);
    });

    it('turns an upstream error event into response.failed', async () => {
      const events = await collect(
        await client.responses.create({
          model: 'mock/midstream-error',
          input: 'Hi',
          stream: true,
          // @ts-expect-error gateway extension
          provider: 'openai',
        }),
      );
      assertSequence(events);
      const failed = events.at(-1) as OpenAI.Responses.ResponseFailedEvent;
      assert.equal(failed.type, 'response.failed');
      assert.match(failed.response.error?.message ?? '', /The server had an error/);
    });
  });

  describe('openai-compatible entries', () => {
    it('adds event: lines to a native stream whose server sends bare data: lines', async () => {
      const secret = (await gateway.createKey()).secret;
      const answer = await fetch(`${gateway.baseURL}/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'qwen3-8b', input: 'Hi', stream: true }),
      });
      const frames = (await answer.text()).split('\n\n').filter(Boolean);
      assert.equal(vllm.lastRequest!.path, '/v1/responses');
      assert.equal(frames.length, 14, "the server's trailing [DONE] is not passed on");
      for (const frame of frames) assert.match(frame, /^event: response\.[a-z_.]+\ndata: \{/);
      const completed = JSON.parse(frames.at(-1)!.split('data: ')[1]) as { type: string; response: { gateway_usage: GatewayUsage } };
      assert.equal(completed.type, 'response.completed');
      assert.equal(completed.response.gateway_usage.tokens_charged, 23);
    });

    it('counts tokens itself, marked estimated, for a server without stream usage', async () => {
      const { data: stream, response } = await client.responses.create({ model: 'llama3.2', input: 'Hi', stream: true }).withResponse();
      const events = await collect(stream);
      const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
      assert.equal(completed.type, 'response.completed');
      assert.ok(completed.response.usage && completed.response.usage.output_tokens > 0, 'the counted usage is filled in');
      assert.equal(gatewayUsageOf(completed.response).estimated, true);
      assert.equal('stream_options' in local.lastRequest!.body!, false, 'no stream_options to a server that does not report stream usage');
      const row = await usageRow(gateway, response.headers.get('x-request-id')!);
      assert.equal(Boolean(row.estimated), true);
      assert.equal(row.completion_tokens, completed.response.usage!.output_tokens);
    });
  });

  describe('metering', () => {
    it('reserves and settles like chat: a metered call is bounded upstream and charged the real cost', async () => {
      const { secret, record } = await gateway.createKey({ credits_usd: 1 });
      const metered = gateway.client(secret);
      const data = await metered.responses.create({ model: LLAMA, input: 'Hi' });
      assert.equal(gatewayUsageOf(data).cost_usd, LLAMA_MICRO / 1e6);
      assert.equal(hf.lastRequest!.body!.max_tokens, gateway.config.metering.default_max_tokens, 'the reserved cap bounds the output');
      await usageRow(gateway, (await metered.responses.create({ model: LLAMA, input: 'Hi' }).withResponse()).response.headers.get('x-request-id')!);
      const key = await getKey(gateway.running.deps.db, record.id);
      assert.equal(key!.balanceMicro, 1_000_000 - 2 * LLAMA_MICRO);
    });
  });

  describe('refused on the translated path', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['previous_response_id', { previous_response_id: 'resp_123' }, 'previous_response_id'],
      ['store: true', { store: true }, 'store'],
      ['background: true', { background: true }, 'background'],
      ['conversation', { conversation: 'conv_123' }, 'conversation'],
      ['a built-in tool', { tools: [{ type: 'web_search' }] }, 'tools[0].type'],
      ['an item_reference the gateway does not hold', { input: [{ type: 'item_reference', id: 'msg_123' }] }, 'input[0].id'],
    ];
    for (const [name, extra, param] of cases) {
      it(`answers 400 for ${name}, naming '${param}'`, async () => {
        await assert.rejects(
          client.responses.create({ model: LLAMA, input: 'Hi', ...extra } as OpenAI.Responses.ResponseCreateParamsNonStreaming),
          (error: APIError) =>
            error.status === 400 && error.type === 'invalid_request_error' && error.param === param && error.code === 'unsupported_parameter',
        );
      });
    }

    it('accepts store: false, which needs no state', async () => {
      const data = await client.responses.create({ model: LLAMA, input: 'Hi', store: false });
      assert.equal((data as unknown as { store: boolean }).store, false, 'the gateway stores nothing and says so');
    });

    it('answers 400 for a malformed input', async () => {
      await assert.rejects(
        client.responses.create({ model: LLAMA, input: 5 as unknown as string }),
        (error: APIError) => error.status === 400 && error.param === 'input',
      );
    });
  });
});
