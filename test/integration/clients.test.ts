/**
 * The client libraries users point at the gateway, unchanged: the Vercel AI SDK (`@ai-sdk/openai`, which uses the
 * Responses API, and `@ai-sdk/openai-compatible`, which uses chat completions) and LangChain's `ChatOpenAI` (chat
 * completions, or Responses with `useResponsesApi`), each against HF, OpenAI and an openai-compatible entry.
 */
import assert from 'node:assert/strict';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { AIMessageChunk } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { embedMany, generateText, jsonSchema, stepCountIs, streamText, tool, type ModelMessage } from 'ai';
import {
  compatibleEntry,
  HF_KEY,
  hfEntry,
  lastUsageRow,
  OPENAI_KEY,
  openaiEntry,
  startGateway,
  usageMark,
  type TestGateway,
  type UsageDbRow,
} from '../helpers/gateway.ts';
import { DEFAULT_MICRO, LLAMA_MICRO } from '../helpers/costs.ts';
import { mockVector, MOCK_TEXT, MOCK_USAGE, startMock, TOOL_ANSWER, type MockUpstream } from '../helpers/mock-upstream.ts';

interface Case {
  provider: string;
  model: string;
  /** One mock answer at the model's price. */
  micro: number;
}

const CASES: Case[] = [
  { provider: 'huggingface', model: 'meta-llama/Llama-3.1-8B-Instruct', micro: LLAMA_MICRO },
  { provider: 'openai', model: 'gpt-4o-mini', micro: DEFAULT_MICRO },
  { provider: 'local', model: 'llama3.2', micro: DEFAULT_MICRO },
];

describe('client libraries', () => {
  let hf: MockUpstream;
  let openai: MockUpstream;
  let local: MockUpstream;
  let gateway: TestGateway;
  let apiKey: string;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    openai = await startMock({ flavor: 'openai', apiKey: OPENAI_KEY });
    local = await startMock({ flavor: 'compatible' });
    gateway = await startGateway({ providers: { openai: openaiEntry(openai.url), local: compatibleEntry(local.url), huggingface: hfEntry(hf.url) } });
    apiKey = (await gateway.createKey()).secret;
  });

  after(async () => {
    await gateway.close();
    for (const mock of [hf, openai, local]) await mock.close();
  });

  /** Runs a call and returns the usage row it left. */
  async function billed(call: () => Promise<void>): Promise<UsageDbRow> {
    const mark = await usageMark(gateway);
    await call();
    return lastUsageRow(gateway, mark);
  }

  function assertBilled(row: UsageDbRow, endpoint: string, test: Case, stream: boolean): void {
    assert.deepEqual(
      [row.endpoint, row.provider, row.prompt_tokens, row.completion_tokens, Number(row.cost_micro), Boolean(row.stream), row.status],
      [endpoint, test.provider, MOCK_USAGE.prompt_tokens, MOCK_USAGE.completion_tokens, test.micro, stream, 200],
    );
  }

  describe('@ai-sdk/openai (Responses API by default)', () => {
    const model = (id: string) => createOpenAI({ baseURL: gateway.baseURL, apiKey })(id);

    for (const test of CASES) {
      it(`generateText with ${test.provider}`, async () => {
        const row = await billed(async () => {
          const result = await generateText({ model: model(test.model), prompt: 'Hi', maxRetries: 0 });
          assert.equal(result.text, MOCK_TEXT);
          assert.deepEqual([result.usage.inputTokens, result.usage.outputTokens], [17, 6]);
        });
        assertBilled(row, 'responses', test, false);
      });

      it(`streamText with ${test.provider}`, async () => {
        const row = await billed(async () => {
          const result = streamText({ model: model(test.model), prompt: 'Hi', maxRetries: 0 });
          let text = '';
          for await (const piece of result.textStream) text += piece;
          assert.equal(text, MOCK_TEXT);
          const usage = await result.usage;
          assert.deepEqual([usage.inputTokens, usage.outputTokens], [17, 6]);
        });
        assertBilled(row, 'responses', test, true);
      });
    }

    it('went to /v1/responses at OpenAI and to chat completions elsewhere', () => {
      assert.ok(openai.requestsTo('/v1/responses').length >= 2);
      assert.ok(hf.requestsTo('/v1/chat/completions').length >= 2);
      assert.ok(local.requestsTo('/v1/chat/completions').length >= 2);
    });

    it('continues a conversation from result.response.messages (its item_references are resolved)', async () => {
      const messages: ModelMessage[] = [{ role: 'user', content: 'Hi' }];
      const first = await generateText({ model: model('meta-llama/Llama-3.1-8B-Instruct'), messages, maxRetries: 0 });
      messages.push(...first.response.messages, { role: 'user', content: 'Again' });
      const second = streamText({ model: model('meta-llama/Llama-3.1-8B-Instruct'), messages, maxRetries: 0 });
      messages.push(...(await second.response).messages, { role: 'user', content: 'Bye' });
      await generateText({ model: model('meta-llama/Llama-3.1-8B-Instruct'), messages, maxRetries: 0 });
      assert.deepEqual(hf.lastRequest!.body!.messages, [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: MOCK_TEXT },
        { role: 'user', content: 'Again' },
        { role: 'assistant', content: MOCK_TEXT },
        { role: 'user', content: 'Bye' },
      ]);
    });

    for (const stream of [false, true]) {
      it(`runs a tool loop through the translation (${stream ? 'streamText' : 'generateText'})`, async () => {
        const cities: string[] = [];
        const tools = {
          get_weather: tool({
            description: 'Current weather in a city',
            inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
            execute: async ({ city }) => {
              cities.push(city);
              return { sky: 'sunny' };
            },
          }),
        };
        const options = { model: model('org/tool-call'), prompt: 'Weather in Paris?', tools, stopWhen: stepCountIs(3), maxRetries: 0 };
        let text: string;
        if (stream) {
          const result = streamText(options);
          text = '';
          for await (const piece of result.textStream) text += piece;
        } else {
          text = (await generateText(options)).text;
        }
        assert.equal(text, TOOL_ANSWER);
        assert.deepEqual(cities, ['Paris']);
        const messages = hf.lastRequest!.body!.messages as { role: string; tool_calls?: unknown[]; tool_call_id?: string; content?: unknown }[];
        assert.deepEqual(
          messages.map((message) => message.role),
          ['user', 'assistant', 'tool'],
        );
        assert.equal(messages[1].tool_calls!.length, 1);
        assert.equal(messages[2].tool_call_id, 'call_weather_1');
        assert.deepEqual(JSON.parse(messages[2].content as string), { sky: 'sunny' });
      });
    }
  });

  describe('@ai-sdk/openai-compatible (chat completions)', () => {
    const provider = () => createOpenAICompatible({ name: 'switchyard', baseURL: gateway.baseURL, apiKey, includeUsage: true });

    for (const test of CASES) {
      it(`generateText with ${test.provider}`, async () => {
        const row = await billed(async () => {
          const result = await generateText({ model: provider()(test.model), prompt: 'Hi', maxRetries: 0 });
          assert.equal(result.text, MOCK_TEXT);
          assert.deepEqual([result.usage.inputTokens, result.usage.outputTokens], [17, 6]);
        });
        assertBilled(row, 'chat', test, false);
      });

      it(`streamText with ${test.provider}`, async () => {
        const row = await billed(async () => {
          const result = streamText({ model: provider()(test.model), prompt: 'Hi', maxRetries: 0 });
          let text = '';
          for await (const piece of result.textStream) text += piece;
          assert.equal(text, MOCK_TEXT);
          const usage = await result.usage;
          assert.deepEqual([usage.inputTokens, usage.outputTokens], [17, 6]);
        });
        assertBilled(row, 'chat', test, true);
      });
    }

    it('embedMany (encoding_format float) with huggingface', async () => {
      const texts = ['alpha', 'beta gamma'];
      const row = await billed(async () => {
        const { embeddings } = await embedMany({ model: provider().embeddingModel('BAAI/bge-small-en-v1.5'), values: texts, maxRetries: 0 });
        assert.deepEqual(embeddings, texts.map(mockVector));
      });
      assert.deepEqual([row.endpoint, row.provider, row.completion_tokens, Boolean(row.estimated)], ['embeddings', 'huggingface', 0, true]);
      assert.ok(row.prompt_tokens > 0);
    });
  });

  describe('LangChain ChatOpenAI', () => {
    const chat = (model: string, useResponsesApi = false) =>
      new ChatOpenAI({ model, apiKey, maxRetries: 0, useResponsesApi, configuration: { baseURL: gateway.baseURL } });

    async function streamed(model: ChatOpenAI): Promise<AIMessageChunk> {
      let merged: AIMessageChunk | undefined;
      for await (const chunk of await model.stream('Hi')) merged = merged ? merged.concat(chunk) : chunk;
      return merged!;
    }

    for (const useResponsesApi of [false, true]) {
      const endpoint = useResponsesApi ? 'responses' : 'chat';
      for (const test of CASES) {
        it(`invoke with ${test.provider} (${endpoint})`, async () => {
          const row = await billed(async () => {
            const message = await chat(test.model, useResponsesApi).invoke('Hi');
            assert.equal(message.text, MOCK_TEXT);
            assert.deepEqual([message.usage_metadata?.input_tokens, message.usage_metadata?.output_tokens], [17, 6]);
          });
          assertBilled(row, endpoint, test, false);
        });

        it(`stream with ${test.provider} (${endpoint})`, async () => {
          const row = await billed(async () => {
            const message = await streamed(chat(test.model, useResponsesApi));
            assert.equal(message.text, MOCK_TEXT);
            assert.deepEqual([message.usage_metadata?.input_tokens, message.usage_metadata?.output_tokens], [17, 6]);
          });
          assertBilled(row, endpoint, test, true);
        });
      }
    }
  });
});
