/** The Anthropic SDK through the gateway to a Messages provider: bodies and anthropic-* headers pass through unchanged. */
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { CANARY, lastUsageRow, startGateway, usageMark, usageRow, type TestGateway } from '../helpers/gateway.ts';
import {
  ANTHROPIC_KEY,
  ANTHROPIC_USAGE,
  anthropicEntry,
  CLAUDE_TEXT,
  mockTokenCount,
  startMockAnthropic,
  TOOL_PREAMBLE,
  type MockAnthropic,
} from '../helpers/mock-anthropic.ts';

const MODEL = 'claude-sonnet-4-5';
const BETAS = 'interleaved-thinking-2025-05-14,context-1m-2025-08-07';
const PROMPT = ANTHROPIC_USAGE.input_tokens + ANTHROPIC_USAGE.cache_read_input_tokens + ANTHROPIC_USAGE.cache_creation_input_tokens;
const PRICES = { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 };
const EXPECTED_MICRO = Math.ceil(
  ANTHROPIC_USAGE.input_tokens * PRICES.input +
    ANTHROPIC_USAGE.cache_read_input_tokens * PRICES.cache_read +
    ANTHROPIC_USAGE.cache_creation_input_tokens * PRICES.cache_write +
    ANTHROPIC_USAGE.output_tokens * PRICES.output,
);
const WEATHER = {
  name: 'get_weather',
  description: 'Weather in a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('anthropic provider: the Anthropic SDK passing through natively', () => {
  let claude: MockAnthropic;
  let gateway: TestGateway;
  let anthropic: Anthropic;
  let gatewayKey: string;

  before(async () => {
    claude = await startMockAnthropic();
    gateway = await startGateway({
      providers: { anthropic: anthropicEntry(claude.url) },
      config: { pricing: { 'claude-*': PRICES, default: { input: 0.5, output: 1.5 } } },
    });
    gatewayKey = (await gateway.createKey()).secret;
    anthropic = new Anthropic({ apiKey: gatewayKey, baseURL: gateway.url, maxRetries: 0 });
  });

  after(async () => {
    await gateway.close();
    await claude.close();
  });

  it('passes the body through unchanged with the client anthropic-version and anthropic-beta, the provider key instead of the gateway key', async () => {
    const params = {
      model: MODEL,
      max_tokens: 512,
      system: [{ type: 'text' as const, text: 'Be brief.', cache_control: { type: 'ephemeral' as const } }],
      messages: [{ role: 'user' as const, content: `Hi ${CANARY}` }],
      metadata: { user_id: 'user-42' },
      top_k: 5,
    };
    const { data, response } = await anthropic.messages.create(params, { headers: { 'anthropic-beta': BETAS } }).withResponse();
    const sent = claude.lastRequest!;
    assert.equal(sent.path, '/v1/messages');
    assert.equal(sent.raw, JSON.stringify(params), 'the exact body');
    assert.equal(sent.headers['anthropic-beta'], BETAS);
    assert.equal(sent.headers['anthropic-version'], '2026-10-21', "the SDK's own version, not the plugin's default");
    assert.equal(sent.headers['x-api-key'], ANTHROPIC_KEY);
    assert.equal(sent.headers.authorization, undefined);
    assert.equal(JSON.stringify(sent.headers).includes(gatewayKey), false, 'the gateway key never goes upstream');
    assert.equal(data.content[0].type === 'text' && data.content[0].text, CLAUDE_TEXT);
    assert.deepEqual(data.usage, ANTHROPIC_USAGE);
    assert.equal((data as unknown as { gateway_usage: { cost_usd: number } }).gateway_usage.cost_usd, EXPECTED_MICRO / 1e6);
    const row = await usageRow(gateway, response.headers.get('x-request-id')!);
    assert.deepEqual(
      [row.endpoint, row.provider, row.prompt_tokens, row.completion_tokens, row.cost_micro],
      ['messages', 'anthropic', PROMPT, 9, EXPECTED_MICRO],
    );
  });

  it('streams the upstream events in order, tool_use input included, and charges the cache-aware usage', async () => {
    const mark = await usageMark(gateway);
    const stream = anthropic.messages.stream(
      { model: `${MODEL}-parallel`, max_tokens: 256, tools: [WEATHER], messages: [{ role: 'user', content: 'Paris and Rome?' }] },
      { headers: { 'anthropic-beta': BETAS } },
    );
    const types: string[] = [];
    stream.on('streamEvent', (event) => types.push(event.type));
    const final = await stream.finalMessage();
    assert.equal(claude.lastRequest!.headers['anthropic-beta'], BETAS);
    assert.equal(claude.lastRequest!.body!.stream, true);
    assert.deepEqual(types, [
      'message_start', // the SDK drops the ping that follows
      ...['content_block_start', 'content_block_delta', 'content_block_stop'],
      ...['content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop'],
      ...['content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop'],
      'message_delta',
      'message_stop',
    ]);
    assert.deepEqual(
      final.content.map((block) => (block.type === 'tool_use' ? block.input : block.type === 'text' ? block.text : block.type)),
      [TOOL_PREAMBLE, { city: 'Paris' }, { city: 'Rome' }],
    );
    assert.equal(final.stop_reason, 'tool_use');
    assert.equal(final.usage.cache_read_input_tokens, ANTHROPIC_USAGE.cache_read_input_tokens);
    assert.equal(final.usage.output_tokens, ANTHROPIC_USAGE.output_tokens);
    const row = await lastUsageRow(gateway, mark);
    assert.deepEqual([row.endpoint, row.stream, row.prompt_tokens, row.completion_tokens, row.cost_micro], ['messages', 1, PROMPT, 9, EXPECTED_MICRO]);
  });

  it('answers count_tokens with the provider count, headers forwarded, nothing charged', async () => {
    const mark = await usageMark(gateway);
    const params = { model: MODEL, messages: [{ role: 'user' as const, content: 'How many tokens is this?' }], tools: [WEATHER] };
    const answer = await anthropic.messages.countTokens(params, { headers: { 'anthropic-beta': BETAS } });
    const sent = claude.lastRequest!;
    assert.equal(sent.path, '/v1/messages/count_tokens');
    assert.equal(sent.raw, JSON.stringify(params));
    assert.equal(sent.headers['anthropic-beta'], BETAS);
    assert.equal(sent.headers['x-api-key'], ANTHROPIC_KEY);
    assert.deepEqual(answer, { input_tokens: mockTokenCount(params) });
    assert.equal(await usageMark(gateway), mark, 'no usage row');
  });

  it("sends the plugin's anthropic-version when the client sends none", async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': gatewayKey, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    assert.equal(response.status, 200);
    assert.equal(claude.lastRequest!.headers['anthropic-version'], '2023-06-01');
    assert.equal(claude.lastRequest!.headers['anthropic-beta'], undefined);
  });

  it('reports an upstream 529 to the Anthropic SDK as an overloaded error', async () => {
    await assert.rejects(
      anthropic.messages.create({ model: `${MODEL}-overloaded`, max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }),
      (error: InstanceType<typeof Anthropic.APIError>) => {
        assert.equal(error.status, 503);
        assert.equal((error.error as { error?: { type?: string } }).error?.type, 'overloaded_error');
        return true;
      },
    );
  });
});
