/**
 * Replays the request Claude Code sent through the gateway (recorded from `claude -p "Say hi"` with
 * ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN, see test/fixtures/claude-code/): `?beta=true`, Bearer auth, a list of
 * anthropic-beta flags, two dozen tools, and a `system` entry inside `messages` after the user turn; and its next
 * turn after a tool call, carrying the `tool_use` and its failed `tool_result`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HF_KEY, hfEntry, ROOT, startGateway, usageRow, type TestGateway } from '../helpers/gateway.ts';
import { MOCK_TEXT, MOCK_USAGE, startMock, TOOL_ANSWER, type MockUpstream } from '../helpers/mock-upstream.ts';

interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: { model: string; stream: boolean; tools: { name: string }[]; messages: { role: string; content: unknown }[] };
}

function fixture(name: string): Recorded {
  return JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/claude-code', name), 'utf8')) as Recorded;
}

const FIXTURE = fixture('say-hi-request.json');
/** Claude Code's second turn after running the Read tool the mock router called (it failed: `is_error`). */
const TOOL_TURN = fixture('tool-result-request.json');

function sseEvents(text: string): { event: string; data: Record<string, unknown> }[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.trim())
    .map((frame) => {
      const event = /^event: (.*)$/m.exec(frame)![1];
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)![1]) as Record<string, unknown>;
      return { event, data };
    });
}

describe("messages: Claude Code's recorded request", () => {
  let hf: MockUpstream;
  let gateway: TestGateway;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    gateway = await startGateway({ providers: { huggingface: hfEntry(hf.url) } });
  });

  after(async () => {
    await gateway.close();
    await hf.close();
  });

  it('has the shape Claude Code sends', () => {
    assert.equal(FIXTURE.path, '/v1/messages?beta=true');
    assert.match(FIXTURE.headers['anthropic-beta'], /^claude-code-20250219,interleaved-thinking-2025-05-14,/);
    assert.equal(FIXTURE.body.stream, true);
    assert.ok(FIXTURE.body.tools.length >= 12);
    assert.deepEqual(
      FIXTURE.body.messages.map((m) => m.role),
      ['user', 'system'],
    );
  });

  it('answers it as a stream with a metered key, and records the call with its tokens and cost', async () => {
    const { secret } = await gateway.createKey({ name: 'claude code', credits_usd: 5 });
    const response = await fetch(`${gateway.url}${FIXTURE.path}`, {
      method: FIXTURE.method,
      headers: { ...FIXTURE.headers, authorization: `Bearer ${secret}` },
      body: JSON.stringify(FIXTURE.body),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /^text\/event-stream/);
    const events = sseEvents(await response.text());
    assert.deepEqual(
      [...new Set(events.map((e) => e.event))],
      ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'],
    );
    assert.equal(events.filter((e) => e.event === 'message_start').length, 1);
    const start = events[0].data.message as { model: string; usage: { input_tokens: number } };
    assert.equal(start.model, FIXTURE.body.model);
    assert.ok(start.usage.input_tokens > 1000, 'message_start counts the whole prompt, tools included');
    const text = events
      .filter((e) => e.event === 'content_block_delta')
      .map((e) => (e.data.delta as { text: string }).text)
      .join('');
    assert.equal(text, MOCK_TEXT);
    const delta = events.find((e) => e.event === 'message_delta')!.data;
    assert.deepEqual(delta.usage, { input_tokens: MOCK_USAGE.prompt_tokens, output_tokens: MOCK_USAGE.completion_tokens });
    assert.equal((delta.delta as { stop_reason: string }).stop_reason, 'end_turn');

    const sent = hf.lastRequest!;
    const messages = sent.body!.messages as { role: string; content: string }[];
    assert.deepEqual(
      messages.map((m) => m.role),
      ['system', 'user'],
      'the system entry is folded into the leading system message',
    );
    assert.ok(messages[0].content.endsWith(FIXTURE.body.messages[1].content as string));
    assert.equal((sent.body!.tools as unknown[]).length, FIXTURE.body.tools.length);
    for (const field of ['thinking', 'context_management', 'output_config', 'metadata', 'system']) assert.equal(sent.body![field], undefined, field);
    assert.equal(sent.headers['anthropic-beta'], undefined, 'beta flags are for Messages upstreams only');

    const row = await usageRow(gateway, response.headers.get('x-request-id')!);
    assert.deepEqual(
      [row.endpoint, row.model, row.status, row.prompt_tokens, row.completion_tokens, Boolean(row.stream)],
      ['messages', FIXTURE.body.model, 200, 17, 6, true],
    );
    assert.ok(row.cost_micro > 0);
  });

  it('translates its tool turn: the tool_use as tool_calls, the failed tool_result as a tool message, then answers', async () => {
    const { secret } = await gateway.createKey({ name: 'claude code tools', credits_usd: 5 });
    const response = await fetch(`${gateway.url}${TOOL_TURN.path}`, {
      method: TOOL_TURN.method,
      headers: { ...TOOL_TURN.headers, authorization: `Bearer ${secret}` },
      body: JSON.stringify(TOOL_TURN.body),
    });
    assert.equal(response.status, 200);
    const events = sseEvents(await response.text());
    const text = events
      .filter((e) => e.event === 'content_block_delta')
      .map((e) => (e.data.delta as { text: string }).text)
      .join('');
    assert.equal(text, TOOL_ANSWER);
    const [use] = TOOL_TURN.body.messages.at(-2)!.content as { id: string; name: string; input: unknown }[];
    const [result] = TOOL_TURN.body.messages.at(-1)!.content as { content: string }[];
    const sent = hf.lastRequest!.body!.messages as { role: string }[];
    assert.deepEqual(
      sent.map((m) => m.role),
      ['system', 'user', 'assistant', 'tool'],
    );
    assert.deepEqual(sent.slice(2), [
      { role: 'assistant', content: null, tool_calls: [{ id: use.id, type: 'function', function: { name: use.name, arguments: JSON.stringify(use.input) } }] },
      { role: 'tool', tool_call_id: use.id, content: `Error: ${result.content}` },
    ]);
  });
});
