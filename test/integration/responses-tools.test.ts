/** Function calls round-trip through the Responses ↔ chat translation: a call comes out, its output goes back in. */
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { CANARY, HF_KEY, hfEntry, startGateway, usageRow, type TestGateway } from '../helpers/gateway.ts';
import { MOCK_USAGE, startMock, TOOL_ANSWER, TOOL_CALL, type MockUpstream } from '../helpers/mock-upstream.ts';

type Event = OpenAI.Responses.ResponseStreamEvent;

const MODEL = 'org/tool-call';
const WEATHER_TOOL: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Current weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: true,
};
const QUESTION: OpenAI.Responses.ResponseInputItem = { role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }] };

describe('responses: tool calls through the translation', () => {
  let hf: MockUpstream;
  let gateway: TestGateway;
  let client: OpenAI;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    gateway = await startGateway({ providers: { huggingface: hfEntry(hf.url) } });
    client = gateway.client((await gateway.createKey()).secret);
  });

  after(async () => {
    await gateway.close();
    await hf.close();
  });

  it('sends flat function tools as chat tools and answers a function_call item', async () => {
    const data = await client.responses.create({
      model: MODEL,
      input: [QUESTION],
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'function', name: 'get_weather' },
      parallel_tool_calls: false,
    });
    const sent = hf.lastRequest!.body!;
    assert.deepEqual(sent.tools, [
      { type: 'function', function: { name: 'get_weather', description: WEATHER_TOOL.description, parameters: WEATHER_TOOL.parameters, strict: true } },
    ]);
    assert.deepEqual(sent.tool_choice, { type: 'function', function: { name: 'get_weather' } });
    assert.equal(sent.parallel_tool_calls, false);
    assert.deepEqual(sent.messages, [{ role: 'user', content: 'Weather in Paris?' }]);
    assert.equal(data.output.length, 1);
    const call = data.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
    assert.equal(call.type, 'function_call');
    assert.match(call.id!, /^fc_/);
    assert.deepEqual([call.call_id, call.name, call.arguments, call.status], [TOOL_CALL.id, 'get_weather', '{"city":"Paris"}', 'completed']);
    assert.equal(data.output_text, '');
  });

  it('takes function_call + function_call_output back as an assistant tool_calls message and a tool message', async () => {
    const first = await client.responses.create({ model: MODEL, input: [QUESTION], tools: [WEATHER_TOOL] });
    const call = first.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
    const { data, response } = await client.responses
      .create({
        model: MODEL,
        tools: [WEATHER_TOOL],
        input: [QUESTION, call, { type: 'function_call_output', call_id: call.call_id, output: `{"sky":"sunny ${CANARY}"}` }],
      })
      .withResponse();
    assert.deepEqual(hf.lastRequest!.body!.messages, [
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: TOOL_CALL.id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', tool_call_id: TOOL_CALL.id, content: `{"sky":"sunny ${CANARY}"}` },
    ]);
    assert.equal(data.output_text, TOOL_ANSWER);
    assert.equal(data.usage?.total_tokens, 23);
    const row = await usageRow(gateway, response.headers.get('x-request-id')!);
    assert.deepEqual([row.endpoint, row.prompt_tokens, row.completion_tokens], ['responses', MOCK_USAGE.prompt_tokens, MOCK_USAGE.completion_tokens]);
  });

  it('merges consecutive calls, and the text before them, into one assistant turn', async () => {
    await client.responses.create({
      model: MODEL,
      input: [
        QUESTION,
        {
          type: 'message',
          id: 'msg_earlier',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Checking both.', annotations: [] }],
        },
        { type: 'function_call', call_id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call', call_id: 'call_b', name: 'get_weather', arguments: '{"city":"Rome"}' },
        { type: 'function_call_output', call_id: 'call_a', output: 'sunny' },
        { type: 'function_call_output', call_id: 'call_b', output: [{ type: 'input_text', text: 'rainy' }] },
      ],
    });
    const messages = hf.lastRequest!.body!.messages as Record<string, unknown>[];
    assert.deepEqual(messages.slice(1), [
      {
        role: 'assistant',
        content: 'Checking both.',
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_a', content: 'sunny' },
      { role: 'tool', tool_call_id: 'call_b', content: 'rainy' },
    ]);
  });

  it('streams a function call as output_item.added, argument deltas, .done and output_item.done', async () => {
    const events: Event[] = [];
    for await (const event of await client.responses.create({ model: MODEL, input: [QUESTION], tools: [WEATHER_TOOL], stream: true })) events.push(event);
    assert.deepEqual(
      events.map((event) => event.type),
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.done',
        'response.output_item.done',
        'response.completed',
      ],
    );
    const added = events[2] as OpenAI.Responses.ResponseOutputItemAddedEvent;
    assert.deepEqual(added.item, {
      id: (added.item as { id: string }).id,
      type: 'function_call',
      status: 'in_progress',
      arguments: '',
      call_id: TOOL_CALL.id,
      name: 'get_weather',
    });
    const deltas = events.filter(
      (event): event is OpenAI.Responses.ResponseFunctionCallArgumentsDeltaEvent => event.type === 'response.function_call_arguments.delta',
    );
    assert.equal(deltas.map((event) => event.delta).join(''), '{"city":"Paris"}');
    const done = events[5] as OpenAI.Responses.ResponseFunctionCallArgumentsDoneEvent;
    assert.deepEqual([done.name, done.arguments], ['get_weather', '{"city":"Paris"}']);
    const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    assert.deepEqual(completed.response.output, [(events[6] as OpenAI.Responses.ResponseOutputItemDoneEvent).item]);
  });

  it('gives the SDK stream helper a final response with the call, then the answer to its output', async () => {
    const first = await client.responses.stream({ model: MODEL, input: [QUESTION], tools: [WEATHER_TOOL] }).finalResponse();
    const call = first.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
    assert.deepEqual([call.type, call.call_id, call.arguments], ['function_call', TOOL_CALL.id, '{"city":"Paris"}']);
    const second = await client.responses
      .stream({ model: MODEL, tools: [WEATHER_TOOL], input: [QUESTION, call, { type: 'function_call_output', call_id: call.call_id, output: 'sunny' }] })
      .finalResponse();
    assert.equal(second.output_text, TOOL_ANSWER);
    assert.equal((hf.lastRequest!.body!.messages as { role: string }[]).at(-1)!.role, 'tool');
  });
});
