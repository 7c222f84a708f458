/**
 * The legacy completions ↔ chat mapping: request fields, what is refused, the flattened answer, and stream
 * translation over recorded chat event sequences (role-only chunks, usage-only chunks, usage in the last chunk,
 * reasoning deltas, error events, non-JSON).
 */
import assert from 'node:assert/strict';
import { fromChatAnswers } from '../../src/dialects/completions/answer.ts';
import { assertTranslatable, promptsOf, toChatRequest } from '../../src/dialects/completions/request.ts';
import { parseCompletions } from '../../src/endpoints/completions.ts';
import { completionsFromChatStream } from '../../src/dialects/completions/stream.ts';
import { CompletionsStreamMeter } from '../../src/endpoints/completions-stream-meter.ts';
import { InvalidRequestError } from '../../src/errors/gateway-error.ts';
import type { SseEvent } from '../../src/plugin-sdk.ts';

function chunk(delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}): SseEvent {
  return {
    data: JSON.stringify({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 5,
      model: 'org/m',
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra,
    }),
  };
}

async function translate(events: SseEvent[]): Promise<string[]> {
  async function* source(): AsyncGenerator<SseEvent> {
    yield* events;
  }
  const out: string[] = [];
  for await (const event of completionsFromChatStream(source(), 'org/m')) out.push(event.data);
  return out;
}

describe('completions → chat request', () => {
  it('makes the prompt the single user message and carries the rest over', () => {
    const chat = toChatRequest(
      {
        model: 'org/m',
        prompt: ['a', 'b'],
        n: 2,
        stop: 'END',
        temperature: 0.5,
        top_p: 0.9,
        presence_penalty: 0.1,
        frequency_penalty: 0.2,
        seed: 3,
        user: 'u',
        logit_bias: { '50256': -100 },
        max_tokens: 9,
        top_k: 40,
        echo: false,
        suffix: null,
        best_of: 1,
        logprobs: null,
        stream: true,
        stream_options: { include_usage: true },
      },
      'b',
    );
    assert.deepEqual(chat, {
      model: 'org/m',
      messages: [{ role: 'user', content: 'b' }],
      n: 2,
      stop: 'END',
      temperature: 0.5,
      top_p: 0.9,
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
      seed: 3,
      user: 'u',
      max_tokens: 9,
      top_k: 40,
      stream: true,
      stream_options: { include_usage: true },
      logit_bias: { '50256': -100 },
    });
  });

  it("drops an empty logit_bias and bounds the output by OpenAI's default of 16", () => {
    assert.deepEqual(toChatRequest({ model: 'org/m', prompt: 'x', logit_bias: {} }, 'x'), {
      model: 'org/m',
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 16,
    });
  });

  it('accepts the neutral values of the legacy-only fields and a one-prompt list with stream', () => {
    assert.doesNotThrow(() => assertTranslatable({ model: 'm', prompt: ['only'], stream: true, echo: false, suffix: '', best_of: 1, logprobs: null }));
  });

  it('counts prompts as OpenAI does: a flat token-id list is one prompt, a list of lists several', () => {
    assert.deepEqual(promptsOf({ prompt: 'a' }), ['a']);
    assert.deepEqual(promptsOf({ prompt: ['a', 'b'] }), ['a', 'b']);
    assert.deepEqual(promptsOf({ prompt: [1, 2, 3] }), [[1, 2, 3]]);
    assert.deepEqual(promptsOf({ prompt: [[1, 2], [3]] }), [[1, 2], [3]]);
  });

  it('reserves prompts × max(n, best_of) × max_tokens, 16 when unset', () => {
    assert.equal(parseCompletions({ model: 'm', prompt: ['a', 'b', 'c'] }).maxOutputTokens, 48);
    assert.equal(parseCompletions({ model: 'm', prompt: ['a', 'b'], n: 2, max_tokens: 100 }).maxOutputTokens, 400);
    assert.equal(parseCompletions({ model: 'm', prompt: [5, 6, 7, 8], n: 2, best_of: 3, max_tokens: 10 }).maxOutputTokens, 30);
    assert.equal(parseCompletions({ model: 'm', prompt: [5, 6, 7, 8] }).promptTokens, 4);
  });

  it('refuses what chat cannot express, naming the field', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['prompt', { prompt: [1, 2] }],
      ['prompt', { prompt: ['text', [1, 2]] }],
      ['echo', { prompt: 'x', echo: true }],
      ['suffix', { prompt: 'x', suffix: 'y' }],
      ['best_of', { prompt: 'x', best_of: 2 }],
      ['logprobs', { prompt: 'x', logprobs: 0 }],
      ['stream', { prompt: ['x', 'y'], stream: true }],
    ];
    for (const [param, body] of cases) {
      assert.throws(
        () => assertTranslatable({ model: 'm', ...body }),
        (error: InvalidRequestError) => error instanceof InvalidRequestError && error.param === param && error.status === 400,
      );
    }
  });
});

describe('chat answers → text_completion', () => {
  it('lays choices out as index = prompt × n + choice, each chat answer in its own index order', () => {
    const answer = (prompt: string, reasons: string[]) => ({
      id: 'chatcmpl-xyz',
      created: 9,
      model: 'org/m',
      // Out of order on purpose: a server may list choices in any order.
      choices: reasons.map((reason, j) => ({ index: j, message: { role: 'assistant', content: `${prompt}${j}` }, finish_reason: reason })).reverse(),
    });
    const body = fromChatAnswers([answer('p', ['stop', 'length']), answer('q', ['tool_calls', 'content_filter'])], 2, 'org/m');
    assert.deepEqual(body, {
      id: 'cmpl-xyz',
      object: 'text_completion',
      created: 9,
      model: 'org/m',
      choices: [
        { text: 'p0', index: 0, logprobs: null, finish_reason: 'stop' },
        { text: 'p1', index: 1, logprobs: null, finish_reason: 'length' },
        { text: 'q0', index: 2, logprobs: null, finish_reason: 'stop' },
        { text: 'q1', index: 3, logprobs: null, finish_reason: 'content_filter' },
      ],
    });
  });

  it('reads text from content parts and a null content as empty', () => {
    const body = fromChatAnswers(
      [
        {
          choices: [
            {
              index: 0,
              message: {
                content: [
                  { type: 'text', text: 'a' },
                  { type: 'text', text: 'b' },
                ],
              },
              finish_reason: 'stop',
            },
          ],
        },
        { choices: [{ index: 0, message: { content: null }, finish_reason: 'stop' }] },
      ],
      1,
      'org/m',
    );
    assert.deepEqual(
      (body.choices as { text: string }[]).map((choice) => choice.text),
      ['ab', ''],
    );
  });
});

describe('chat stream → completions stream', () => {
  it('turns deltas into text chunks, skips the role-only and reasoning chunks, keeps the usage-only chunk and [DONE]', async () => {
    const out = await translate([
      chunk({ role: 'assistant', content: '' }),
      chunk({ reasoning_content: 'thinking' }),
      chunk({ content: 'Hel' }),
      chunk({ content: 'lo' }),
      chunk({}, 'stop'),
      {
        data: JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion.chunk',
          created: 5,
          model: 'org/m',
          choices: [],
          usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
        }),
      },
      { data: '[DONE]' },
    ]);
    assert.deepEqual(out, [
      JSON.stringify({
        id: 'cmpl-1',
        object: 'text_completion',
        created: 5,
        model: 'org/m',
        choices: [{ text: 'Hel', index: 0, logprobs: null, finish_reason: null }],
      }),
      JSON.stringify({
        id: 'cmpl-1',
        object: 'text_completion',
        created: 5,
        model: 'org/m',
        choices: [{ text: 'lo', index: 0, logprobs: null, finish_reason: null }],
      }),
      JSON.stringify({
        id: 'cmpl-1',
        object: 'text_completion',
        created: 5,
        model: 'org/m',
        choices: [{ text: '', index: 0, logprobs: null, finish_reason: 'stop' }],
      }),
      JSON.stringify({
        id: 'cmpl-1',
        object: 'text_completion',
        created: 5,
        model: 'org/m',
        choices: [],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      }),
      '[DONE]',
    ]);
  });

  it('keeps usage sent in the last content chunk, and passes error events and non-JSON unchanged', async () => {
    const error = JSON.stringify({ error: 'Model overloaded', error_type: 'overloaded' });
    const out = await translate([
      chunk({ content: 'x' }, 'length', { usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }),
      { data: error },
      { data: 'not json' },
    ]);
    assert.deepEqual(JSON.parse(out[0]).usage, { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 });
    assert.equal(JSON.parse(out[0]).choices[0].finish_reason, 'length');
    assert.deepEqual(out.slice(1), [error, 'not json']);
  });

  it('meters the translated stream: the usage chunk is held for the end, text counted when no usage came', async () => {
    const withUsage = new CompletionsStreamMeter(10, true, 'hf');
    const events = await translate([
      chunk({ content: 'Hello there' }),
      { data: JSON.stringify({ id: 'c', choices: [], usage: { prompt_tokens: 4, completion_tokens: 2 } }) },
    ]);
    assert.deepEqual(
      events.map((data) => withUsage.inspect({ data })),
      ['forward', 'hold'],
    );
    assert.deepEqual(withUsage.usage(), { promptTokens: 4, completionTokens: 2, estimated: false });

    const counted = new CompletionsStreamMeter(10, true, 'hf');
    for (const data of await translate([chunk({ content: 'Hello there' }), chunk({}, 'stop')])) counted.inspect({ data });
    assert.deepEqual(counted.usage(), { promptTokens: 10, completionTokens: 2, estimated: true });
    const closing = JSON.parse(counted.closing({ tokens_charged: 12, cost_usd: 0, request_ms: 1, estimated: true })[0].data);
    assert.equal(closing.object, 'text_completion');
    assert.deepEqual(closing.choices, []);
  });
});
