/**
 * The mock's native Responses API (`POST /v1/responses`), as OpenAI speaks it: a full `response` object, or the
 * event stream with `event:` and `data:` lines, `sequence_number` from 0 and usage in `response.completed`.
 * Scenarios by model name, as for chat: `tool-call` (a function call, or the final answer once a
 * `function_call_output` is the last input item), `length` (incomplete), `midstream-error` (an `error` event).
 */
import type http from 'node:http';

type Json = Record<string, unknown>;

export const MOCK_RESPONSE_USAGE = {
  input_tokens: 17,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 6,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 23,
};

const FUNCTION_CALL = {
  id: 'fc_mock_1',
  type: 'function_call',
  status: 'completed',
  arguments: '{"city":"Paris"}',
  call_id: 'call_weather_1',
  name: 'get_weather',
};

function lastIsToolOutput(body: Json): boolean {
  const input = body.input;
  return Array.isArray(input) && (input.at(-1) as Json | undefined)?.type === 'function_call_output';
}

function shell(body: Json, status: string): Json {
  return {
    id: 'resp_mock_1',
    object: 'response',
    created_at: 1741476542,
    status,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: body.model,
    output: [],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: body.store ?? true,
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: 1,
    truncation: 'disabled',
    usage: null,
    user: null,
    metadata: {},
  };
}

function message(text: string, status = 'completed'): Json {
  return { id: 'msg_mock_1', type: 'message', status, role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] };
}

export function mockResponse(body: Json, scenario: string, pieces: readonly string[], toolAnswer: string): Json {
  const toolTurn = scenario === 'tool-call' && !lastIsToolOutput(body);
  const incomplete = scenario === 'length';
  const output = toolTurn ? [FUNCTION_CALL] : [message(scenario === 'tool-call' ? toolAnswer : pieces.join(''), incomplete ? 'incomplete' : 'completed')];
  return {
    ...shell(body, incomplete ? 'incomplete' : 'completed'),
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    output,
    usage: MOCK_RESPONSE_USAGE,
  };
}

/** Writes the event stream; `eventLines: false` sends bare `data:` lines and a chat-style `[DONE]`, as some servers do. */
export async function streamMockResponse(res: http.ServerResponse, body: Json, scenario: string, pieces: readonly string[], eventLines = true): Promise<void> {
  let sequence = 0;
  const send = (type: string, fields: Json): void => {
    const data = JSON.stringify({ type, ...fields, sequence_number: sequence++ });
    res.write(eventLines ? `event: ${type}\ndata: ${data}\n\n` : `data: ${data}\n\n`);
  };
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': 'upstream-req-1' });
  send('response.created', { response: shell(body, 'in_progress') });
  send('response.in_progress', { response: shell(body, 'in_progress') });
  if (scenario === 'tool-call' && !lastIsToolOutput(body)) {
    send('response.output_item.added', { output_index: 0, item: { ...FUNCTION_CALL, status: 'in_progress', arguments: '' } });
    for (const delta of ['{"city":', '"Paris"}']) send('response.function_call_arguments.delta', { item_id: FUNCTION_CALL.id, output_index: 0, delta });
    send('response.function_call_arguments.done', { item_id: FUNCTION_CALL.id, output_index: 0, name: FUNCTION_CALL.name, arguments: FUNCTION_CALL.arguments });
    send('response.output_item.done', { output_index: 0, item: FUNCTION_CALL });
  } else {
    const at = { item_id: 'msg_mock_1', output_index: 0, content_index: 0 };
    send('response.output_item.added', { output_index: 0, item: { ...message(''), status: 'in_progress', content: [] } });
    send('response.content_part.added', { ...at, part: { type: 'output_text', text: '', annotations: [] } });
    for (const [index, delta] of pieces.entries()) {
      send('response.output_text.delta', { ...at, delta, logprobs: [] });
      if (scenario === 'midstream-error' && index === 1) {
        send('error', { code: 'server_error', message: 'The server had an error while processing your request.', param: null });
        return void res.end();
      }
    }
    const text = pieces.join('');
    send('response.output_text.done', { ...at, text, logprobs: [] });
    send('response.content_part.done', { ...at, part: { type: 'output_text', text, annotations: [] } });
    send('response.output_item.done', { output_index: 0, item: message(text) });
  }
  const final = mockResponse(body, scenario, pieces, pieces.join(''));
  send(scenario === 'length' ? 'response.incomplete' : 'response.completed', { response: final });
  res.end(eventLines ? '' : 'data: [DONE]\n\n');
}
