/**
 * One deployment of a routing pool: an OpenAI-compatible chat server on 127.0.0.1:0 that counts what it serves and
 * can be switched to fail in each way a real one does — 500, 503, 429 with Retry-After, 401, 403, a reset, a hang,
 * a refused connection (`refuse()` stops listening, `restore()` listens again on the same port), a stream cut
 * after its first event — or to answer slowly, or to hold its streams open until released.
 */
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { closeServer, trackSockets } from './loopback.ts';

export type DeploymentMode = 'ok' | '500' | '503' | '429' | '401' | '403' | 'reset' | 'hang' | 'cut-after-first-event';

export const DEPLOYMENT_KEY = 'sk-deploymentSecret0123456789abcdef';
export const DEPLOYMENT_USAGE = { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 };

export class MockDeployment extends EventEmitter {
  mode: DeploymentMode = 'ok';
  /** Seconds sent as `Retry-After` in mode 429. */
  retryAfterS = 7;
  /** Waits this long before any answer (a slow deployment). */
  delayMs = 0;
  /** Chat requests that reached this deployment, failed ones included. */
  received = 0;
  /** Chat requests it answered with 200. */
  served = 0;
  /** The `model` of the last chat request. */
  lastModel: string | undefined;
  /** Ids of the Responses this deployment stored. */
  readonly stored = new Set<string>();
  /** Streams open right now. */
  openStreams = 0;
  private held: (() => void)[] = [];
  private holding = false;
  private server = http.createServer((req, res) => void this.handle(req, res));
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(readonly name: string) {
    super();
    trackSockets(this.server, this.sockets);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  async start(): Promise<this> {
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Streams send their first event, then wait for `release()`. */
  holdStreams(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const go of this.held.splice(0)) go();
  }

  /** Stops listening: new connections are refused until `restore()`. */
  async refuse(): Promise<void> {
    await closeServer(this.server, this.sockets);
    this.server = http.createServer((req, res) => void this.handle(req, res));
    trackSockets(this.server, this.sockets);
  }

  async restore(): Promise<void> {
    await this.start();
  }

  async close(): Promise<void> {
    this.release();
    await closeServer(this.server, this.sockets);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += chunk;
    if (req.method === 'POST' && req.url === '/v1/responses') return this.responses(res, JSON.parse(text) as Record<string, unknown>);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return json(res, 404, { error: { message: 'not found' } });
    this.received++;
    this.emit('request');
    const body = JSON.parse(text) as Record<string, unknown>;
    this.lastModel = String(body.model);
    if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (res.destroyed) return;
    switch (this.mode) {
      case '500':
        return json(res, 500, { error: { message: 'internal error', type: 'server_error' } });
      case '503':
        return json(res, 503, { error: { message: 'overloaded', type: 'server_error' } });
      case '429':
        res.setHeader('retry-after', String(this.retryAfterS));
        return json(res, 429, { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } });
      case '401':
        return json(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
      case '403':
        return json(res, 403, { error: { message: 'This key may not use this deployment', type: 'permission_error' } });
      case 'reset':
        return void req.socket.destroy();
      case 'hang':
        return;
    }
    if (req.headers.authorization !== `Bearer ${DEPLOYMENT_KEY}`) return json(res, 401, { error: { message: 'missing key' } });
    if (body.stream === true) return this.stream(res, body);
    this.served++;
    json(res, 200, completion(body, this.name));
  }

  /** A native Responses API that stores its responses, as OpenAI does: another account does not know them. */
  private responses(res: http.ServerResponse, body: Record<string, unknown>): void {
    const previous = body.previous_response_id;
    if (typeof previous === 'string' && !this.stored.has(previous)) {
      return json(res, 400, {
        error: {
          message: `Previous response with id '${previous}' not found.`,
          type: 'invalid_request_error',
          param: 'previous_response_id',
          code: 'previous_response_not_found',
        },
      });
    }
    const id = `resp_${this.name}_${this.stored.size + 1}`;
    this.stored.add(id);
    this.served++;
    const message = {
      id: `msg_${id}`,
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: `served by ${this.name}`, annotations: [] }],
    };
    const usage = {
      input_tokens: 11,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 15,
    };
    const response = {
      id,
      object: 'response',
      created_at: 1741476542,
      status: 'completed',
      model: body.model,
      output: [message],
      previous_response_id: previous ?? null,
      usage,
    };
    if (body.stream !== true) return json(res, 200, response);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const events: [string, Record<string, unknown>][] = [
      ['response.created', { response: { ...response, status: 'in_progress', output: [], usage: null } }],
      ['response.output_text.delta', { item_id: message.id, output_index: 0, content_index: 0, delta: `served by ${this.name}` }],
      ['response.completed', { response }],
    ];
    for (const [sequence, [type, data]] of events.entries())
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence, ...data })}\n\n`);
    res.end();
  }

  private async stream(res: http.ServerResponse, body: Record<string, unknown>): Promise<void> {
    this.served++;
    this.openStreams++;
    res.once('close', () => this.openStreams--);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      id: 'chatcmpl-pool',
      object: 'chat.completion.chunk',
      created: 1741569952,
      model: body.model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    res.write(`data: ${JSON.stringify(chunk({ role: 'assistant', content: `${this.name}:` }))}\n\n`);
    if (this.mode === 'cut-after-first-event') return void setTimeout(() => res.socket?.destroy(), 20);
    if (this.holding) await new Promise<void>((resolve) => this.held.push(resolve));
    if (res.destroyed) return;
    res.write(`data: ${JSON.stringify(chunk({ content: 'done' }, 'stop'))}\n\n`);
    res.write(`data: ${JSON.stringify({ ...chunk({}), choices: [], usage: DEPLOYMENT_USAGE })}\n\n`);
    res.end('data: [DONE]\n\n');
  }
}

function completion(body: Record<string, unknown>, name: string): Record<string, unknown> {
  return {
    id: 'chatcmpl-pool',
    object: 'chat.completion',
    created: 1741569952,
    model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: `served by ${name}` }, finish_reason: 'stop' }],
    usage: DEPLOYMENT_USAGE,
  };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startDeployments(...names: string[]): Promise<MockDeployment[]> {
  return Promise.all(names.map((name) => new MockDeployment(name).start()));
}

/** An `openai-compatible` provider entry for a deployment; `models` need not match the routing rule's. */
export function deploymentEntry(deployment: MockDeployment, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    plugin: 'openai-compatible',
    base_url: deployment.url,
    api_key: DEPLOYMENT_KEY,
    models: [`${deployment.name}-only/*`],
    retries: { attempts: 0 },
    timeout_ms: 2000,
    ...extra,
  };
}
