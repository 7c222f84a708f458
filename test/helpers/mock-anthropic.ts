/**
 * A mock Anthropic API on 127.0.0.1:0 speaking the real Messages wire format: `x-api-key` and `anthropic-version`
 * checked (401 / 400 in Anthropic's error shape), `max_tokens` required, answers with prompt-cache tokens in their
 * usage, tool_use blocks when tools are sent (their input streamed as input_json_delta pieces), SSE with `event:`
 * lines, `count_tokens` and the model list. The model name picks a scenario: `…-overloaded` (529),
 * `…-rate-limited` (429), `…-midstream-error` (an `error` event), `…-parallel` (two tool calls at once),
 * `…-endless` (a stream that runs until the peer leaves).
 * Every request is recorded with its headers, raw body and parsed body.
 */
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import { closeServer, listenOnLoopback, trackSockets } from './loopback.ts';

type Json = Record<string, unknown>;

export const ANTHROPIC_KEY = 'sk-ant-api03-testSecret0123456789abcdef';
/** What every answer reports: plain input, cache writes and cache reads apart, as the API does. */
export const ANTHROPIC_USAGE = { input_tokens: 14, cache_creation_input_tokens: 300, cache_read_input_tokens: 2000, output_tokens: 9 };
export const CLAUDE_PIECES = ['Hello', ' from', ' Claude', '.'];
export const CLAUDE_TEXT = CLAUDE_PIECES.join('');
export const CLAUDE_THINKING = 'A greeting; greet back.';
export const TOOL_PREAMBLE = 'Let me check.';
export const TOOL_RESULT_ANSWER = 'It is sunny in Paris and rainy in Rome.';
/** The inputs of the tool calls the mock makes, streamed in these pieces. */
export const TOOL_INPUT_PIECES = [
  ['{"city":', ' "Paris"}'],
  ['{"ci', 'ty": "Rome"}'],
];
export const CLAUDE_MODELS = [
  { type: 'model', id: 'claude-sonnet-4-5-20250929', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' },
  { type: 'model', id: 'claude-haiku-4-5-20251001', display_name: 'Claude Haiku 4.5', created_at: '2025-10-01T00:00:00Z' },
];

export interface AnthropicRequest {
  method: string;
  path: string;
  /** The query string, `?` included, or ''. */
  query: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: Json | undefined;
}

/** The mock's own token count for count_tokens: a quarter of the characters of what is counted. */
export function mockTokenCount(body: Json): number {
  return Math.ceil(JSON.stringify([body.system ?? null, body.messages ?? null, body.tools ?? null]).length / 4);
}

export class MockAnthropic extends EventEmitter {
  readonly requests: AnthropicRequest[] = [];
  root = '';
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();

  /** The `base_url` of a provider entry (no `/v1`: the plugin adds it, as Anthropic's own base URL has none). */
  get url(): string {
    return this.root;
  }

  get lastRequest(): AnthropicRequest | undefined {
    return this.requests.at(-1);
  }

  /** Resolves when the peer closes an `…-endless` stream. */
  nextAbort(): Promise<unknown> {
    return once(this, 'aborted');
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    trackSockets(this.server, this.sockets);
    this.root = `http://127.0.0.1:${await listenOnLoopback(this.server)}`;
    return this;
  }

  async close(): Promise<void> {
    await closeServer(this.server, this.sockets);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    let body: Json | undefined;
    try {
      body = raw ? (JSON.parse(raw) as Json) : undefined;
    } catch {
      body = undefined;
    }
    const [path, query = ''] = (req.url ?? '').split(/(?=\?)/);
    this.requests.push({ method: req.method ?? 'GET', path, query, headers: req.headers, raw, body });
    if (req.headers['x-api-key'] !== ANTHROPIC_KEY) return apiError(res, 401, 'authentication_error', 'invalid x-api-key');
    if (!req.headers['anthropic-version']) return apiError(res, 400, 'invalid_request_error', 'anthropic-version: header is required');
    if (req.method === 'GET' && path === '/v1/models') {
      return json(res, 200, { data: CLAUDE_MODELS, has_more: false, first_id: CLAUDE_MODELS[0].id, last_id: CLAUDE_MODELS.at(-1)!.id });
    }
    if (req.method !== 'POST' || !body) return apiError(res, 404, 'not_found_error', `Not found: ${req.method} ${path}`);
    if (path === '/v1/messages/count_tokens') return json(res, 200, { input_tokens: mockTokenCount(body) });
    if (path === '/v1/messages') return this.messages(res, body);
    apiError(res, 404, 'not_found_error', `Not found: ${path}`);
  }

  private messages(res: http.ServerResponse, body: Json): void {
    const refusal = refusalOf(body);
    if (refusal) {
      if (refusal.status === 429) res.setHeader('retry-after', '3');
      apiError(res, refusal.status, refusal.type, refusal.message);
      return;
    }
    const blocks = answerBlocks(body);
    if (body.stream === true && String(body.model).endsWith('-endless')) {
      this.streamEndlessly(res, body);
      return;
    }
    if (body.stream === true) {
      streamMessage(res, body, blocks);
      return;
    }
    json(res, 200, {
      id: 'msg_mock_01',
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: blocks,
      stop_reason: blocks.some((block) => block.type === 'tool_use') ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      usage: ANTHROPIC_USAGE,
    });
  }

  /** A text block that never ends: a delta every 10 ms until the peer goes away (then 'aborted' is emitted). */
  private streamEndlessly(res: http.ServerResponse, body: Json): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    const send = (type: string, fields: Json): void => void res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`);
    send('message_start', {
      message: { id: 'msg_mock_endless', type: 'message', role: 'assistant', model: body.model, content: [], usage: { input_tokens: 5, output_tokens: 1 } },
    });
    send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    const timer = setInterval(() => send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: ' word' } }), 10);
    res.once('close', () => {
      clearInterval(timer);
      this.emit('aborted');
    });
  }
}

/** The errors the API answers before generating: a malformed body, or the scenario the model name asks for. */
function refusalOf(body: Json): { status: number; type: string; message: string } | undefined {
  if (typeof body.max_tokens !== 'number') return { status: 400, type: 'invalid_request_error', message: 'max_tokens: Field required' };
  if (!Array.isArray(body.messages)) return { status: 400, type: 'invalid_request_error', message: 'messages: Field required' };
  if (typeof body.temperature === 'number' && body.temperature > 1) return { status: 400, type: 'invalid_request_error', message: 'temperature: range: 0..1' };
  const model = String(body.model);
  if (model.endsWith('-overloaded')) return { status: 529, type: 'overloaded_error', message: 'Overloaded' };
  if (model.endsWith('-rate-limited'))
    return { status: 429, type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' };
  return undefined;
}

/** Tool calls when tools are sent and the last user turn holds no tool result; thinking first when asked for. */
function answerBlocks(body: Json): Json[] {
  const blocks: Json[] = [];
  if ((body.thinking as { type?: unknown } | undefined)?.type === 'enabled')
    blocks.push({ type: 'thinking', thinking: CLAUDE_THINKING, signature: 'sig-mock' });
  const tools = body.tools as { name: string }[] | undefined;
  if (tools?.length && !lastTurnHasToolResult(body)) {
    blocks.push({ type: 'text', text: TOOL_PREAMBLE });
    const calls = String(body.model).endsWith('-parallel') ? 2 : 1;
    for (let i = 0; i < calls; i++) {
      blocks.push({ type: 'tool_use', id: `toolu_mock_${i + 1}`, name: tools[0].name, input: JSON.parse(TOOL_INPUT_PIECES[i].join('')) });
    }
    return blocks;
  }
  blocks.push({ type: 'text', text: lastTurnHasToolResult(body) ? TOOL_RESULT_ANSWER : CLAUDE_TEXT });
  return blocks;
}

function lastTurnHasToolResult(body: Json): boolean {
  const content = (body.messages as { content?: unknown }[]).at(-1)?.content;
  return Array.isArray(content) && content.some((block) => (block as Json)?.type === 'tool_result');
}

/** The event stream exactly as the API frames it: `event:` then `data:`, a ping after message_start. */
function streamMessage(res: http.ServerResponse, body: Json, blocks: Json[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': 'req_mock_1' });
  const send = (type: string, fields: Json): void => void res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`);
  const { output_tokens: _output, ...input } = ANTHROPIC_USAGE;
  send('message_start', {
    message: {
      id: 'msg_mock_01',
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...input, output_tokens: 1 },
    },
  });
  send('ping', {});
  let tool = 0;
  for (const [index, block] of blocks.entries()) {
    if (block.type === 'text') {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      const pieces = block.text === CLAUDE_TEXT ? CLAUDE_PIECES : [block.text as string];
      for (const [n, text] of pieces.entries()) {
        send('content_block_delta', { index, delta: { type: 'text_delta', text } });
        if (String(body.model).endsWith('-midstream-error') && n === 1) {
          send('error', { error: { type: 'overloaded_error', message: 'Overloaded' } });
          return void res.end();
        }
      }
    } else if (block.type === 'thinking') {
      send('content_block_start', { index, content_block: { type: 'thinking', thinking: '' } });
      send('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: block.thinking } });
      send('content_block_delta', { index, delta: { type: 'signature_delta', signature: block.signature } });
    } else {
      send('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      for (const partial_json of ['', ...TOOL_INPUT_PIECES[tool++]]) send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } });
    }
    send('content_block_stop', { index });
  }
  const stop = blocks.some((block) => block.type === 'tool_use') ? 'tool_use' : 'end_turn';
  send('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: ANTHROPIC_USAGE.output_tokens } });
  send('message_stop', {});
  res.end();
}

function apiError(res: http.ServerResponse, status: number, type: string, message: string): void {
  json(res, status, { type: 'error', error: { type, message }, request_id: 'req_mock_err' });
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'request-id': 'req_mock_1' });
  res.end(text);
}

export async function startMockAnthropic(): Promise<MockAnthropic> {
  return new MockAnthropic().start();
}

/** An `anthropic` provider entry pointing at the mock. */
export function anthropicEntry(url: string, extra: Json = {}): Json {
  return { plugin: 'anthropic', base_url: url, api_key: ANTHROPIC_KEY, models: ['claude-*'], retries: { attempts: 0 }, ...extra };
}
