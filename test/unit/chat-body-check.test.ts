/** The hand-written chat body check gives the 400s the zod schema gave: the same message and `param`, first fault first. */
import assert from 'node:assert/strict';
import { checkChatBody } from '../../src/endpoints/chat.ts';
import { InvalidRequestError } from '../../src/errors/gateway-error.ts';
import type { JsonObject } from '../../src/plugin-sdk.ts';

const base = (): JsonObject => ({ model: 'org/model', messages: [{ role: 'user', content: 'Hi' }] });

/** [fields merged into a valid body, expected message, expected param] */
const CASES: [JsonObject, string, string][] = [
  [{ model: undefined }, "Invalid 'model': Invalid input: expected string, received undefined", 'model'],
  [{ model: 5 }, "Invalid 'model': Invalid input: expected string, received number", 'model'],
  [{ model: '' }, "Invalid 'model': Too small: expected string to have >=1 characters", 'model'],
  [{ model: 'm'.repeat(600) }, "Invalid 'model': Too big: expected string to have <=512 characters", 'model'],
  [{ messages: [] }, "Invalid 'messages': Too small: expected array to have >=1 items", 'messages'],
  [{ messages: 'hi' }, "Invalid 'messages': Invalid input: expected array, received string", 'messages'],
  [{ messages: [null] }, "Invalid 'messages[0]': Invalid input: expected object, received null", 'messages[0]'],
  [{ messages: [[]] }, "Invalid 'messages[0]': Invalid input: expected object, received array", 'messages[0]'],
  [{ messages: [{ role: 'user' }, { role: '' }] }, "Invalid 'messages[1].role': Too small: expected string to have >=1 characters", 'messages[1].role'],
  [{ messages: [{ role: 'r'.repeat(65) }] }, "Invalid 'messages[0].role': Too big: expected string to have <=64 characters", 'messages[0].role'],
  [{ messages: [{ role: 'user', content: 5 }] }, "Invalid 'messages[0].content': Invalid input", 'messages[0].content'],
  [{ stream: 'yes' }, "Invalid 'stream': Invalid input: expected boolean, received string", 'stream'],
  [{ stream_options: [] }, "Invalid 'stream_options': Invalid input: expected object, received array", 'stream_options'],
  [
    { stream_options: { include_usage: 5 } },
    "Invalid 'stream_options.include_usage': Invalid input: expected boolean, received number",
    'stream_options.include_usage',
  ],
  [{ max_tokens: 0 }, "Invalid 'max_tokens': Too small: expected number to be >0", 'max_tokens'],
  [{ max_tokens: 1.5 }, "Invalid 'max_tokens': Invalid input: expected int, received number", 'max_tokens'],
  [{ max_tokens: 1e12 }, "Invalid 'max_tokens': Too big: expected number to be <=10000000", 'max_tokens'],
  [{ max_tokens: Number.POSITIVE_INFINITY }, "Invalid 'max_tokens': Invalid input: expected number, received Infinity", 'max_tokens'],
  [{ max_completion_tokens: '1' }, "Invalid 'max_completion_tokens': Invalid input: expected number, received string", 'max_completion_tokens'],
  [{ n: 0 }, "Invalid 'n': Too small: expected number to be >=1", 'n'],
  [{ n: 200 }, "Invalid 'n': Too big: expected number to be <=128", 'n'],
  [{ tools: {} }, "Invalid 'tools': Invalid input: expected array, received object", 'tools'],
  // The first fault in field order is the one reported.
  [{ model: 5, n: 0 }, "Invalid 'model': Invalid input: expected string, received number", 'model'],
];

describe('chat body check', () => {
  for (const [fields, message, param] of CASES) {
    it(`${param}: ${message.slice(message.indexOf(': ') + 2)}`, () => {
      const body = { ...base(), ...fields };
      for (const [name, value] of Object.entries(fields)) if (value === undefined) delete body[name];
      assert.throws(
        () => checkChatBody(body),
        (error: unknown) => error instanceof InvalidRequestError && error.message === message && error.param === param && error.status === 400,
      );
    });
  }

  it('passes what the upstream judges: unknown fields, nulls, content parts, null content', () => {
    checkChatBody({ ...base(), stream: null, stream_options: null, max_tokens: null, n: null, tools: null, temperature: 'x', extra: { a: 1 } });
    checkChatBody({
      model: 'm',
      messages: [
        { role: 'assistant', content: null, tool_calls: [] },
        { role: 'user', content: [{ type: 'text', text: 'x' }] },
      ],
    });
  });
});
