/**
 * Legacy `POST /v1/completions` with the real `openai` SDK: translated to chat for the HF router (one call per
 * prompt, choices prompt-major, usage summed, one usage row, partial failures charged), native on OpenAI and on an
 * openai-compatible entry with `supports.completions`, and the 400s for what chat cannot express.
 */
import assert from 'node:assert/strict';
import type { APIError } from 'openai';
import { CANARY, compatibleEntry, eventually, HF_KEY, hfEntry, OPENAI_KEY, openaiEntry, startGateway, usageRow, type TestGateway } from '../helpers/gateway.ts';
import { assertBalanced, booksOf } from '../helpers/ledger.ts';
import { echoText, echoUsage, NATIVE_COMPLETION_USAGE } from '../helpers/mock-completions.ts';
import { MOCK_TEXT, startMock, type MockUpstream, type RecordedRequest } from '../helpers/mock-upstream.ts';
import { PARALLEL_CALLS } from '../../src/endpoints/completions.ts';

/** A meta-llama model (priced 0.20 in / 0.60 out per million in the test config) whose mock answers echo the prompt. */
const ECHO = 'meta-llama/echo';

/** micro-USD of token sums at meta-llama's price, rounded up once: (0.2 × in + 0.6 × out) = (2 × in + 6 × out) / 10. */
function llamaMicro(promptTokens: number, completionTokens: number): number {
  return Math.ceil((2 * promptTokens + 6 * completionTokens) / 10);
}

interface WithGatewayUsage {
  gateway_usage: { tokens_charged: number; cost_usd: number };
}

/** One `text_completion` chunk of a stream as the gateway sends it; the last one carries the usage. */
interface CompletionChunk extends WithGatewayUsage {
  object: string;
  choices: { text: string; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

describe('legacy completions', () => {
  let hf: MockUpstream;
  let openai: MockUpstream;
  let vllm: MockUpstream;
  let ollama: MockUpstream;
  let tgi: MockUpstream;
  let gateway: TestGateway;
  let apiKey: string;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    openai = await startMock({ flavor: 'openai', apiKey: OPENAI_KEY });
    vllm = await startMock({ flavor: 'compatible', completions: true });
    ollama = await startMock({ flavor: 'compatible' });
    tgi = await startMock({ flavor: 'compatible', completions: true, streamUsage: false });
    gateway = await startGateway({
      providers: {
        openai: openaiEntry(openai.url),
        vllm: compatibleEntry(vllm.url, { models: ['vllm/*'], supports: { completions: true } }),
        ollama: compatibleEntry(ollama.url, { models: ['llama3*'] }),
        // Flags as `${VAR}` substitution leaves them: strings.
        tgi: compatibleEntry(tgi.url, { models: ['tgi/*'], supports: { completions: 'true', stream_usage: 'false' } }),
        huggingface: hfEntry(hf.url),
      },
    });
    apiKey = (await gateway.createKey()).secret;
  });

  after(async () => {
    await gateway.close();
    for (const mock of [hf, openai, vllm, ollama, tgi]) await mock.close();
  });

  const db = () => gateway.running.deps.db;

  describe('translated to chat completions (Hugging Face router)', () => {
    it('answers a single prompt as a text_completion, the prompt the single user message', async () => {
      const before = hf.requests.length;
      const { data, response } = await gateway
        .client(apiKey)
        .completions.create({ model: ECHO, prompt: `Say hi ${CANARY}`, max_tokens: 20, temperature: 0.3, stop: ['\n'], seed: 7, user: 'u-1', logit_bias: {} })
        .withResponse();
      assert.equal(data.object, 'text_completion');
      assert.match(data.id, /^cmpl-/);
      assert.equal(data.model, ECHO);
      assert.deepEqual(data.choices, [{ text: echoText(`Say hi ${CANARY}`, 0), index: 0, logprobs: null, finish_reason: 'stop' }]);
      const usage = echoUsage(`Say hi ${CANARY}`, 1);
      assert.deepEqual(data.usage, usage);
      assert.equal((data as unknown as WithGatewayUsage).gateway_usage.tokens_charged, usage.total_tokens);
      const sent = hf.requests.slice(before);
      assert.equal(sent.length, 1);
      assert.equal(sent[0].path, '/v1/chat/completions');
      // `logit_bias: {}` says nothing and some chat servers refuse it; everything else carries over.
      assert.deepEqual(sent[0].body, {
        model: ECHO,
        messages: [{ role: 'user', content: `Say hi ${CANARY}` }],
        max_tokens: 20,
        temperature: 0.3,
        stop: ['\n'],
        seed: 7,
        user: 'u-1',
      });
      const row = await usageRow(gateway, response.headers.get('x-request-id')!);
      assert.deepEqual(
        [row.endpoint, row.provider, row.model, row.prompt_tokens, row.completion_tokens, row.status],
        ['completions', 'huggingface', ECHO, usage.prompt_tokens, usage.completion_tokens, 200],
      );
    });

    it("bounds the output by OpenAI's legacy default of 16 tokens when max_tokens is unset", async () => {
      const before = hf.requests.length;
      await gateway.client(apiKey).completions.create({ model: ECHO, prompt: 'Hi' });
      assert.equal(hf.requests[before].body?.max_tokens, 16);
    });

    it('fans two prompts with n: 2 out to two chat calls: four choices prompt-major, usage summed, charged the exact sum', async () => {
      const { secret, record } = await gateway.createKey({ credits_usd: 1 });
      const prompts = ['pear', 'plum'];
      const before = hf.requests.length;
      const { data, response } = await gateway.client(secret).completions.create({ model: ECHO, prompt: prompts, n: 2, max_tokens: 30 }).withResponse();
      assert.deepEqual(
        data.choices.map((choice) => [choice.index, choice.text]),
        [
          [0, echoText('pear', 0)],
          [1, echoText('pear', 1)],
          [2, echoText('plum', 0)],
          [3, echoText('plum', 1)],
        ],
      );
      const calls = prompts.map((prompt) => echoUsage(prompt, 2));
      const promptTokens = calls[0].prompt_tokens + calls[1].prompt_tokens;
      const completionTokens = calls[0].completion_tokens + calls[1].completion_tokens;
      assert.deepEqual(data.usage, { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens });
      const sent = hf.requests.slice(before).map((request) => [request.body?.n, (request.body?.messages as { content: string }[] | undefined)?.[0].content]);
      assert.deepEqual(sent.sort(), [
        [2, 'pear'],
        [2, 'plum'],
      ]);
      // Each call alone would cost 11.2 micro-USD (12 rounded); the request costs 22.4, rounded up once.
      const micro = llamaMicro(promptTokens, completionTokens);
      assert.equal(micro, 23);
      assert.equal((data as unknown as WithGatewayUsage).gateway_usage.cost_usd, micro / 1e6);
      const row = await usageRow(gateway, response.headers.get('x-request-id')!);
      assert.equal(Number(row.cost_micro), micro);
      const books = await booksOf(db(), record.id);
      assert.equal(books.usageRows, 1);
      assert.equal(books.unspentMicro, 1_000_000 - micro);
      assertBalanced(books, assert);
    });

    it('streams a single prompt as text_completion chunks, the usage chunk when asked, then [DONE]', async () => {
      const response = await fetch(`${gateway.baseURL}/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: ECHO, prompt: 'Tell me', stream: true, stream_options: { include_usage: true } }),
      });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type')!, /^text\/event-stream/);
      const frames = (await response.text()).split('\n\n').filter(Boolean);
      assert.equal(frames.at(-1), 'data: [DONE]');
      const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame.replace(/^data: /, '')) as CompletionChunk);
      assert.ok(chunks.every((chunk) => chunk.object === 'text_completion'));
      const text = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.text)).join('');
      assert.equal(text, echoText('Tell me', 0));
      assert.equal(chunks.at(-2)!.choices[0].finish_reason, 'stop');
      const last = chunks.at(-1)!;
      assert.deepEqual(last.choices, []);
      assert.deepEqual(last.usage, { prompt_tokens: 17, completion_tokens: 6, total_tokens: 23 });
      assert.equal(last.gateway_usage.tokens_charged, 23);
      const row = await usageRow(gateway, response.headers.get('x-request-id')!);
      assert.deepEqual([row.endpoint, Boolean(row.stream), row.prompt_tokens, row.completion_tokens], ['completions', true, 17, 6]);
      // Usage is always asked upstream, whatever the client asked.
      assert.deepEqual(hf.lastRequest?.body?.stream_options, { include_usage: true });
    });

    it('streams through the SDK without a usage chunk when none was asked', async () => {
      const stream = await gateway.client(apiKey).completions.create({ model: ECHO, prompt: 'Stream it', stream: true });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      assert.equal(chunks.map((chunk) => chunk.choices[0]?.text ?? '').join(''), echoText('Stream it', 0));
      assert.ok(chunks.every((chunk) => chunk.choices.length > 0 && chunk.usage === undefined));
    });

    const refusals: [string, Record<string, unknown>][] = [
      ['stream', { prompt: ['one', 'two'], stream: true }],
      ['prompt', { prompt: [1212, 318] }],
      ['prompt', { prompt: [[1212, 318], [257]] }],
      ['echo', { prompt: 'Hi', echo: true }],
      ['suffix', { prompt: 'def f(', suffix: '\n    return x' }],
      ['best_of', { prompt: 'Hi', best_of: 3 }],
      ['logprobs', { prompt: 'Hi', logprobs: 2 }],
    ];
    for (const [param, fields] of refusals) {
      it(`answers 400 invalid_request naming '${param}' for ${JSON.stringify(fields)}, without an upstream call`, async () => {
        const before = hf.requests.length;
        const error = await gateway
          .client(apiKey)
          .completions.create({ model: ECHO, ...fields } as never)
          .then(
            () => assert.fail('expected 400'),
            (e: APIError) => e,
          );
        assert.equal(error.status, 400);
        assert.equal(error.code, 'invalid_request');
        assert.equal(error.param, param);
        assert.equal(error.type, 'invalid_request_error');
        assert.equal(hf.requests.length, before);
        const row = await usageRow(gateway, error.requestID!);
        assert.deepEqual([row.status, row.error_code, Number(row.cost_micro)], [400, 'invalid_request', 0]);
      });
    }

    it('fails with the failing call’s error, charges the finished call’s tokens, one usage row', async () => {
      const { secret, record } = await gateway.createKey({ credits_usd: 1 });
      const failing = `fail-after-${hf.chatAnswers + 1}`;
      const error = await gateway
        .client(secret)
        .completions.create({ model: ECHO, prompt: ['first', failing], max_tokens: 10 })
        .then(
          () => assert.fail('expected a failure'),
          (e: APIError) => e,
        );
      assert.equal(error.status, 502);
      assert.equal(error.code, 'upstream_error');
      assert.match(error.message, /huggingface answered HTTP 500: Internal server error: the generation failed/);
      const first = echoUsage('first', 1);
      const row = await usageRow(gateway, error.requestID!);
      assert.deepEqual(
        [row.status, row.error_code, row.prompt_tokens, row.completion_tokens],
        [502, 'upstream_error', first.prompt_tokens, first.completion_tokens],
      );
      assert.equal(Number(row.cost_micro), llamaMicro(first.prompt_tokens, first.completion_tokens));
      const books = await booksOf(db(), record.id);
      assert.equal(books.usageRows, 1);
      assert.equal(books.unspentMicro, 1_000_000 - llamaMicro(first.prompt_tokens, first.completion_tokens));
      assertBalanced(books, assert);
    });

    it("answers 400 naming 'n' when the server ignores n (fewer choices than asked), charged once for what it generated", async () => {
      const { secret } = await gateway.createKey({ credits_usd: 1 });
      const before = hf.requests.length;
      const error = await gateway
        .client(secret)
        .completions.create({ model: 'meta-llama/Llama-3.1-8B-Instruct', prompt: 'Hi', n: 2, max_tokens: 10 })
        .then(
          () => assert.fail('expected a failure'),
          (e: APIError) => e,
        );
      assert.deepEqual([error.status, error.code, error.param], [400, 'unsupported_parameter', 'n']);
      assert.match(error.message, /huggingface answered 1 choice where n=2 were asked/);
      assert.equal(hf.requests.length - before, 1, 'not retried: the server would ignore n again');
      const row = await usageRow(gateway, error.requestID!);
      assert.deepEqual([row.status, row.error_code, row.prompt_tokens, row.completion_tokens], [400, 'unsupported_parameter', 17, 6]);
      assert.equal(Number(row.cost_micro), llamaMicro(17, 6));
    });

    it('aborts the calls still running when one fails', async () => {
      const aborted = hf.nextAbort();
      const failing = `fail-after-${hf.chatAnswers + 1}`;
      const error = await gateway
        .client(apiKey)
        .completions.create({ model: ECHO, prompt: ['done', failing, 'hang here'] })
        .then(
          () => assert.fail('expected a failure'),
          (e: APIError) => e,
        );
      assert.equal(error.status, 502);
      await aborted;
      const row = await usageRow(gateway, error.requestID!);
      assert.deepEqual([row.prompt_tokens, row.completion_tokens], [echoUsage('done', 1).prompt_tokens, echoUsage('done', 1).completion_tokens]);
    });

    it('charges the finished calls of a client that leaves mid-request, aborts the rest, and starts at most PARALLEL_CALLS at once', async () => {
      const { secret, record } = await gateway.createKey({ credits_usd: 1 });
      // With every worker busy on a hanging prompt, the last one starts only once `quick` is done on the gateway side.
      const hangs = Array.from({ length: PARALLEL_CALLS }, (_, i) => `hang ${i}`);
      const lastStarted = new Promise<void>((resolve) => {
        const onRequest = (request: RecordedRequest): void => {
          if ((request.body?.messages as { content?: string }[] | undefined)?.[0]?.content !== hangs.at(-1)) return;
          hf.off('request', onRequest);
          resolve();
        };
        hf.on('request', onRequest);
      });
      const client = new AbortController();
      const request = fetch(`${gateway.baseURL}/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: ECHO, prompt: ['quick', ...hangs, 'never started'], max_tokens: 10 }),
        signal: client.signal,
      }).catch((error: Error) => error);
      await lastStarted;
      const aborted = hf.nextAbort();
      client.abort();
      assert.equal(((await request) as Error).name, 'AbortError');
      await aborted;
      // The bound held: the prompt after the hanging ones never went upstream.
      assert.equal(
        hf.requests.some((sent) => (sent.body?.messages as { content?: string }[] | undefined)?.[0]?.content === 'never started'),
        false,
      );
      const row = await eventually(async () => {
        await gateway.running.deps.writer.flush();
        return db()('usage').where({ key_id: record.id }).first();
      });
      const quick = echoUsage('quick', 1);
      assert.deepEqual(
        [row.status, row.error_code, row.prompt_tokens, row.completion_tokens],
        [499, 'client_closed_request', quick.prompt_tokens, quick.completion_tokens],
      );
      assert.equal(Number(row.cost_micro), llamaMicro(quick.prompt_tokens, quick.completion_tokens));
      assertBalanced(await booksOf(db(), record.id), assert);
    });

    it('reserves every prompt × n × max_tokens before any upstream call', async () => {
      const { secret } = await gateway.createKey({ trial_tokens: 3000 });
      const before = hf.requests.length;
      const error = await gateway
        .client(secret)
        .completions.create({ model: ECHO, prompt: ['a', 'b'], n: 2, max_tokens: 1000 })
        .then(
          () => assert.fail('expected 402'),
          (e: APIError) => e,
        );
      assert.equal(error.status, 402);
      assert.equal(error.code, 'trial_exhausted');
      assert.equal(hf.requests.length, before);
      // One prompt, one choice of the same bound fits the same allowance.
      const ok = await gateway.client(secret).completions.create({ model: ECHO, prompt: 'a', max_tokens: 1000 });
      assert.equal(ok.choices[0].text, echoText('a', 0));
    });
  });

  describe('native where the provider has the endpoint', () => {
    it('passes an OpenAI request through untranslated, minus `provider`: echo, suffix, logprobs and token ids included', async () => {
      const sent = {
        model: 'gpt-3.5-turbo-instruct',
        prompt: [[1212, 318], 'text'],
        max_tokens: 5,
        echo: true,
        suffix: '!',
        logprobs: 2,
        best_of: 2,
        n: 1,
        logit_bias: {},
      };
      const { data, response } = await gateway
        .client(apiKey)
        .completions.create({ ...sent, provider: 'openai' } as never)
        .withResponse();
      assert.equal(openai.lastRequest?.path, '/v1/completions');
      assert.deepEqual(openai.lastRequest?.body, sent);
      assert.deepEqual(
        data.choices.map((choice) => choice.text),
        ['native 0: [1212,318]', 'native 0: text'],
      );
      assert.deepEqual(data.usage, NATIVE_COMPLETION_USAGE);
      // gpt-* is priced at the default 0.50 / 1.50.
      const micro = Math.ceil((5 * NATIVE_COMPLETION_USAGE.prompt_tokens + 15 * NATIVE_COMPLETION_USAGE.completion_tokens) / 10);
      assert.equal((data as unknown as WithGatewayUsage).gateway_usage.cost_usd, micro / 1e6);
      const row = await usageRow(gateway, response.headers.get('x-request-id')!);
      assert.deepEqual([row.endpoint, row.provider, Number(row.cost_micro)], ['completions', 'openai', micro]);
    });

    it('streams natively from OpenAI, asking for usage upstream', async () => {
      const stream = await gateway
        .client(apiKey)
        .completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Go', max_tokens: 5, stream: true, stream_options: { include_usage: true } });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      assert.equal(chunks.map((chunk) => chunk.choices[0]?.text ?? '').join(''), 'native 0: Go');
      assert.deepEqual(chunks.at(-1)?.usage, NATIVE_COMPLETION_USAGE);
      assert.deepEqual(openai.lastRequest?.body?.stream_options, { include_usage: true });
    });

    it('sends an openai-compatible entry with supports.completions to its own /completions', async () => {
      const data = await gateway.client(apiKey).completions.create({ model: 'vllm/qwen', prompt: 'Native?', max_tokens: 8, echo: true });
      assert.equal(vllm.lastRequest?.path, '/v1/completions');
      assert.deepEqual(vllm.lastRequest?.body, { model: 'vllm/qwen', prompt: 'Native?', max_tokens: 8, echo: true });
      assert.equal(data.choices[0].text, 'native 0: Native?');
    });

    it('counts the tokens of a native answer without usage, and shows the count in the answer', async () => {
      const data = await gateway.client(apiKey).completions.create({ model: 'vllm/no-usage', prompt: 'Count me', max_tokens: 8 });
      assert.equal(data.choices[0].text, 'native 0: Count me');
      assert.ok(data.usage && data.usage.prompt_tokens > 0 && data.usage.completion_tokens > 0, JSON.stringify(data.usage));
      assert.equal((data as unknown as { gateway_usage: { estimated?: boolean } }).gateway_usage.estimated, true);
    });

    it('counts the tokens of a native stream from a server that reports no stream usage, and sends it no stream_options', async () => {
      const stream = await gateway
        .client(apiKey)
        .completions.create({ model: 'tgi/zephyr', prompt: 'Go', max_tokens: 8, stream: true, stream_options: { include_usage: true } });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      assert.equal('stream_options' in tgi.lastRequest!.body!, false);
      assert.equal(chunks.map((chunk) => chunk.choices[0]?.text ?? '').join(''), 'native 0: Go');
      const last = chunks.at(-1) as unknown as {
        object: string;
        choices: unknown[];
        usage: { completion_tokens: number };
        gateway_usage: { estimated?: boolean };
      };
      assert.equal(last.object, 'text_completion');
      assert.deepEqual(last.choices, []);
      assert.ok(last.usage.completion_tokens > 0);
      assert.equal(last.gateway_usage.estimated, true);
    });

    it('translates for an openai-compatible entry without the flag (the default)', async () => {
      const data = await gateway.client(apiKey).completions.create({ model: 'llama3.2', prompt: 'Translated?', max_tokens: 8 });
      assert.equal(ollama.lastRequest?.path, '/v1/chat/completions');
      assert.equal(data.choices[0].text, MOCK_TEXT);
      assert.equal(data.object, 'text_completion');
    });
  });
});
