/**
 * The only module provider plugins import: definePlugin, the plugin contract, errors, the upstream HTTP client
 * and SSE helpers. A plugin translates; the core owns SSE framing, `[DONE]`, metering, retries and errors.
 */
import type { z } from 'zod';
import { UpstreamError } from './errors/gateway-error.ts';
import type { CallContext, ResponseHeaders, UpstreamClient } from './upstream/client.ts';
import type { SseEvent } from './upstream/sse.ts';

export { z } from 'zod';
/** YAML values after `${VAR}` substitution: booleans and whole numbers may arrive as strings. */
export { wholeNumber, yamlBoolean } from './config/coerce.ts';
export * from './errors/gateway-error.ts';
export { UpstreamClient, type CallContext, type UpstreamClientOptions, type UpstreamJson, type UpstreamStream } from './upstream/client.ts';
export { errorFromUpstreamResponse, extractUpstreamMessage } from './upstream/errors.ts';
export { parseSse, type SseEvent } from './upstream/sse.ts';

export type JsonObject = Record<string, unknown>;

/**
 * A whole (non-streamed) answer. Passthrough is explicit: when `raw` is set, the core sends those exact upstream bytes
 * (adding only `gateway_usage`) and reads `body` only for usage, never for what the client gets. A plugin that
 * changes the answer returns a result without `raw`: `replaceBody(result, changed)` (see docs/plugins.md).
 */
export interface JsonResult {
  body: JsonObject;
  /** The upstream's exact text of `body`, to pass through unparsed; drop it whenever `body` is changed. */
  raw?: string;
  headers?: Record<string, string>;
}

/** A streamed answer: SSE events in upstream order, without `[DONE]` handling (the core does that). */
export interface StreamResult {
  events: AsyncIterable<SseEvent>;
  headers?: Record<string, string>;
}

export interface ModelInfo {
  id: string;
  object?: string;
  created?: number;
  owned_by?: string;
  [extra: string]: unknown;
}

export interface PluginLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What `create` receives: the entry's name and its block, already validated by the plugin's schema. */
export interface ProviderSetup<C> {
  name: string;
  config: C;
  /** `timeout_ms` of the entry, else `server.request_timeout_ms`. */
  timeoutMs: number;
  connectTimeoutMs?: number;
  logger: PluginLogger;
}

/**
 * The wire dialects a client can speak to the gateway. A provider implements the ones its upstream speaks natively;
 * the core translates every other dialect through chat completions (see src/dialects/), so no plugin carries a
 * copy of a mapping.
 */
export type Dialect = 'chat' | 'responses' | 'completions' | 'messages';

/**
 * One configured provider entry. Bodies are in the method's own dialect, `model` and the dialect's required fields
 * already checked. A provider implements `chat` + `chatStream`, or `messages` + `messagesStream` (the core then
 * reaches it for chat through the Messages translation); every other method is optional.
 */
export interface Provider {
  /** OpenAI Chat Completions. */
  chat?(request: JsonObject, call: CallContext): Promise<JsonResult>;
  chatStream?(request: JsonObject, call: CallContext): Promise<StreamResult>;
  /** Native Responses API; without it the core translates `/v1/responses` to chat completions. */
  responses?(request: JsonObject, call: CallContext): Promise<JsonResult>;
  responsesStream?(request: JsonObject, call: CallContext): Promise<StreamResult>;
  /** Native legacy completions (`/completions`); without it the core translates `/v1/completions` to chat. */
  completions?(request: JsonObject, call: CallContext): Promise<JsonResult>;
  completionsStream?(request: JsonObject, call: CallContext): Promise<StreamResult>;
  /** Native Anthropic Messages; without it the core translates `/v1/messages` to chat completions. */
  messages?(request: JsonObject, call: CallContext): Promise<JsonResult>;
  messagesStream?(request: JsonObject, call: CallContext): Promise<StreamResult>;
  /** Native `/v1/messages/count_tokens` (answers `{"input_tokens": N}`); without it the gateway counts itself. */
  countTokens?(request: JsonObject, call: CallContext): Promise<JsonResult>;
  embeddings?(request: JsonObject, call: CallContext): Promise<JsonResult>;
  listModels?(call: CallContext): Promise<ModelInfo[]>;
  close?(): void | Promise<void>;
}

export interface PluginDefinition<S extends z.ZodType = z.ZodType> {
  /** Must equal the plugin's folder name. */
  name: string;
  version: string;
  /** Validates the entry's own keys: all but the core's (`plugin`, `models`, `timeout_ms`, `connect_timeout_ms`, `max_stream_ms`, `retries`, `pricing`). */
  configSchema: S;
  create(setup: ProviderSetup<z.output<S>>): Provider | Promise<Provider>;
}

export function definePlugin<S extends z.ZodType>(definition: PluginDefinition<S>): PluginDefinition<S> {
  return definition;
}

/** Upstream headers worth showing the client, renamed so they cannot clash with the gateway's own. */
export function pickUpstreamHeaders(headers: ResponseHeaders): Record<string, string> {
  const picked: Record<string, string> = {};
  const provider = headers['x-inference-provider'];
  if (typeof provider === 'string') picked['x-inference-provider'] = provider;
  const requestId = headers['x-request-id'];
  if (typeof requestId === 'string') picked['x-upstream-request-id'] = requestId;
  return picked;
}

/** POSTs an OpenAI-shaped request and returns its JSON object answer untouched. */
export async function forwardJson(client: UpstreamClient, path: string, request: JsonObject, call: CallContext): Promise<JsonResult> {
  const answer = await client.json(path, request, call);
  if (answer.body === null || typeof answer.body !== 'object' || Array.isArray(answer.body)) {
    throw new UpstreamError(`${client.provider} answered with JSON that is not an object`);
  }
  return { body: answer.body as JsonObject, raw: answer.raw, headers: pickUpstreamHeaders(answer.headers) };
}

/** The answer with a changed body, which the core then serialises and sends: the upstream's raw bytes are dropped. */
export function replaceBody(result: JsonResult, body: JsonObject): JsonResult {
  return { body, headers: result.headers };
}

/** POSTs an OpenAI-shaped streaming request and returns its events. */
export async function forwardStream(client: UpstreamClient, path: string, request: JsonObject, call: CallContext): Promise<StreamResult> {
  const answer = await client.stream(path, request, call);
  return { events: answer.events, headers: pickUpstreamHeaders(answer.headers) };
}

/** Fetches an OpenAI-shaped model list (`{"object":"list","data":[…]}`). */
export async function fetchModelList(client: UpstreamClient, path: string, call: CallContext, headers?: Record<string, string>): Promise<ModelInfo[]> {
  const answer = await client.json(path, undefined, call, { method: 'GET', headers });
  const data = (answer.body as { data?: unknown })?.data;
  if (!Array.isArray(data)) throw new UpstreamError(`${client.provider} answered its model list without a data array`);
  return data.filter((item): item is ModelInfo => typeof item?.id === 'string');
}

/** `Authorization: Bearer` when a key is set. */
export function bearer(apiKey: string | undefined): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}
