/** Credits, trials and usage: 402 before any upstream call, exact costs, stream usage, aborted streams billed. */
import assert from 'node:assert/strict';
import type { APIError } from 'openai';
import { HF_KEY, OPENAI_KEY, eventually, hfEntry, openaiEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { DEFAULT_MICRO, LLAMA_MICRO } from '../helpers/costs.ts';
import { assertBalanced, booksOf } from '../helpers/ledger.ts';
import { MOCK_USAGE, startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';
const HI = [{ role: 'user' as const, content: 'Hi' }];
const LLAMA_COST = LLAMA_MICRO;
const DEFAULT_COST = DEFAULT_MICRO;

describe('billing', () => {
  let hf: MockUpstream;
  let openai: MockUpstream;
  let gateway: TestGateway;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY, chunkDelayMs: 2 });
    openai = await startMock({ flavor: 'openai', apiKey: OPENAI_KEY });
    gateway = await startGateway({ providers: { openai: openaiEntry(openai.url), huggingface: hfEntry(hf.url) } });
  });

  after(async () => {
    await gateway.close();
    await hf.close();
    await openai.close();
  });

  const db = () => gateway.running.deps.db;
  const flush = () => gateway.running.deps.writer.flush();
  const rowOf = async (requestId: string) => {
    await flush();
    return db()('usage').where({ request_id: requestId }).first();
  };

  it('charges pricing × upstream usage, rounded up to the micro-dollar, and says so in gateway_usage', async () => {
    const { secret, record } = await gateway.createKey({ credits_usd: 1 });
    const client = gateway.client(secret);
    const llama = await client.chat.completions.create({ model: LLAMA, messages: HI }).withResponse();
    const gpt = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: HI });
    assert.deepEqual((llama.data as unknown as { gateway_usage: unknown }).gateway_usage, {
      tokens_charged: 23,
      cost_usd: LLAMA_COST / 1e6,
      request_ms: (llama.data as unknown as { gateway_usage: { request_ms: number } }).gateway_usage.request_ms,
    });
    assert.equal((gpt as unknown as { gateway_usage: { cost_usd: number } }).gateway_usage.cost_usd, DEFAULT_COST / 1e6);
    const row = await rowOf(llama.response.headers.get('x-request-id')!);
    assert.equal(row.cost_micro, LLAMA_COST);
    assert.equal(row.prompt_tokens, MOCK_USAGE.prompt_tokens);
    assert.equal(row.completion_tokens, 6);
    assert.equal(row.provider, 'huggingface');
    assert.equal(row.status, 200);
    const books = await booksOf(db(), record.id);
    assert.equal(books.unspentMicro, 1_000_000 - LLAMA_COST - DEFAULT_COST);
    assertBalanced(books, assert);
  });

  it('answers 402 insufficient_credits without calling the upstream, and records the refusal', async () => {
    const { secret, record } = await gateway.createKey({ credits_usd: 0.00001 });
    const before = hf.requests.length;
    const error = await gateway
      .client(secret)
      .chat.completions.create({ model: LLAMA, messages: HI })
      .then(
        () => assert.fail('expected 402'),
        (e: APIError) => e,
      );
    assert.equal(error.status, 402);
    assert.equal(error.code, 'insufficient_credits');
    assert.match(error.message, /may cost up to \$0\.\d+ and the key has \$0\.000010 left/);
    assert.equal(hf.requests.length, before);
    const row = await rowOf(error.requestID!);
    assert.equal(row.status, 402);
    assert.equal(row.error_code, 'insufficient_credits');
    assert.equal(row.key_id, record.id);
    assertBalanced(await booksOf(db(), record.id), assert);
  });

  it('bounds a metered request without max_tokens by the reserved default, and honours the client bound', async () => {
    const { secret } = await gateway.createKey({ credits_usd: 1 });
    await gateway.client(secret).chat.completions.create({ model: LLAMA, messages: HI });
    assert.equal(hf.lastRequest!.body!.max_tokens, gateway.config.metering.default_max_tokens);
    await gateway.client(secret).chat.completions.create({ model: LLAMA, messages: HI, max_tokens: 33 });
    assert.equal(hf.lastRequest!.body!.max_tokens, 33);
  });

  it('spends a trial allowance in tokens and answers 402 trial_exhausted when it cannot cover a request', async () => {
    // A request holds its prompt with the margin plus max_tokens 10 (28 tokens for "Hi"): 50 cover one, not two.
    const allowance = 50;
    const { secret, record } = await gateway.createKey({ trial_tokens: allowance });
    const client = gateway.client(secret);
    const first = await client.chat.completions.create({ model: LLAMA, messages: HI, max_tokens: 10 });
    assert.equal((first as unknown as { gateway_usage: { tokens_charged: number } }).gateway_usage.tokens_charged, MOCK_USAGE.total_tokens);
    await flush();
    assert.equal((await booksOf(db(), record.id)).trialTokens, allowance - MOCK_USAGE.total_tokens);
    await assert.rejects(
      client.chat.completions.create({ model: LLAMA, messages: HI, max_tokens: 10 }),
      (error: APIError) => error.status === 402 && error.code === 'trial_exhausted',
    );
    const usage = await fetch(`${gateway.baseURL}/usage`, { headers: { authorization: `Bearer ${secret}` } }).then((r) => r.json());
    assert.equal((usage as { trial_tokens_remaining: number }).trial_tokens_remaining, allowance - MOCK_USAGE.total_tokens);
  });

  it('records an unmetered key: cost on the row, never refused for money', async () => {
    const { secret, record } = await gateway.createKey();
    const answer = await gateway.client(secret).chat.completions.create({ model: LLAMA, messages: HI }).withResponse();
    const row = await rowOf(answer.response.headers.get('x-request-id')!);
    assert.equal(row.cost_micro, LLAMA_COST);
    const usage = (await fetch(`${gateway.baseURL}/usage`, { headers: { authorization: `Bearer ${secret}` } }).then((r) => r.json())) as Record<
      string,
      unknown
    >;
    assert.equal(usage.balance_usd, null);
    assert.equal(usage.trial_tokens_remaining, null);
    assert.equal(usage.key_id, record.id);
    assert.equal(usage.requests, 1);
    assert.equal(usage.cost_usd, LLAMA_COST / 1e6);
  });

  it('bills a stream from its usage chunk, with gateway_usage on the chunk when asked', async () => {
    const { secret, record } = await gateway.createKey({ credits_usd: 1 });
    const stream = await gateway.client(secret).chat.completions.create({ model: LLAMA, messages: HI, stream: true, stream_options: { include_usage: true } });
    let gatewayUsage: { cost_usd: number; estimated?: boolean } | undefined;
    for await (const chunk of stream) gatewayUsage ??= (chunk as unknown as { gateway_usage?: typeof gatewayUsage }).gateway_usage;
    assert.equal(gatewayUsage?.cost_usd, LLAMA_COST / 1e6);
    assert.equal(gatewayUsage?.estimated, undefined);
    await flush();
    const row = await db()('usage').where({ key_id: record.id }).first();
    assert.equal(row.cost_micro, LLAMA_COST);
    assert.equal(Boolean(row.stream), true);
    assert.ok(row.ttft_ms !== null && row.ttft_ms <= row.latency_ms);
  });

  it('counts the tokens itself and marks them estimated when the upstream reports no usage', async () => {
    const { secret } = await gateway.createKey({ credits_usd: 1 });
    const answer = await gateway.client(secret).chat.completions.create({ model: 'org/no-usage', messages: HI });
    const usage = (answer as unknown as { gateway_usage: { tokens_charged: number; estimated: boolean } }).gateway_usage;
    assert.equal(usage.estimated, true);
    assert.ok(usage.tokens_charged > 8);
    const stream = await gateway
      .client(secret)
      .chat.completions.create({ model: 'org/no-usage', messages: HI, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1) as unknown as { usage: { completion_tokens: number }; gateway_usage: { estimated: boolean } };
    assert.equal(last.gateway_usage.estimated, true);
    assert.equal(last.usage.completion_tokens, 6, 'the six streamed words count six cl100k tokens');
  });

  it('bills an aborted stream for what was streamed, and releases the rest of the hold', async () => {
    const { secret, record } = await gateway.createKey({ credits_usd: 1 });
    const stream = await gateway.client(secret).chat.completions.create({ model: 'org/endless', messages: HI, stream: true });
    let received = 0;
    for await (const chunk of stream) if (chunk.choices[0]?.delta?.content && ++received === 5) break;
    const row = await eventually(async () => {
      await flush();
      return db()('usage').where({ key_id: record.id }).first();
    });
    assert.equal(row.error_code, 'client_closed_request');
    assert.equal(Boolean(row.estimated), true);
    assert.ok(row.completion_tokens >= 5, `completion tokens ${row.completion_tokens}`);
    assert.ok(row.cost_micro > 0);
    await gateway.running.leases.returnIdle(0);
    const books = await booksOf(db(), record.id);
    assert.equal(books.openHolds, 0, 'an idle lease goes back to the key');
    assertBalanced(books, assert);
  });

  it('leaves a usage row for a valid key refused before the provider (400), and none for a request without a key', async () => {
    const { secret, record } = await gateway.createKey({ name: 'bad body' });
    const refused = await fetch(`${gateway.baseURL}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: '{"model":' });
    assert.equal(refused.status, 400);
    const row = await rowOf(refused.headers.get('x-request-id')!);
    assert.equal(row.key_id, record.id);
    assert.equal(row.error_code, 'invalid_request');
    const anonymous = await fetch(`${gateway.baseURL}/chat/completions`, { method: 'POST', body: '{}' });
    assert.equal(anonymous.status, 401);
    assert.equal(await rowOf(anonymous.headers.get('x-request-id')!), undefined);
  });

  it('releases the whole hold when the upstream fails', async () => {
    const { secret, record } = await gateway.createKey({ credits_usd: 1 });
    await assert.rejects(gateway.client(secret).chat.completions.create({ model: 'org/html-500', messages: HI }));
    await flush();
    const books = await booksOf(db(), record.id);
    assert.equal(books.unspentMicro, 1_000_000);
    assert.equal(books.usageRows, 1);
    assertBalanced(books, assert);
  });
});
