/** `/v1/embeddings` through the gateway with the `openai` SDK: HF feature-extraction, OpenAI and a compatible server. */
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import type { APIError } from 'openai';
import { CANARY, compatibleEntry, HF_KEY, hfEntry, OPENAI_KEY, openaiEntry, startGateway, usageRow, type TestGateway } from '../helpers/gateway.ts';
import { costMicro, TEST_PRICES, textTokens } from '../helpers/costs.ts';
import { mockVector, startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

type GatewayUsage = { tokens_charged: number; cost_usd: number; estimated?: true };
const gatewayUsageOf = (value: unknown): GatewayUsage => (value as { gateway_usage: GatewayUsage }).gateway_usage;

const BGE = 'BAAI/bge-small-en-v1.5';
const FEATURE_PATH = '/hf-inference/models/BAAI/bge-small-en-v1.5/pipeline/feature-extraction';
const TEXTS = [`The quick brown ${CANARY}`, 'jumps over the lazy dog'];

/** Input tokens at the default price. */
const micro = (tokens: number): number => costMicro(TEST_PRICES.default, { prompt_tokens: tokens, completion_tokens: 0 });

describe('embeddings', () => {
  let hf: MockUpstream;
  let openai: MockUpstream;
  let local: MockUpstream;
  let gateway: TestGateway;
  let client: OpenAI;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    openai = await startMock({ flavor: 'openai', apiKey: OPENAI_KEY });
    local = await startMock({ flavor: 'compatible' });
    gateway = await startGateway({
      providers: {
        openai: openaiEntry(openai.url),
        local: compatibleEntry(local.url),
        chat_only: compatibleEntry(local.url, { models: ['chat-only*'], supports: { embeddings: false } }),
        huggingface: hfEntry(hf.url),
      },
    });
    client = gateway.client((await gateway.createKey()).secret);
  });

  after(async () => {
    await gateway.close();
    for (const mock of [hf, openai, local]) await mock.close();
  });

  describe('huggingface (feature-extraction pipeline)', () => {
    it('answers the SDK default (base64) with float32 bytes it decodes into the right vector', async () => {
      const { data, response } = await client.embeddings.create({ model: BGE, input: TEXTS[0] }).withResponse();
      assert.equal(data.object, 'list');
      assert.equal(data.model, BGE);
      assert.deepEqual(data.data, [{ object: 'embedding', index: 0, embedding: mockVector(TEXTS[0]) }]);
      const sent = hf.lastRequest!;
      assert.equal(sent.path, FEATURE_PATH);
      assert.equal(sent.headers.authorization, `Bearer ${HF_KEY}`);
      assert.deepEqual(sent.body, { inputs: TEXTS[0] });
      const tokens = textTokens(TEXTS[0]);
      assert.deepEqual(data.usage, { prompt_tokens: tokens, total_tokens: tokens });
      assert.deepEqual(gatewayUsageOf(data), { ...gatewayUsageOf(data), tokens_charged: tokens, cost_usd: micro(tokens) / 1e6, estimated: true });
      const row = await usageRow(gateway, response.headers.get('x-request-id')!);
      assert.deepEqual(
        [row.endpoint, row.provider, row.prompt_tokens, row.completion_tokens, Number(row.cost_micro), Boolean(row.estimated)],
        ['embeddings', 'huggingface', tokens, 0, micro(tokens), true],
      );
    });

    it('answers encoding_format float with arrays, one per input, in order', async () => {
      const data = await client.embeddings.create({ model: BGE, input: TEXTS, encoding_format: 'float' });
      assert.deepEqual(
        data.data.map((item) => [item.index, item.embedding]),
        TEXTS.map((text, index) => [index, mockVector(text)]),
      );
      assert.deepEqual(hf.lastRequest!.body, { inputs: TEXTS });
      assert.equal(data.usage.prompt_tokens, textTokens(TEXTS[0]) + textTokens(TEXTS[1]));
    });

    it('sends base64 on the wire when asked, as little-endian float32', async () => {
      const secret = (await gateway.createKey()).secret;
      const answer = await fetch(`${gateway.baseURL}/embeddings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: BGE, input: TEXTS[1], encoding_format: 'base64' }),
      });
      const body = (await answer.json()) as { data: { embedding: string }[] };
      const bytes = Buffer.from(body.data[0].embedding, 'base64');
      const vector = Array.from({ length: bytes.length / 4 }, (_unused, index) => bytes.readFloatLE(index * 4));
      assert.deepEqual(vector, mockVector(TEXTS[1]));
    });

    it('strips a routing suffix and encodes each path segment', async () => {
      await client.embeddings.create({ model: 'my org/model name:hf-inference', input: 'x' });
      assert.equal(hf.lastRequest!.path, '/hf-inference/models/my%20org/model%20name/pipeline/feature-extraction');
    });

    for (const model of ['BAAI/../admin', 'BAAI//x', 'a/b/c', 'BAAI/bge:together']) {
      it(`refuses the model id '${model}' with a 400 rather than reach another route`, async () => {
        const before = hf.requests.length;
        await assert.rejects(
          client.embeddings.create({ model, input: 'x' }),
          (error: APIError) => error.status === 400 && error.param === 'model' && error.type === 'invalid_request_error',
        );
        assert.equal(hf.requests.length, before, 'nothing reached the upstream');
      });
    }

    it('refuses token-id inputs with a clear 400', async () => {
      await assert.rejects(
        client.embeddings.create({ model: BGE, input: [[1, 2, 3]] }),
        (error: APIError) => error.status === 400 && error.param === 'input' && /Token-id inputs/.test(error.message),
      );
    });

    it("refuses 'dimensions', which the pipeline cannot honour", async () => {
      await assert.rejects(
        client.embeddings.create({ model: BGE, input: 'x', dimensions: 2 }),
        (error: APIError) => error.status === 400 && error.param === 'dimensions',
      );
    });

    it('maps an unknown model to 404 model_not_found', async () => {
      await assert.rejects(
        client.embeddings.create({ model: 'org/unsupported', input: 'x' }),
        (error: APIError) => error.status === 404 && error.code === 'model_not_found',
      );
    });
  });

  describe('openai (passthrough)', () => {
    it('passes the SDK default base64 through and bills the upstream usage', async () => {
      const { data, response } = await client.embeddings.create({ model: 'text-embedding-3-small', input: TEXTS[0] }).withResponse();
      assert.deepEqual(data.data[0].embedding, mockVector(TEXTS[0]));
      assert.equal(openai.lastRequest!.body!.encoding_format, 'base64');
      assert.deepEqual(data.usage, { prompt_tokens: 4, total_tokens: 4 }, "the upstream's own count");
      assert.equal(gatewayUsageOf(data).estimated, undefined);
      const row = await usageRow(gateway, response.headers.get('x-request-id')!);
      assert.deepEqual(
        [row.endpoint, row.provider, row.prompt_tokens, Number(row.cost_micro), Boolean(row.estimated)],
        ['embeddings', 'openai', 4, micro(4), false],
      );
    });

    it('answers encoding_format float with arrays', async () => {
      const data = await client.embeddings.create({ model: 'text-embedding-3-small', input: TEXTS, encoding_format: 'float' });
      assert.deepEqual(
        data.data.map((item) => item.embedding),
        TEXTS.map(mockVector),
      );
    });
  });

  describe('openai-compatible', () => {
    it('asks the server for floats and encodes base64 itself for the SDK default', async () => {
      const { data, response } = await client.embeddings.create({ model: 'nomic-embed-text', input: TEXTS }).withResponse();
      assert.deepEqual(
        data.data.map((item) => item.embedding),
        TEXTS.map(mockVector),
      );
      assert.equal('encoding_format' in local.lastRequest!.body!, false);
      assert.equal(local.lastRequest!.path, '/v1/embeddings');
      const row = await usageRow(gateway, response.headers.get('x-request-id')!);
      assert.deepEqual([row.provider, row.prompt_tokens], ['local', 9], "the server's own count (the mock counts words)");
    });

    it('answers 400 when the entry says its server has no embeddings', async () => {
      await assert.rejects(
        client.embeddings.create({ model: 'chat-only-7b', input: 'x' }),
        (error: APIError) => error.status === 400 && error.param === 'model',
      );
    });
  });

  describe('validation', () => {
    for (const [name, input] of [
      ['an empty string', ''],
      ['an empty array', []],
      ['a number', 5],
    ] as const) {
      it(`answers 400 for ${name} as input`, async () => {
        await assert.rejects(
          client.embeddings.create({ model: BGE, input: input as unknown as string }),
          (error: APIError) => error.status === 400 && error.param === 'input',
        );
      });
    }
  });
});
