/** Responses calls when things go wrong: a client that leaves mid-stream, a native provider that fails over to a translated one. */
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { CANARY, HF_KEY, hfEntry, OPENAI_KEY, openaiEntry, startGateway, usageRow, type TestGateway } from '../helpers/gateway.ts';
import { LLAMA_MICRO } from '../helpers/costs.ts';
import { MOCK_TEXT, startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

describe('responses: aborts and fallbacks', () => {
  let hf: MockUpstream;
  let openai: MockUpstream;
  let gateway: TestGateway;
  let client: OpenAI;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY, chunkDelayMs: 5 });
    openai = await startMock({ flavor: 'openai', apiKey: OPENAI_KEY });
    gateway = await startGateway({
      providers: { openai: openaiEntry(openai.url, { models: ['gpt-*', 'mock/*'] }), huggingface: hfEntry(hf.url) },
      config: { fallbacks: { 'mock/error-401': [{ provider: 'huggingface', model: 'meta-llama/Llama-3.1-8B-Instruct' }] } },
    });
    client = gateway.client((await gateway.createKey()).secret);
  });

  after(async () => {
    await gateway.close();
    await hf.close();
    await openai.close();
  });

  it('stops the upstream chat stream when the client leaves a translated stream, and bills what was streamed', async () => {
    const upstreamAborted = hf.nextAbort();
    const { data: stream, response } = await client.responses.create({ model: 'org/endless', input: `Hi ${CANARY}`, stream: true }).withResponse();
    let deltas = 0;
    for await (const event of stream) if (event.type === 'response.output_text.delta' && ++deltas === 3) break;
    await upstreamAborted;
    const row = await usageRow(gateway, response.headers.get('x-request-id')!);
    assert.equal(row.error_code, 'client_closed_request');
    assert.ok(row.completion_tokens >= 3, 'the streamed words are charged');
    assert.equal(Boolean(row.estimated), true);
  });

  it('falls back from a failing native provider to a translated one, billed at the serving entry', async () => {
    const { data, response } = await client.responses.create({ model: 'mock/error-401', input: 'Hi' }).withResponse();
    assert.equal(openai.lastRequest!.path, '/v1/responses');
    assert.equal(hf.lastRequest!.path, '/v1/chat/completions');
    assert.equal(data.output_text, MOCK_TEXT);
    const row = await usageRow(gateway, response.headers.get('x-request-id')!);
    assert.deepEqual([row.provider, Number(row.cost_micro)], ['huggingface', LLAMA_MICRO]);
  });

  it('falls back the same way for a stream', async () => {
    const final = await client.responses.stream({ model: 'mock/error-401', input: 'Hi' }).finalResponse();
    assert.equal(final.output_text, MOCK_TEXT);
    assert.equal(hf.lastRequest!.body!.stream, true);
  });
});
