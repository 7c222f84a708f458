/** Chat completions through the gateway with the real `openai` SDK: JSON, streams, provider selection. */
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import type { APIError } from 'openai';
import { CANARY, HF_KEY, OPENAI_KEY, hfEntry, openaiEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { MOCK_PIECES, MOCK_TEXT, MOCK_USAGE, startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

describe('chat completions', () => {
  let hf: MockUpstream;
  let openai: MockUpstream;
  let gateway: TestGateway;
  let client: OpenAI;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    openai = await startMock({ flavor: 'openai', apiKey: OPENAI_KEY });
    gateway = await startGateway({ providers: { openai: openaiEntry(openai.url), huggingface: hfEntry(hf.url) } });
    client = gateway.client((await gateway.createKey()).secret);
  });

  after(async () => {
    await gateway.close();
    await hf.close();
    await openai.close();
  });

  it('answers a non-streamed chat with the upstream body, gateway_usage and x-request-id', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'meta-llama/Llama-3.1-8B-Instruct', messages: [{ role: 'user', content: `Hi ${CANARY}` }] })
      .withResponse();
    assert.equal(data.choices[0].message.content, MOCK_TEXT);
    assert.deepEqual(data.usage, MOCK_USAGE);
    assert.match(response.headers.get('x-request-id') ?? '', /^req_[0-9a-f]{32}$/);
    const usage = (data as unknown as { gateway_usage: Record<string, unknown> }).gateway_usage;
    assert.equal(usage.tokens_charged, MOCK_USAGE.prompt_tokens + MOCK_USAGE.completion_tokens);
    assert.equal(typeof usage.request_ms, 'number');
    assert.equal(hf.lastRequest?.path, '/v1/chat/completions');
    assert.equal(hf.lastRequest?.headers.authorization, `Bearer ${HF_KEY}`);
  });

  it('streams chunk by chunk and ends with [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      messages: [{ role: 'user', content: `Hi ${CANARY}` }],
      stream: true,
    });
    const pieces: string[] = [];
    const usages: unknown[] = [];
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) pieces.push(chunk.choices[0].delta.content);
      if (chunk.usage) usages.push(chunk.usage);
    }
    assert.deepEqual(pieces, MOCK_PIECES);
    assert.deepEqual(usages, [], 'no usage chunk when the client did not ask for one');
    const upstream = hf.lastRequest!.body!;
    assert.deepEqual(upstream.stream_options, { include_usage: true }, 'upstream is always asked for usage');
  });

  it('sends the usage chunk, with gateway_usage, when the client asks for it', async () => {
    const stream = await client.chat.completions.create({
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      messages: [{ role: 'user', content: `Hi ${CANARY}` }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, MOCK_USAGE);
    const gatewayUsage = (last as unknown as { gateway_usage: { tokens_charged: number } }).gateway_usage;
    assert.equal(gatewayUsage.tokens_charged, 23);
  });

  it('routes by the body provider field, strips it, and keeps :suffixes untouched', async () => {
    await client.chat.completions.create({
      model: 'meta-llama/Llama-3.1-8B-Instruct:novita',
      messages: [{ role: 'user', content: `Hi ${CANARY}` }],
      // @ts-expect-error gateway extension
      provider: 'huggingface',
    });
    const sent = hf.lastRequest!.body!;
    assert.equal(sent.model, 'meta-llama/Llama-3.1-8B-Instruct:novita');
    assert.equal('provider' in sent, false);
    assert.equal(Object.keys(sent)[0], 'model', 'model goes first for the router');
  });

  it('auto-detects the provider from the models globs, in config order', async () => {
    const before = openai.requests.length;
    const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Hi ${CANARY}` }] });
    assert.equal(answer.choices[0].message.content, MOCK_TEXT);
    assert.equal(openai.requests.length, before + 1);
    assert.equal(openai.lastRequest!.headers.authorization, `Bearer ${OPENAI_KEY}`);
  });

  it('sends a model with an explicit provider to that provider even if another glob matches first', async () => {
    const before = hf.requests.length;
    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `Hi ${CANARY}` }],
      // @ts-expect-error gateway extension
      provider: 'huggingface',
    });
    assert.equal(hf.requests.length, before + 1);
  });

  it('answers 400 unknown_provider for a provider that is not configured', async () => {
    await assert.rejects(
      client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `Hi ${CANARY}` }],
        // @ts-expect-error gateway extension
        provider: 'nope',
      }),
      (error: APIError) => error.status === 400 && error.code === 'unknown_provider' && error.param === 'provider',
    );
  });

  it('answers 404 model_not_found when no provider glob matches', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'no-slash-model', messages: [{ role: 'user', content: `Hi ${CANARY}` }] }),
      (error: APIError) => error.status === 404 && error.code === 'model_not_found' && error.type === 'invalid_request_error',
    );
  });
});
