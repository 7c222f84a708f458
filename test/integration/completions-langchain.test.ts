/**
 * LangChain's legacy `OpenAI` LLM class (`@langchain/openai`), which calls `/v1/completions`, against a Hugging Face
 * model through the gateway with a metered key: `invoke`, `generate` with several prompts (one request, the
 * generations sliced per prompt in order), `stream`; and the ledger under concurrent completions requests.
 */
import assert from 'node:assert/strict';
import { OpenAI } from '@langchain/openai';
import { eventually, HF_KEY, hfEntry, lastUsageRow, startGateway, usageMark, type TestGateway } from '../helpers/gateway.ts';
import { assertBalanced, booksOf } from '../helpers/ledger.ts';
import { echoText, echoUsage } from '../helpers/mock-completions.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

const ECHO = 'meta-llama/echo';

describe("legacy completions with LangChain's OpenAI class", () => {
  let hf: MockUpstream;
  let gateway: TestGateway;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY, chunkDelayMs: 1 });
    gateway = await startGateway({ providers: { huggingface: hfEntry(hf.url) } });
  });

  after(async () => {
    await gateway.close();
    await hf.close();
  });

  const db = () => gateway.running.deps.db;

  function llm(apiKey: string, fields: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}): OpenAI {
    return new OpenAI({ model: ECHO, apiKey, maxTokens: 64, maxRetries: 0, configuration: { baseURL: gateway.baseURL }, ...fields });
  }

  it('invoke answers one prompt and leaves a billed usage row', async () => {
    const { secret, record } = await gateway.createKey({ credits_usd: 1 });
    const mark = await usageMark(gateway);
    assert.equal(await llm(secret).invoke('What is a gateway?'), echoText('What is a gateway?', 0));
    const row = await lastUsageRow(gateway, mark);
    const usage = echoUsage('What is a gateway?', 1);
    assert.deepEqual(
      [row.endpoint, row.key_id, row.prompt_tokens, row.completion_tokens, row.status],
      ['completions', record.id, usage.prompt_tokens, usage.completion_tokens, 200],
    );
    assert.equal(Number(row.cost_micro), Math.ceil((2 * usage.prompt_tokens + 6 * usage.completion_tokens) / 10));
    assertBalanced(await booksOf(db(), record.id), assert);
  });

  it('generate with three prompts sends one request and gets three generations in order', async () => {
    const { secret, record } = await gateway.createKey({ credits_usd: 1 });
    const prompts = ['first question', 'second', 'the third one'];
    const mark = await usageMark(gateway);
    const result = await llm(secret).generate(prompts);
    assert.deepEqual(
      result.generations.map((generations) => generations.map((generation) => generation.text)),
      prompts.map((prompt) => [echoText(prompt, 0)]),
    );
    const usages = prompts.map((prompt) => echoUsage(prompt, 1));
    assert.deepEqual(result.llmOutput?.tokenUsage, {
      promptTokens: usages.reduce((sum, usage) => sum + usage.prompt_tokens, 0),
      completionTokens: usages.reduce((sum, usage) => sum + usage.completion_tokens, 0),
      totalTokens: usages.reduce((sum, usage) => sum + usage.total_tokens, 0),
    });
    const row = await lastUsageRow(gateway, mark);
    assert.equal(row.prompt_tokens, result.llmOutput?.tokenUsage.promptTokens);
    const books = await booksOf(db(), record.id);
    assert.equal(books.usageRows, 1);
    assertBalanced(books, assert);
  });

  it('generate with n: 2 slices two generations per prompt', async () => {
    const result = await llm((await gateway.createKey()).secret, { n: 2 }).generate(['x', 'y']);
    assert.deepEqual(
      result.generations.map((generations) => generations.map((generation) => generation.text)),
      [
        [echoText('x', 0), echoText('x', 1)],
        [echoText('y', 0), echoText('y', 1)],
      ],
    );
  });

  it('stream yields the text piece by piece', async () => {
    const { secret } = await gateway.createKey({ credits_usd: 1 });
    const pieces: string[] = [];
    for await (const piece of await llm(secret).stream('Stream please')) pieces.push(piece);
    assert.ok(pieces.length > 1, `expected several pieces, got ${pieces.length}`);
    assert.equal(pieces.join(''), echoText('Stream please', 0));
  });

  it('keeps the ledger balanced under concurrent completions requests, partial failures and refusals included', async () => {
    const { secret, record } = await gateway.createKey({ credits_usd: 0.0005 });
    const client = gateway.client(secret);
    const requests = Array.from({ length: 24 }, (_, i) => {
      const prompt = i % 4 === 3 ? ['ok', `fail-after-${hf.chatAnswers + 1}`] : [`prompt ${i}`, `other ${i}`];
      return client.completions.create({ model: ECHO, prompt, n: 2, max_tokens: 40 }).then(
        () => 'ok',
        (error: { status?: number }) => String(error.status),
      );
    });
    const outcomes = await Promise.all(requests);
    // 500 micro-USD cannot cover 24 holds at once: some are refused with 402, never below zero.
    assert.ok(outcomes.includes('ok'), outcomes.join());
    assert.ok(outcomes.includes('402'), outcomes.join());
    assert.ok(outcomes.includes('502'), outcomes.join());
    // Rows are written after the responses close.
    const books = await eventually(async () => {
      await gateway.running.deps.writer.flush();
      const current = await booksOf(db(), record.id);
      return current.usageRows === outcomes.length && current;
    });
    // Failed requests whose first prompt had finished are charged for it.
    const partial = await db()('usage').where({ key_id: record.id, status: 502 }).where('cost_micro', '>', 0).count({ n: '*' }).first();
    assert.ok(Number((partial as { n: unknown }).n) > 0);
    assertBalanced(books, assert);
  });
});
