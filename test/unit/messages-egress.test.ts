/** The chat → Messages egress translation: requests, answers and the stream state machine, edge cases included. */
import assert from 'node:assert/strict';
import { chatRequestToMessages } from '../../src/dialects/messages/chat-request-to-messages.ts';
import { eventsToChatStream } from '../../src/dialects/messages/events-to-chat-stream.ts';
import { messageToChatAnswer } from '../../src/dialects/messages/message-to-chat-answer.ts';
import { type GatewayError, InvalidRequestError, UpstreamError } from '../../src/errors/gateway-error.ts';
import { costMicro, PriceBook, worstCaseMicro } from '../../src/metering/pricing.ts';
import type { SseEvent } from '../../src/upstream/sse.ts';

const user = (content: unknown) => ({ role: 'user', content });

function translate(extra: Record<string, unknown>, messages: unknown[] = [user('Hi')]): Record<string, unknown> {
  return chatRequestToMessages({ model: 'claude-x', messages, ...extra }, 1000);
}

describe('chat request → Messages', () => {
  it('prefers max_completion_tokens, then max_tokens, then the cap', () => {
    assert.equal(translate({ max_tokens: 5, max_completion_tokens: 7 }).max_tokens, 7);
    assert.equal(translate({ max_tokens: 5 }).max_tokens, 5);
    assert.equal(translate({}).max_tokens, 1000);
  });

  it('puts tool results first in the user turn they share with the text that follows them', () => {
    const out = translate({}, [
      user('Weather?'),
      { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'w', arguments: '' } }] },
      { role: 'tool', tool_call_id: 't1', content: 'sunny' },
      user('And tomorrow?'),
    ]);
    assert.deepEqual(out.messages, [
      { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'w', input: {} }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: 'sunny' },
          { type: 'text', text: 'And tomorrow?' },
        ],
      },
    ]);
  });

  it('leaves out empty turns', () => {
    const out = translate({}, [user('Hi'), { role: 'assistant', content: '' }, user('Still there?')]);
    assert.deepEqual(out.messages, [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Hi' },
          { type: 'text', text: 'Still there?' },
        ],
      },
    ]);
  });

  it('keeps cache_control breakpoints on system parts, content parts and tools', () => {
    const cache = { type: 'ephemeral' };
    const out = translate({ tools: [{ type: 'function', function: { name: 'w', parameters: { type: 'object' } }, cache_control: cache }] }, [
      { role: 'system', content: [{ type: 'text', text: 'Long context', cache_control: cache }] },
      user([{ type: 'text', text: 'Hi', cache_control: cache }]),
    ]);
    assert.deepEqual(out.system, [{ type: 'text', text: 'Long context', cache_control: cache }]);
    assert.deepEqual(out.messages, [{ role: 'user', content: [{ type: 'text', text: 'Hi', cache_control: cache }] }]);
    assert.deepEqual(out.tools, [{ name: 'w', input_schema: { type: 'object' }, cache_control: cache }]);
  });

  it('maps parallel_tool_calls: false onto tool_choice, and drops tool_choice without tools', () => {
    const tools = [{ type: 'function', function: { name: 'w' } }];
    assert.deepEqual(translate({ tools, parallel_tool_calls: false }).tool_choice, { type: 'auto', disable_parallel_tool_use: true });
    assert.deepEqual(translate({ tools, parallel_tool_calls: false, tool_choice: 'none' }).tool_choice, { type: 'none' });
    assert.deepEqual(translate({ tools }).tools, [{ name: 'w', input_schema: { type: 'object', properties: {} } }]);
    assert.equal('tool_choice' in translate({ tool_choice: 'required' }), false);
  });

  it('sends stop lists and drops what Messages has no field for', () => {
    const out = translate({
      stop: ['a', 'b'],
      seed: 1,
      presence_penalty: 0.5,
      response_format: { type: 'text' },
      stream_options: { include_usage: true },
      n: 1,
    });
    assert.deepEqual(out, {
      model: 'claude-x',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      max_tokens: 1000,
      stop_sequences: ['a', 'b'],
    });
  });

  it('refuses input it cannot translate, naming the parameter', () => {
    const refuses = (extra: Record<string, unknown>, messages: unknown[] | undefined, param: string) =>
      assert.throws(
        () => translate(extra, messages),
        (error: GatewayError) => error instanceof InvalidRequestError && error.param === param,
      );
    refuses({}, [user([{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }])], 'messages[0].content[0].image_url.url');
    refuses({}, [user([{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }])], 'messages[0].content[0]');
    refuses({}, [{ role: 'narrator', content: 'x' }], 'messages[0].role');
    refuses(
      {},
      [user('x'), { role: 'assistant', tool_calls: [{ id: 't', type: 'function', function: { name: 'w', arguments: '[1]' } }] }],
      'messages[1].tool_calls[0].function.arguments',
    );
    refuses({ tools: [{ type: 'custom', custom: { name: 'x' } }] }, undefined, 'tools[0]');
    refuses({ logprobs: true }, undefined, 'logprobs');
    refuses({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {} } } }, undefined, 'response_format');
  });
});

async function* feed(events: Record<string, unknown>[]): AsyncGenerator<SseEvent> {
  for (const event of events) yield { event: String(event.type), data: JSON.stringify(event) };
}

interface Chunk {
  id: string;
  choices: { delta: { tool_calls?: unknown[] } & Record<string, unknown>; finish_reason: string | null }[];
  usage?: unknown;
}

async function collect(events: Record<string, unknown>[]): Promise<Chunk[]> {
  const out: Chunk[] = [];
  for await (const event of eventsToChatStream(feed(events), 'claude')) out.push(JSON.parse(event.data) as Chunk);
  return out;
}

const START = { type: 'message_start', message: { id: 'msg_1', model: 'claude-x', usage: { input_tokens: 10, cache_read_input_tokens: 5, output_tokens: 1 } } };

describe('Messages stream → chat chunks', () => {
  it('takes usage from message_start and the totals message_delta carries, and ignores pings', async () => {
    const chunks = await collect([
      { type: 'ping' },
      START,
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'max_tokens' }, usage: { output_tokens: 3, cache_creation_input_tokens: 2 } },
      { type: 'message_stop' },
    ]);
    assert.deepEqual(
      chunks.map((chunk) => chunk.choices[0]?.delta ?? null),
      [{ role: 'assistant', content: '' }, { content: 'Hi' }, {}, null],
    );
    assert.equal(chunks[2].choices[0].finish_reason, 'length');
    assert.deepEqual(chunks[3].usage, {
      prompt_tokens: 17,
      completion_tokens: 3,
      total_tokens: 20,
      prompt_tokens_details: { cached_tokens: 5, cache_write_tokens: 2 },
    });
    assert.equal(chunks[0].id, 'msg_1');
  });

  it('sends a tool input given whole in content_block_start when no input_json_delta follows', async () => {
    const chunks = await collect([
      START,
      { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'tu_1', name: 'w', input: { city: 'Oslo' } } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'tu_2', name: 'w', input: {} } },
      { type: 'content_block_stop', index: 1 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 3 } },
      { type: 'message_stop' },
    ]);
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? []);
    assert.deepEqual(calls, [
      { index: 0, id: 'tu_1', type: 'function', function: { name: 'w', arguments: '' } },
      { index: 0, function: { arguments: '{"city":"Oslo"}' } },
      { index: 1, id: 'tu_2', type: 'function', function: { name: 'w', arguments: '' } },
      { index: 1, function: { arguments: '{}' } },
    ]);
  });

  it('throws a rate-limit error for an error event, and an upstream error for a stream cut before message_stop', async () => {
    await assert.rejects(
      collect([START, { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }]),
      (error: GatewayError) => error.status === 429 && /slow down/.test(error.message),
    );
    await assert.rejects(collect([START]), (error: GatewayError) => error instanceof UpstreamError && /message_stop/.test(error.message));
  });
});

describe('Messages answer → chat completion', () => {
  it('maps every stop reason', () => {
    const finish = (stop_reason: string) =>
      (messageToChatAnswer({ type: 'message', content: [], stop_reason }, 'c').choices as { finish_reason: string }[])[0].finish_reason;
    assert.deepEqual(['end_turn', 'stop_sequence', 'max_tokens', 'tool_use', 'refusal', 'pause_turn'].map(finish), [
      'stop',
      'stop',
      'length',
      'tool_calls',
      'content_filter',
      'stop',
    ]);
  });

  it('refuses a body that is not a message', () => {
    assert.throws(() => messageToChatAnswer({ type: 'error', error: {} }, 'c'), UpstreamError);
  });
});

describe('prompt-cache pricing', () => {
  it('prices plain input, cache reads and writes apart and rounds up once', () => {
    const price = new PriceBook({ 'claude-*': { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 } }).priceOf('claude-x');
    // 1 plain × 3 + 1 read × 0.3 + 1 write × 3.75 = 7.05 micro-USD → 8 (one rounding, not three).
    assert.equal(costMicro(price, 3, 0, { cacheReadTokens: 1, cacheWriteTokens: 1 }), 8);
    assert.equal(costMicro(price, 3, 0), 9);
  });

  it('reserves the prompt at the dearest input rate, so a hold covers cache writes', () => {
    const price = new PriceBook({ default: { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 } }).priceOf('any');
    assert.equal(worstCaseMicro(price, 100, 10), 375 + 150);
    assert.equal(worstCaseMicro(new PriceBook({ default: { input: 3, output: 15 } }).priceOf('any'), 100, 10), 300 + 150);
  });

  it('defaults both cache rates to input', () => {
    const price = new PriceBook({ default: { input: 2, output: 4 } }).priceOf('any');
    assert.equal(costMicro(price, 10, 1, { cacheReadTokens: 4, cacheWriteTokens: 3 }), 24);
  });
});
