/** The Messages stream meter: usage from native and translated events, held final events, cut-short streams, errors. */
import assert from 'node:assert/strict';
import { GatewayError, UpstreamError } from '../../src/errors/gateway-error.ts';
import { MessagesStreamMeter } from '../../src/endpoints/messages/stream-meter.ts';
import type { SseEvent } from '../../src/plugin-sdk.ts';

const e = (type: string, payload: Record<string, unknown> = {}): SseEvent => ({ event: type, data: JSON.stringify({ type, ...payload }) });
const START = e('message_start', {
  message: { id: 'msg_1', content: [], usage: { input_tokens: 10, cache_read_input_tokens: 100, cache_creation_input_tokens: 20, output_tokens: 1 } },
});
const GATEWAY_USAGE = { tokens_charged: 1, cost_usd: 0, request_ms: 1 };

describe('messages: stream meter', () => {
  it('counts cache reads and writes in the prompt, holds message_delta and ends at message_stop', () => {
    const meter = new MessagesStreamMeter(50, 'claude');
    const verdicts = [
      START,
      e('ping'),
      START,
      e('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      e('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hi' } }),
      e('content_block_stop', { index: 0 }),
      e('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 7 } }),
      e('message_stop'),
    ].map((event) => meter.inspect(event));
    assert.deepEqual(verdicts, ['forward', 'forward', 'hold', 'forward', 'forward', 'forward', 'hold', 'done']);
    assert.deepEqual(meter.usage(), { promptTokens: 130, completionTokens: 7, estimated: false, cacheReadTokens: 100, cacheWriteTokens: 20 });
    const closing = meter.closing(GATEWAY_USAGE);
    assert.deepEqual(
      closing.map((event) => event.event),
      ['message_delta', 'message_stop'],
    );
    const delta = JSON.parse(closing[0].data);
    assert.deepEqual(delta, {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 7 },
      gateway_usage: GATEWAY_USAGE,
    });
  });

  it('takes message_delta totals over message_start, and a translated delta marked estimated', () => {
    const meter = new MessagesStreamMeter(50, 'hf');
    meter.inspect(START);
    meter.inspect({
      ...e('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 12, output_tokens: 3 } }),
      estimated: true,
    } as SseEvent);
    assert.deepEqual(meter.usage(), { promptTokens: 132, completionTokens: 3, estimated: true, cacheReadTokens: 100, cacheWriteTokens: 20 });
  });

  it('a stream cut short is charged its prompt and the count of what was streamed, and ends with an error event', () => {
    const meter = new MessagesStreamMeter(50, 'hf');
    meter.inspect(e('message_start', { message: { usage: { input_tokens: 40, output_tokens: 0 } } }));
    meter.inspect(e('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hello there' } }));
    meter.inspect(e('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":' } }));
    const usage = meter.usage();
    assert.equal(usage.promptTokens, 40);
    assert.ok(usage.completionTokens >= 4);
    assert.equal(usage.estimated, true);
    const [closing] = meter.closing(GATEWAY_USAGE);
    assert.equal(closing.event, 'error');
    assert.deepEqual(JSON.parse(closing.data).error.type, 'api_error');
  });

  it('without any message_start, the gateway count stands in', () => {
    const meter = new MessagesStreamMeter(50, 'hf');
    assert.deepEqual(meter.usage(), { promptTokens: 50, completionTokens: 0, estimated: true });
  });

  it('turns upstream error events into gateway errors by type, and refuses events that are not JSON', () => {
    const meter = new MessagesStreamMeter(50, 'claude');
    const overloaded = meter.inspect(e('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }));
    assert.ok(overloaded instanceof GatewayError);
    assert.deepEqual([overloaded.status, overloaded.retryable], [503, true]);
    const limited = meter.inspect(e('error', { error: { type: 'rate_limit_error', message: 'slow down' } })) as GatewayError;
    assert.equal(limited.status, 429);
    assert.equal((meter.inspect(e('error', { error: { type: 'api_error', message: 'boom' } })) as GatewayError).status, 502);
    assert.ok(meter.inspect({ event: 'message_start', data: '{not json' }) instanceof UpstreamError);
    const event = meter.errorEvent(overloaded);
    assert.equal(event.event, 'error');
    assert.deepEqual(JSON.parse(event.data), { type: 'error', error: { type: 'overloaded_error', message: overloaded.message } });
  });
});
