/**
 * The native path of `/v1/messages`: a provider that speaks Messages gets the body as sent with the client's
 * `anthropic-version` / `anthropic-beta`, and its usage (prompt-cache tokens included) is what the row records.
 * The provider here is an entry whose Messages methods the test supplies, as the `anthropic` plugin will.
 */
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import type { CallContext, JsonObject, Provider, SseEvent } from '../../src/plugin-sdk.ts';
import { compatibleEntry, HF_KEY, hfEntry, startGateway, usageRow, type TestGateway } from '../helpers/gateway.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

const MODEL = 'claude-test-1';
const USAGE = { input_tokens: 10, cache_creation_input_tokens: 20, cache_read_input_tokens: 100, output_tokens: 5 };
const ANSWER = {
  id: 'msg_native_1',
  type: 'message',
  role: 'assistant',
  model: MODEL,
  content: [{ type: 'text', text: 'Native hello.' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: USAGE,
};

function nativeEvents(model: string, failFirst: boolean): SseEvent[] {
  const e = (type: string, payload: JsonObject): SseEvent => ({ event: type, data: JSON.stringify({ type, ...payload }) });
  if (failFirst) return [e('error', { error: { type: 'overloaded_error', message: 'Overloaded' } })];
  const start = e('message_start', {
    message: {
      ...ANSWER,
      model,
      content: [],
      stop_reason: null,
      usage: { input_tokens: 10, cache_creation_input_tokens: 20, cache_read_input_tokens: 100, output_tokens: 1 },
    },
  });
  return [
    start,
    { event: 'ping', data: '{"type":"ping"}' },
    start, // a duplicate the client must not see
    e('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    e('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Native' } }),
    e('content_block_delta', { index: 0, delta: { type: 'text_delta', text: ' hello.' } }),
    e('content_block_stop', { index: 0 }),
    e('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } }),
    e('message_stop', {}),
  ];
}

interface Seen {
  body: JsonObject;
  headers: CallContext['clientHeaders'];
}

describe('messages: native passthrough to a Messages provider', () => {
  let hf: MockUpstream;
  let gateway: TestGateway;
  let client: Anthropic;
  const seen: Seen[] = [];

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    gateway = await startGateway({ providers: { huggingface: hfEntry(hf.url), claude: compatibleEntry(hf.url, { models: ['claude-*'] }) } });
    const provider = gateway.running.deps.registry.get('claude')!.provider as Provider;
    provider.messages = async (body, call) => {
      seen.push({ body, headers: call.clientHeaders });
      const text = JSON.stringify({ ...ANSWER, model: body.model });
      return { body: JSON.parse(text) as JsonObject, raw: text };
    };
    provider.messagesStream = async (body, call) => {
      seen.push({ body, headers: call.clientHeaders });
      const events = nativeEvents(String(body.model), body.model === 'claude-overloaded');
      return {
        events: (async function* () {
          yield* events;
        })(),
      };
    };
    provider.countTokens = async (body, call) => {
      seen.push({ body, headers: call.clientHeaders });
      return { body: { input_tokens: 4242 } };
    };
    // The classic version value, so the test sees the client's own header arrive (the SDK's default is newer).
    client = new Anthropic({
      apiKey: (await gateway.createKey()).secret,
      baseURL: gateway.url,
      maxRetries: 0,
      defaultHeaders: { 'anthropic-version': '2023-06-01' },
    });
  });

  after(async () => {
    await gateway.close();
    await hf.close();
  });

  it('passes the body and the anthropic-version / anthropic-beta headers through, and records cache tokens in the prompt', async () => {
    const body = {
      model: MODEL,
      max_tokens: 64,
      system: [{ type: 'text' as const, text: 'Cached prompt.', cache_control: { type: 'ephemeral' as const } }],
      messages: [{ role: 'user' as const, content: 'Hi' }],
      top_k: 5,
    };
    const { data, response } = await client.beta.messages
      .create({ ...body, betas: ['prompt-caching-2024-07-31', 'interleaved-thinking-2025-05-14'] })
      .withResponse();
    const last = seen.at(-1)!;
    assert.deepEqual(last.body, body);
    assert.deepEqual(last.headers, { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'prompt-caching-2024-07-31,interleaved-thinking-2025-05-14' });
    assert.equal(hf.requests.length, 0, 'nothing went through chat completions');
    assert.deepEqual(data.usage, USAGE);
    assert.equal((data as unknown as { gateway_usage: { tokens_charged: number } }).gateway_usage.tokens_charged, 135);
    const row = await usageRow(gateway, response.headers.get('x-request-id')!);
    assert.deepEqual([row.endpoint, row.provider, row.prompt_tokens, row.completion_tokens, Boolean(row.estimated)], ['messages', 'claude', 130, 5, false]);
  });

  it('streams native events as they come, once message_start, and reads usage from message_start and message_delta', async () => {
    const stream = client.messages.stream({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] });
    const types: string[] = [];
    stream.on('streamEvent', (event) => types.push(event.type));
    const final = await stream.finalMessage();
    assert.deepEqual(types, [
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    assert.equal((final.content[0] as Anthropic.TextBlock).text, 'Native hello.');
    assert.deepEqual(
      [final.usage.input_tokens, final.usage.cache_read_input_tokens, final.usage.cache_creation_input_tokens, final.usage.output_tokens],
      [10, 100, 20, 5],
    );
    assert.equal(seen.at(-1)!.headers!['anthropic-version'], '2023-06-01');
    const { response } = await stream.withResponse();
    const row = await usageRow(gateway, response.headers.get('x-request-id')!);
    assert.deepEqual([row.prompt_tokens, row.completion_tokens, Boolean(row.stream), Boolean(row.estimated)], [130, 5, true, false]);
  });

  it('an error event before anything was sent is an HTTP error in Anthropic shape', async () => {
    const error = await client.messages
      .stream({ model: 'claude-overloaded', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] })
      .finalMessage()
      .then(
        () => assert.fail('expected an error'),
        (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
      );
    assert.equal(error.status, 503);
    assert.equal((error.error as { error: { type: string } }).error.type, 'overloaded_error');
  });

  it('count_tokens asks the provider, forwarding the version headers', async () => {
    const counted = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] });
    assert.deepEqual(counted, { input_tokens: 4242 });
    assert.deepEqual(seen.at(-1)!.body, { model: MODEL, messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(seen.at(-1)!.headers!['anthropic-version'], '2023-06-01');
  });
});
