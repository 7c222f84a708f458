/** The Responses → chat-completions request mapping, field by field. */
import assert from 'node:assert/strict';
import { InvalidRequestError } from '../../src/errors/gateway-error.ts';
import { toChatRequest } from '../../src/endpoints/responses/translate-request.ts';

describe('toChatRequest', () => {
  it('maps the generation settings', () => {
    const chat = toChatRequest(
      {
        model: 'org/m',
        input: 'Hi',
        max_output_tokens: 100,
        temperature: 0.2,
        top_p: 0.9,
        reasoning: { effort: 'high' },
        text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true, description: 'An answer' } },
        metadata: { a: '1' },
        store: false,
      },
      false,
    );
    assert.deepEqual(chat, {
      model: 'org/m',
      messages: [{ role: 'user', content: 'Hi' }],
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, description: 'An answer', strict: true } },
      max_completion_tokens: 100,
      temperature: 0.2,
      top_p: 0.9,
      reasoning_effort: 'high',
    });
  });

  it('asks a stream for its usage', () => {
    const chat = toChatRequest({ model: 'org/m', input: 'Hi' }, true);
    assert.equal(chat.stream, true);
    assert.deepEqual(chat.stream_options, { include_usage: true });
  });

  it('maps json_object and leaves text out', () => {
    assert.deepEqual(toChatRequest({ model: 'm', input: 'Hi', text: { format: { type: 'json_object' } } }, false).response_format, { type: 'json_object' });
    assert.equal('response_format' in toChatRequest({ model: 'm', input: 'Hi', text: { format: { type: 'text' } } }, false), false);
  });

  it('sends parallel_tool_calls only with tools, and string tool choices as they are', () => {
    assert.equal('parallel_tool_calls' in toChatRequest({ model: 'm', input: 'Hi', parallel_tool_calls: false }, false), false);
    const chat = toChatRequest(
      { model: 'm', input: 'Hi', tools: [{ type: 'function', name: 'f', parameters: null }], tool_choice: 'required', parallel_tool_calls: true },
      false,
    );
    assert.deepEqual(chat.tools, [{ type: 'function', function: { name: 'f' } }]);
    assert.equal(chat.tool_choice, 'required');
    assert.equal(chat.parallel_tool_calls, true);
  });

  const refusals: [string, Record<string, unknown>, string][] = [
    ['no input', { model: 'm', instructions: 'x' }, 'input'],
    ['an unknown role', { model: 'm', input: [{ role: 'tool', content: 'x' }] }, 'input[0].role'],
    ['an allowed_tools choice', { model: 'm', input: 'x', tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [] } }, 'tool_choice'],
    ['an unknown text format', { model: 'm', input: 'x', text: { format: { type: 'grammar' } } }, 'text.format.type'],
    ['a prompt template', { model: 'm', input: 'x', prompt: { id: 'pmpt_1' } }, 'prompt'],
    ['a function call without arguments', { model: 'm', input: [{ type: 'function_call', call_id: 'c', name: 'f' }] }, 'input[0].arguments'],
  ];
  for (const [name, body, param] of refusals) {
    it(`refuses ${name} with a 400 naming '${param}'`, () => {
      assert.throws(
        () => toChatRequest(body, false),
        (error: unknown) => error instanceof InvalidRequestError && error.status === 400 && error.param === param,
      );
    });
  }
});
