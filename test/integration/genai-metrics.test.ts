/** /metrics after traffic: cost by provider and model, and the OpenTelemetry GenAI metrics with their labels. */
import assert from 'node:assert/strict';
import { HF_KEY, hfEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';
const BGE = 'BAAI/bge-small-en-v1.5';
const HI = [{ role: 'user' as const, content: 'Hi' }];

/** The value of one sample line, or undefined. */
function sample(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const text = line.slice(name.length + 1, line.lastIndexOf('}'));
    const found = Object.fromEntries([...text.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1], match[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('GenAI metrics', () => {
  let hf: MockUpstream;
  let gateway: TestGateway;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY, chunkDelayMs: 2 });
    gateway = await startGateway({ providers: { huggingface: hfEntry(hf.url) } });
  });

  after(async () => {
    await gateway.close();
    await hf.close();
  });

  it('exports cost and the GenAI client and server metrics after chat, streamed chat and embeddings calls', async () => {
    const { secret } = await gateway.createKey({ name: 'metrics' });
    const client = gateway.client(secret);
    await client.chat.completions.create({ model: LLAMA, messages: HI });
    const stream = await client.chat.completions.create({ model: LLAMA, messages: HI, stream: true, stream_options: { include_usage: true } });
    for await (const _chunk of stream);
    await client.embeddings.create({ model: BGE, input: 'hello' });
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();

    const chat = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'huggingface', gen_ai_request_model: LLAMA };
    // Two chat calls at 7 micro-USD each (17 prompt + 6 completion tokens at 0.20 / 0.60 per million).
    assert.equal(sample(metrics, 'switchyard_cost_usd_total', { provider: 'huggingface', model: LLAMA }), 0.000014);
    assert.equal(sample(metrics, 'gen_ai_client_token_usage_count', { ...chat, gen_ai_token_type: 'input' }), 2);
    assert.equal(sample(metrics, 'gen_ai_client_token_usage_sum', { ...chat, gen_ai_token_type: 'input' }), 34);
    assert.equal(sample(metrics, 'gen_ai_client_token_usage_sum', { ...chat, gen_ai_token_type: 'output' }), 12);
    assert.equal(sample(metrics, 'gen_ai_client_operation_duration_seconds_count', chat), 2);
    assert.equal(sample(metrics, 'gen_ai_server_time_to_first_token_seconds_count', chat), 1, 'the streamed call');
    assert.equal(sample(metrics, 'gen_ai_server_time_per_output_token_seconds_count', chat), 1);
    assert.ok(sample(metrics, 'gen_ai_server_time_per_output_token_seconds_bucket', { ...chat, le: '+Inf' }) === 1);

    const embeddings = { gen_ai_operation_name: 'embeddings', gen_ai_provider_name: 'huggingface', gen_ai_request_model: BGE };
    assert.equal(sample(metrics, 'gen_ai_client_operation_duration_seconds_count', embeddings), 1);
    assert.ok((sample(metrics, 'gen_ai_client_token_usage_sum', { ...embeddings, gen_ai_token_type: 'input' }) ?? 0) > 0);
    assert.equal(
      sample(metrics, 'gen_ai_client_token_usage_count', { ...embeddings, gen_ai_token_type: 'output' }),
      undefined,
      'embeddings produce no output tokens',
    );
    for (const name of ['switchyard_requests_total', 'switchyard_request_duration_seconds_bucket', 'switchyard_tokens_total'])
      assert.match(metrics, new RegExp(`^${name}\\{`, 'm'), `${name} is still there`);
  });
});
