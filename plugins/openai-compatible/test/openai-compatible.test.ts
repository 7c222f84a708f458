/** The openai-compatible plugin against a mock server: its config, auth, output-bound field and stream-usage flag. */
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { createLogger } from '../../../src/logging.ts';
import { loadProviders } from '../../../src/plugins/loader.ts';
import { compatibleEntry, startGateway, testConfig, usageRow, type TestGateway } from '../../../test/helpers/gateway.ts';
import { MOCK_TEXT, MOCK_USAGE, startMock, type MockUpstream } from '../../../test/helpers/mock-upstream.ts';

const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Hi' }];

describe('openai-compatible plugin', () => {
  let ollama: MockUpstream;
  let groq: MockUpstream;
  let gateway: TestGateway;
  let client: OpenAI;
  let metered: OpenAI;

  before(async () => {
    ollama = await startMock({ flavor: 'compatible', streamUsage: false });
    groq = await startMock({ flavor: 'compatible', apiKey: 'gsk_testSecret0123456789' });
    gateway = await startGateway({
      providers: {
        ollama: compatibleEntry(ollama.url, { supports: { stream_usage: 'false' } }),
        groq: compatibleEntry(groq.url, {
          models: ['mixtral*'],
          api_key: 'gsk_testSecret0123456789',
          headers: { 'x-team': 'search' },
          max_tokens_field: 'max_completion_tokens',
        }),
      },
    });
    client = gateway.client((await gateway.createKey()).secret);
    metered = gateway.client((await gateway.createKey({ credits_usd: 1 })).secret);
  });

  after(async () => {
    await gateway.close();
    await ollama.close();
    await groq.close();
  });

  it('sends no key to a server configured without one, and the key and extra headers to one with', async () => {
    await client.chat.completions.create({ model: 'llama3.2', messages });
    assert.equal(ollama.lastRequest!.headers.authorization, undefined);
    await client.chat.completions.create({ model: 'mixtral-8x7b', messages });
    assert.equal(groq.lastRequest!.headers.authorization, 'Bearer gsk_testSecret0123456789');
    assert.equal(groq.lastRequest!.headers['x-team'], 'search');
  });

  it('bounds a metered call with max_tokens, which such servers know, unless configured otherwise', async () => {
    await metered.chat.completions.create({ model: 'llama3.2', messages });
    const sent = ollama.lastRequest!.body!;
    assert.equal(sent.max_tokens, gateway.config.metering.default_max_tokens);
    assert.equal('max_completion_tokens' in sent, false);
    await metered.chat.completions.create({ model: 'mixtral-8x7b', messages });
    assert.equal(groq.lastRequest!.body!.max_completion_tokens, gateway.config.metering.default_max_tokens);
  });

  it('keeps a bound the client set under the name it used', async () => {
    await client.chat.completions.create({ model: 'llama3.2', messages, max_tokens: 50 });
    assert.equal(ollama.lastRequest!.body!.max_tokens, 50);
  });

  it('sends no stream_options where stream usage is off, and counts the tokens itself, marked estimated', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'llama3.2', messages, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let text = '';
    let last: OpenAI.Chat.ChatCompletionChunk | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      last = chunk;
    }
    assert.equal(text, MOCK_TEXT);
    assert.equal('stream_options' in ollama.lastRequest!.body!, false);
    assert.ok(last!.usage && last!.usage.completion_tokens > 0);
    assert.equal((last as unknown as { gateway_usage: { estimated?: boolean } }).gateway_usage.estimated, true);
    const row = await usageRow(gateway, response.headers.get('x-request-id')!);
    assert.equal(Boolean(row.estimated), true);
  });

  it('asks a server with stream usage for it, and bills what it reports', async () => {
    const { data: stream, response } = await client.chat.completions.create({ model: 'mixtral-8x7b', messages, stream: true }).withResponse();
    for await (const _chunk of stream) void _chunk;
    assert.deepEqual(groq.lastRequest!.body!.stream_options, { include_usage: true });
    const row = await usageRow(gateway, response.headers.get('x-request-id')!);
    assert.deepEqual([row.prompt_tokens, row.completion_tokens, Boolean(row.estimated)], [MOCK_USAGE.prompt_tokens, MOCK_USAGE.completion_tokens, false]);
  });

  it('lists the server models under the entry name', async () => {
    const models = await client.models.list();
    assert.ok(models.data.some((model) => model.owned_by === 'ollama'));
  });

  describe('config', () => {
    const load = (entry: Record<string, unknown>) =>
      loadProviders(testConfig({ providers: { local: { plugin: 'openai-compatible', models: ['*'], ...entry } } }, '/tmp'), createLogger({ level: 'silent' }));

    it('needs a base_url, and says so by key path', async () => {
      await assert.rejects(load({}), /providers\.local\.base_url/);
    });

    it('refuses an unknown supports flag and a flag that is not a boolean', async () => {
      await assert.rejects(load({ base_url: 'http://127.0.0.1:1/v1', supports: { chat: true } }), /providers\.local\.supports/);
      await assert.rejects(load({ base_url: 'http://127.0.0.1:1/v1', supports: { responses: 'maybe' } }), /providers\.local\.supports\.responses/);
    });

    it('defaults to chat and embeddings, and no native Responses API', async () => {
      const [loaded] = await load({ base_url: 'http://127.0.0.1:1/v1' });
      const provider = loaded.provider;
      assert.equal(typeof provider.embeddings, 'function');
      assert.equal(provider.responses, undefined);
      await provider.close?.();
    });
  });
});
