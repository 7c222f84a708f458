/**
 * Mock upstreams on 127.0.0.1:0 that speak the real wire protocols: OpenAI chat JSON and SSE (with and without
 * the usage chunk), the HF router's `/v1/models` shape and its odd error bodies (bare strings, HTML pages, 503
 * "loading"), feature-extraction embeddings, OpenAI embeddings and native legacy completions. The model name picks
 * the scenario, e.g. `org/error-401`, `org/loading`, `org/midstream-error`, `org/echo` (answers echo the prompt; a
 * prompt holding `fail-after-N` fails once N chat answers were sent, one holding `hang` never answers);
 * anything else answers normally. A chat request that carries tools gets `tool_calls` (JSON, or streamed in pieces)
 * for each tool its last user message names (`org/parallel-tools`: two calls of the first tool), and a text answer
 * once the last message is a tool result.
 */
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import { closeServer, listenOnLoopback, trackSockets } from './loopback.ts';
import { echoChatCompletion, echoPieces, lastUserText, nativeCompletion, streamNativeCompletion } from './mock-completions.ts';
import { mockResponse, streamMockResponse } from './mock-responses.ts';

export type Flavor = 'hf' | 'openai' | 'compatible';

export interface MockOptions {
  flavor: Flavor;
  /** The bearer token the mock expects; a mismatch answers 401 in the flavor's shape. */
  apiKey?: string;
  /** Pause between stream chunks. */
  chunkDelayMs?: number;
  /** How long `slow` models wait before answering. */
  slowMs?: number;
  /** `flaky` models fail this many times with 503 before answering. */
  flakyFailures?: number;
  /** `throttled` models answer 429 with `Retry-After: 1` this many times before answering. */
  throttledFailures?: number;
  /** False for servers that never send a usage chunk (some OpenAI-compatible servers). */
  streamUsage?: boolean;
  /** Serve `/v1/responses` natively: always for the openai flavor, on request for a compatible server. */
  responses?: boolean;
  /** Serve `/v1/completions` natively: always for the openai flavor, on request for a compatible server (vLLM). */
  completions?: boolean;
  /** False: Responses events as bare `data:` lines, without `event:` lines (as some servers send them). */
  responsesEventLines?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
  /** When the request arrived (epoch ms). */
  at: number;
}

/** Every answer of the mock reports this usage, so tests can check billing to the micro-dollar. */
export const MOCK_USAGE = { prompt_tokens: 17, completion_tokens: 6, total_tokens: 23 };
export const MOCK_PIECES = ['Hello', ' from', ' the', ' mock', ' upstream', '.'];
export const MOCK_TEXT = MOCK_PIECES.join('');
export const TOOL_CALL = { id: 'call_weather_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } };
export const TOOL_ANSWER = 'The weather in Paris is sunny.';
export const MOCK_REASONING = 'The user greets me; I greet back.';

const HF_MODELS = {
  object: 'list',
  data: [
    {
      id: 'meta-llama/Llama-3.1-8B-Instruct',
      object: 'model',
      created: 1721000000,
      owned_by: 'meta-llama',
      architecture: { input_modalities: ['text'], output_modalities: ['text'] },
      providers: [
        {
          provider: 'novita',
          status: 'live',
          context_length: 131072,
          pricing: { input: 0.02, output: 0.05 },
          supports_tools: true,
          supports_structured_output: false,
          is_model_author: false,
        },
        { provider: 'hf-inference', status: 'live', is_model_author: false },
      ],
    },
    {
      id: 'deepseek-ai/DeepSeek-R1',
      object: 'model',
      created: 1737000000,
      owned_by: 'deepseek-ai',
      providers: [{ provider: 'together', status: 'live', is_model_author: false }],
    },
  ],
};

const OPENAI_MODELS = {
  object: 'list',
  data: [
    { id: 'gpt-4o-mini', object: 'model', created: 1721172741, owned_by: 'system' },
    { id: 'text-embedding-3-small', object: 'model', created: 1705948997, owned_by: 'system' },
  ],
};

export class MockUpstream extends EventEmitter {
  readonly requests: RecordedRequest[] = [];
  /** Streams the peer closed before their end. */
  aborted = 0;
  /** Bytes written by `firehose` streams. */
  firehoseBytes = 0;
  /** Chat answers sent whole (JSON), for the `echo` scenario's `fail-after-N`. */
  chatAnswers = 0;
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private flakyLeft: number;
  private throttledLeft: number;
  root = '';

  constructor(readonly options: MockOptions) {
    super();
    this.flakyLeft = options.flakyFailures ?? 2;
    this.throttledLeft = options.throttledFailures ?? 1;
  }

  /** Connections open to this mock right now (keep-alive ones included): a leak shows up here. */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** The base URL a provider entry points at: `{root}/v1`. */
  get url(): string {
    return `${this.root}/v1`;
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

  /** Requests to one path, newest last. */
  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  get lastRequest(): RecordedRequest | undefined {
    return this.requests.at(-1);
  }

  /** Resolves on the next stream the peer abandoned. */
  nextAbort(): Promise<unknown> {
    return once(this, 'aborted');
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += chunk;
    let body: Record<string, unknown> | undefined;
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      body = undefined;
    }
    const path = (req.url ?? '').split('?')[0];
    this.requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body, at: Date.now() });
    this.emit('request', this.requests.at(-1));
    if (this.options.apiKey !== undefined && req.headers.authorization !== `Bearer ${this.options.apiKey}`) return this.unauthorized(res);
    if (req.method === 'GET' && path === '/v1/models') return json(res, 200, this.options.flavor === 'hf' ? HF_MODELS : OPENAI_MODELS);
    if (req.method === 'POST' && path === '/v1/chat/completions' && body) return this.chat(req, res, body);
    if (req.method === 'POST' && path === '/v1/embeddings' && body) return this.embeddings(res, body);
    if (req.method === 'POST' && path === '/v1/responses' && body && this.servesResponses) return this.responses(res, body);
    if (req.method === 'POST' && path === '/v1/completions' && body && this.servesCompletions) return this.completions(res, body);
    const extraction = /^\/hf-inference\/models\/(.+)\/pipeline\/feature-extraction$/.exec(path);
    if (req.method === 'POST' && extraction && body) return this.featureExtraction(res, decodeURIComponent(extraction[1]), body);
    json(res, 404, { error: `Not found: ${path}` });
  }

  private get servesCompletions(): boolean {
    return this.options.flavor === 'openai' || (this.options.flavor === 'compatible' && this.options.completions === true);
  }

  private completions(res: http.ServerResponse, body: Record<string, unknown>): void {
    if (body.stream === true) return streamNativeCompletion(res, body, this.options.streamUsage !== false);
    json(res, 200, nativeCompletion(body));
  }

  /** `echo`: answers echo the prompt; `fail-after-N` waits for N answers then fails (HTTP 500); `hang` waits to be aborted. */
  private async echo(res: http.ServerResponse, body: Record<string, unknown>): Promise<void> {
    const prompt = lastUserText(body);
    const failAfter = /fail-after-(\d+)/.exec(prompt);
    if (failAfter) {
      while (this.chatAnswers < Number(failAfter[1])) await once(this, 'answered');
      return json(res, 500, { error: 'Internal server error: the generation failed' });
    }
    if (prompt.includes('hang')) {
      res.once('close', () => {
        this.aborted++;
        this.emit('aborted');
      });
      return;
    }
    json(res, 200, echoChatCompletion(body));
    this.chatAnswers++;
    this.emit('answered');
  }

  private get servesResponses(): boolean {
    return this.options.flavor === 'openai' || (this.options.flavor === 'compatible' && this.options.responses === true);
  }

  private async responses(res: http.ServerResponse, body: Record<string, unknown>): Promise<void> {
    const scenario = String(body.model).split('/').at(-1)!.split(':')[0];
    if (scenario === 'error-401') return this.unauthorized(res);
    const toolAnswer = scenario === 'tool-call' && (body.input as { type?: string }[] | undefined)?.at?.(-1)?.type === 'function_call_output';
    const pieces = toolAnswer ? [TOOL_ANSWER] : MOCK_PIECES;
    if (body.stream === true) return streamMockResponse(res, body, scenario, pieces, this.options.responsesEventLines !== false);
    json(res, 200, mockResponse(body, scenario, pieces, TOOL_ANSWER));
  }

  private unauthorized(res: http.ServerResponse): void {
    if (this.options.flavor === 'hf') return json(res, 401, { error: 'Invalid credentials in Authorization header' });
    json(res, 401, { error: { message: 'Incorrect API key provided: sk-wr***ng.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
  }

  /** The scenario is the model's last path segment without its `:suffix`. */
  private async chat(req: http.IncomingMessage, res: http.ServerResponse, body: Record<string, unknown>): Promise<void> {
    const model = String(body.model);
    const scenario = model.split('/').at(-1)!.split(':')[0];
    const stream = body.stream === true;
    if (scenario === 'echo' && !stream) return this.echo(res, body);
    switch (scenario) {
      case 'error-401':
        return this.unauthorized(res);
      case 'unsupported':
        return json(res, 400, {
          error: {
            message: `The requested model '${model}' is not supported by any provider you have enabled.`,
            type: 'invalid_request_error',
            param: 'model',
            code: 'model_not_supported',
          },
        });
      case 'loading':
        return json(res, 503, { error: `Model ${model} is currently loading`, estimated_time: 20.0 });
      case 'html-500':
        res.writeHead(500, { 'content-type': 'text/html' });
        return void res.end('<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>');
      case 'bad-request':
        return json(res, 422, { error: 'Input validation error: `top_p` must be > 0.0 and < 1.0', error_type: 'validation' });
      case 'rate-limited':
        res.setHeader('retry-after', '7');
        return json(res, 429, { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
      case 'truncated-json':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
        return void res.write('{"id":"chatcmpl-cut","object":"chat.completion","choi', () => cutAfterFlush(res));
      case 'reset':
        return void req.socket.destroy();
      case 'throttled':
        if (this.throttledLeft-- > 0) {
          res.setHeader('retry-after', '1');
          return json(res, 429, { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
        }
        break;
      case 'endless':
        // Headers at once, then a body that never ends: only the gateway's own timeout stops it.
        if (!stream) return this.trickle(res);
        break;
      case 'flaky':
        if (this.flakyLeft-- > 0) return json(res, 503, { error: 'Service temporarily unavailable' });
        break;
      case 'slow':
        await sleep(this.options.slowMs ?? 2000);
        if (res.destroyed) return;
        break;
    }
    if (stream) return this.chatStream(res, body, scenario);
    json(res, 200, chatCompletion(body, scenario));
  }

  private async chatStream(res: http.ServerResponse, body: Record<string, unknown>, scenario: string): Promise<void> {
    const wantsUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const sendUsage = wantsUsage && scenario !== 'no-usage' && this.options.streamUsage !== false;
    const id = 'chatcmpl-mock';
    const created = 1741569952;
    const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: body.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(wantsUsage ? { usage: null } : {}),
      ...extra,
    });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': 'upstream-req-1' });
    let finished = false;
    res.once('close', () => {
      if (!finished) {
        this.aborted++;
        this.emit('aborted');
      }
    });
    const send = async (data: unknown): Promise<boolean> => {
      if (res.destroyed) return false;
      res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
      if (this.options.chunkDelayMs) await sleep(this.options.chunkDelayMs);
      return !res.destroyed;
    };
    if (!(await send(chunk({ role: 'assistant', content: '' })))) return;
    if (scenario === 'slow-stream') {
      await sleep(this.options.slowMs ?? 2000);
      if (res.destroyed) return;
    }
    if (scenario === 'firehose') return this.firehose(res, chunk);
    if (scenario === 'endless') {
      for (let i = 0; ; i++) {
        if (!(await send(chunk({ content: ` word${i}` })))) return;
        if (!this.options.chunkDelayMs) await sleep(10);
      }
    }
    const planned = plannedToolCalls(body, scenario);
    if (planned) {
      for (const [index, call] of planned.entries()) {
        if (!(await send(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] })))) return;
        for (const piece of splitInThree(call.function.arguments)) {
          if (!(await send(chunk({ tool_calls: [{ index, function: { arguments: piece } }] })))) return;
        }
      }
      await send(chunk({}, 'tool_calls'));
    } else if (scenario === 'tool-call' && !lastIsTool(body)) {
      await send(chunk({ tool_calls: [{ index: 0, id: TOOL_CALL.id, type: 'function', function: { name: TOOL_CALL.function.name, arguments: '' } }] }));
      await send(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }));
      await send(chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }));
      await send(chunk({}, 'tool_calls'));
    } else {
      if (scenario === 'reasoning') {
        for (const piece of MOCK_REASONING.split(/(?= )/)) if (!(await send(chunk({ reasoning_content: piece })))) return;
      }
      const pieces = scenario === 'tool-call' || answersToolResult(body) ? [TOOL_ANSWER] : scenario === 'echo' ? echoPieces(body) : MOCK_PIECES;
      for (const [index, piece] of pieces.entries()) {
        if (!(await send(chunk({ content: piece })))) return;
        if (scenario === 'midstream-error' && index === 1) {
          finished = true;
          await send({ error: 'Model overloaded, please retry', error_type: 'overloaded' });
          return void res.end();
        }
        if (scenario === 'reset-midstream' && index === 1) return void res.write('', () => cutAfterFlush(res));
      }
      const lastExtra = scenario === 'usage-in-last-chunk' ? { usage: MOCK_USAGE } : {};
      if (!(await send(chunk({}, scenario === 'length' ? 'length' : 'stop', lastExtra)))) return;
    }
    if (sendUsage && scenario !== 'usage-in-last-chunk')
      await send({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [], usage: MOCK_USAGE });
    finished = true;
    await send('[DONE]');
    res.end();
  }

  /** A JSON answer whose body never completes: a byte every 20 ms until the peer goes away. */
  private trickle(res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"id":"chatcmpl-endless","choices":[');
    const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), 20);
    res.once('close', () => clearInterval(timer));
  }

  /** An endless stream of 16 KB chunks, as fast as the peer reads them (back-pressure respected, so it never buffers). */
  private async firehose(res: http.ServerResponse, chunk: (delta: Record<string, unknown>) => unknown): Promise<void> {
    const frame = `data: ${JSON.stringify(chunk({ content: 'x'.repeat(16 * 1024) }))}\n\n`;
    while (!res.destroyed) {
      this.firehoseBytes += frame.length;
      if (!res.write(frame)) await drainedOrClosed(res);
    }
  }

  private embeddings(res: http.ServerResponse, body: Record<string, unknown>): void {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const data = inputs.map((input, index) => {
      const vector = mockVector(String(input));
      const embedding = body.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
      return { object: 'embedding', index, embedding };
    });
    const tokens = inputs.reduce<number>((sum, input) => sum + String(input).split(/\s+/).length, 0);
    json(res, 200, { object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
  }

  /** The router's feature-extraction pipeline: a bare array per input, no `data`, no `usage`. */
  private featureExtraction(res: http.ServerResponse, model: string, body: Record<string, unknown>): void {
    if (model.endsWith('/unsupported')) return json(res, 400, { error: 'Model not supported by provider hf-inference' });
    const inputs = body.inputs;
    json(res, 200, Array.isArray(inputs) ? inputs.map((input) => mockVector(String(input))) : mockVector(String(inputs)));
  }
}

/** A deterministic vector per text, exactly representable as float32. */
export function mockVector(text: string): number[] {
  return [text.length, 0.5, -1.25, (text.charCodeAt(0) || 0) / 4];
}

function lastIsTool(body: Record<string, unknown>): boolean {
  const messages = body.messages as { role?: string }[];
  return messages.at(-1)?.role === 'tool';
}

type MockToolCall = typeof TOOL_CALL;

/** The tools the mock calls: those the last user message names, or two calls of the first for `parallel-tools`. */
export function plannedToolCalls(body: Record<string, unknown>, scenario: string): MockToolCall[] | undefined {
  const tools = Array.isArray(body.tools) ? (body.tools as { function?: { name?: string; parameters?: unknown } }[]) : [];
  if (tools.length === 0 || lastIsTool(body) || scenario === 'tool-call') return undefined;
  const said = lastUserWords(body);
  const chosen = scenario === 'parallel-tools' ? [tools[0], tools[0]] : tools.filter((tool) => tool.function?.name && said.includes(tool.function.name));
  if (chosen.length === 0) return undefined;
  return chosen.map((tool, k) => ({
    id: `call_mock_${k + 1}`,
    type: 'function',
    function: { name: tool.function!.name!, arguments: JSON.stringify(sampleArguments(tool.function!.parameters, k)) },
  }));
}

const SAMPLE_CITIES = ['Paris', 'Rome', 'Oslo'];

/** Arguments that fit a JSON schema's properties: strings are city names, so `get_weather` gets `{"city":"Paris"}`. */
function sampleArguments(schema: unknown, k: number): Record<string, unknown> {
  const properties = (schema as { properties?: Record<string, { type?: string }> } | undefined)?.properties ?? {};
  const args: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(properties)) {
    args[name] =
      property?.type === 'number' || property?.type === 'integer' ? k + 1 : property?.type === 'boolean' ? true : SAMPLE_CITIES[k % SAMPLE_CITIES.length];
  }
  return args;
}

/** The last user message's text, parts joined (the tools it names are the ones the mock calls). */
function lastUserWords(body: Record<string, unknown>): string {
  const user = (body.messages as { role?: string; content?: unknown }[]).findLast((message) => message.role === 'user');
  if (typeof user?.content === 'string') return user.content;
  return Array.isArray(user?.content) ? (user.content as { text?: unknown }[]).map((part) => (typeof part?.text === 'string' ? part.text : '')).join(' ') : '';
}

/** A request with tools whose last message is a tool result gets the final text answer. */
function answersToolResult(body: Record<string, unknown>): boolean {
  return Array.isArray(body.tools) && body.tools.length > 0 && lastIsTool(body);
}

/** Arguments streamed in three pieces, as servers split them at arbitrary points. */
function splitInThree(text: string): string[] {
  const a = Math.ceil(text.length / 3);
  return [text.slice(0, a), text.slice(a, 2 * a), text.slice(2 * a)].filter(Boolean);
}

function chatCompletion(body: Record<string, unknown>, scenario: string): Record<string, unknown> {
  const planned = plannedToolCalls(body, scenario);
  const toolTurn = planned !== undefined || (scenario === 'tool-call' && !lastIsTool(body));
  const answer = scenario === 'tool-call' || answersToolResult(body) ? TOOL_ANSWER : MOCK_TEXT;
  const message = toolTurn
    ? { role: 'assistant', content: null, refusal: null, tool_calls: planned ?? [TOOL_CALL] }
    : { role: 'assistant', content: answer, refusal: null, ...(scenario === 'reasoning' ? { reasoning_content: MOCK_REASONING } : {}) };
  return {
    id: 'chatcmpl-mock',
    object: 'chat.completion',
    created: 1741569952,
    model: body.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: toolTurn ? 'tool_calls' : scenario === 'length' ? 'length' : 'stop' }],
    ...(scenario === 'no-usage' ? {} : { usage: MOCK_USAGE }),
    system_fingerprint: null,
  };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-request-id': 'upstream-req-1' });
  res.end(text);
}

/** Cuts the connection once what was written has reached the peer, the way a crashing upstream does. */
function cutAfterFlush(res: http.ServerResponse): void {
  setTimeout(() => res.socket?.destroy(), 20);
}

/** Waits for 'drain' or 'close', whichever comes first, leaving no listener behind. */
function drainedOrClosed(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function startMock(options: MockOptions): Promise<MockUpstream> {
  return new MockUpstream(options).start();
}
