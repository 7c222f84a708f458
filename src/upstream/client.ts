/** UpstreamClient: one keep-alive undici pool per provider entry, with the gateway's timeouts and error mapping. */
import { Agent, type Dispatcher } from 'undici';
import { type GatewayError, UpstreamError } from '../errors/gateway-error.ts';
import { errorFromTransport, errorFromUpstreamResponse, type TransportPhase } from './errors.ts';
import type { SseEvent } from './sse.ts';
import { SseReader } from './sse-reader.ts';

export interface UpstreamClientOptions {
  /** Provider entry name: used in error messages. */
  provider: string;
  baseUrl: string;
  headers?: Record<string, string>;
  /** Bounds the wait for the first byte, a whole non-streamed answer and each gap between stream chunks. */
  timeoutMs: number;
  connectTimeoutMs?: number;
  /** Values never to repeat in an error message (the provider key). */
  secrets?: string[];
}

/** What the core hands a plugin for one call. */
export interface CallContext {
  requestId: string;
  /** Aborts when the client disconnects or the gateway gives up; its reason says which. */
  signal: AbortSignal;
  /**
   * Client headers a native passthrough forwards unchanged (lower-case names), e.g. `anthropic-version` and
   * `anthropic-beta` on `/v1/messages`. Only the endpoint's own allow-list is copied here, never auth headers.
   */
  clientHeaders?: Readonly<Record<string, string>>;
  /**
   * The output bound the gateway reserved for this call: the client's own, else `metering.default_max_tokens`. A
   * dialect that requires one (Messages' `max_tokens`) sends it when the client's request has none.
   */
  maxOutputTokens?: number;
}

export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface UpstreamJson {
  status: number;
  headers: ResponseHeaders;
  /** The parsed body. */
  body: unknown;
  /** The body's exact text, so an unchanged answer can be forwarded without re-serialising it. */
  raw: string;
}

export interface UpstreamStream {
  headers: ResponseHeaders;
  events: AsyncIterable<SseEvent>;
}

export interface RequestInit {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
}

/** The abort reason the gateway uses when an upstream exceeds its total time. */
export class UpstreamTimeoutAbort extends Error {
  readonly code = 'SY_TIMEOUT';
}

export class UpstreamClient {
  readonly provider: string;
  readonly timeoutMs: number;
  private readonly agent: Agent;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;
  private readonly secrets: string[];

  constructor(options: UpstreamClientOptions) {
    const url = new URL(options.baseUrl);
    this.provider = options.provider;
    this.timeoutMs = options.timeoutMs;
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.headers = { 'user-agent': 'switchyard', ...options.headers };
    this.secrets = options.secrets?.filter(Boolean) ?? [];
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      connections: 1024,
      pipelining: 1,
      connect: { timeout: options.connectTimeoutMs ?? Math.min(10_000, options.timeoutMs) },
    });
  }

  /** A path under the base URL (`/chat/completions`), or an absolute path on the same origin (`//abs/path`). */
  private pathFor(path: string): string {
    return path.startsWith('//') ? path.slice(1) : this.basePath + path;
  }

  /**
   * Sends JSON and reads a whole JSON answer within `timeoutMs`; errors come back as GatewayErrors. undici's
   * headers timeout bounds the wait for the answer; a timer bounds the rest of the body (no extra signals).
   */
  async json(path: string, payload: unknown, call: CallContext, init: RequestInit = {}): Promise<UpstreamJson> {
    const deadline = Date.now() + this.timeoutMs;
    const response = await this.send(path, payload, call, init);
    const timer = setTimeout(() => response.body.destroy(new UpstreamTimeoutAbort('timeout')), Math.max(1, deadline - Date.now()));
    try {
      const raw = await this.readText(response, call);
      if (response.statusCode >= 400) throw this.httpError(response, raw);
      return { status: response.statusCode, headers: response.headers, body: this.parseJson(raw), raw };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends JSON and returns the SSE events once the upstream has answered 2xx with an event stream. */
  async stream(path: string, payload: unknown, call: CallContext, init: RequestInit = {}): Promise<UpstreamStream> {
    const response = await this.send(path, payload, call, init);
    if (response.statusCode >= 400) throw this.httpError(response, await this.readText(response, call));
    const type = String(response.headers['content-type'] ?? '');
    if (!type.includes('text/event-stream')) {
      const raw = await this.readText(response, call);
      throw new UpstreamError(`${this.provider} answered a stream request with ${type || 'no content type'} instead of an event stream: ${raw.slice(0, 200)}`);
    }
    return { headers: response.headers, events: this.events(response.body, call) };
  }

  private async send(path: string, payload: unknown, call: CallContext, init: RequestInit): Promise<Dispatcher.ResponseData> {
    const method = init.method ?? 'POST';
    const body = method === 'GET' ? undefined : typeof payload === 'string' ? payload : JSON.stringify(payload);
    const headers = body === undefined ? { ...this.headers, ...init.headers } : { ...this.headers, 'content-type': 'application/json', ...init.headers };
    try {
      return await this.agent.request({
        origin: this.origin,
        path: this.pathFor(path),
        method,
        headers,
        body,
        signal: call.signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (error) {
      throw this.transportError(error, 'connect', call);
    }
  }

  private async readText(response: Dispatcher.ResponseData, call: CallContext): Promise<string> {
    try {
      return await response.body.text();
    } catch (error) {
      throw this.transportError(error, 'body', call);
    }
  }

  private events(body: Dispatcher.ResponseData['body'], call: CallContext): AsyncIterableIterator<SseEvent> {
    return new SseReader(body, {
      mapError: (error) => this.transportError(error, 'body', call),
      // A consumer that stops early (client gone, error) must not leave the upstream generating.
      onDone: () => {
        if (!body.destroyed) body.destroy();
      },
    });
  }

  private parseJson(raw: string): unknown {
    try {
      return JSON.parse(raw);
    } catch {
      throw new UpstreamError(`${this.provider} answered with a body that is not valid JSON (${raw.length} bytes)`);
    }
  }

  private httpError(response: Dispatcher.ResponseData, raw: string): GatewayError {
    return errorFromUpstreamResponse(this.provider, response.statusCode, response.headers, raw, this.secrets);
  }

  /** A client that went away is not an upstream fault: rethrow its abort reason untouched. */
  private transportError(error: unknown, phase: TransportPhase, call: CallContext): unknown {
    if (call.signal.aborted) return call.signal.reason;
    return errorFromTransport(this.provider, error, phase);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
