/**
 * Anthropic: the Messages API natively (`/v1/messages`, its streams and `count_tokens`, bodies passed through) and
 * the model list. Chat completions and Responses reach Claude through the core's chat ↔ Messages translation.
 */
import {
  definePlugin,
  pickUpstreamHeaders,
  ProviderNotConfiguredError,
  UpstreamClient,
  UpstreamError,
  z,
  type CallContext,
  type JsonObject,
  type JsonResult,
  type ModelInfo,
  type StreamResult,
} from '../../src/plugin-sdk.ts';

/** Headers worth showing the client; Anthropic names its request id `request-id`. */
function upstreamHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const picked = pickUpstreamHeaders(headers);
  const requestId = headers['request-id'];
  if (typeof requestId === 'string') picked['x-upstream-request-id'] = requestId;
  return picked;
}

const configSchema = z.strictObject({
  base_url: z.url({ protocol: /^https?$/ }).default('https://api.anthropic.com'),
  /** From ANTHROPIC_API_KEY (see config/gateway.yaml); sent as `x-api-key`. */
  api_key: z.string().default(''),
  /** Sent when the client did not send its own `anthropic-version`. */
  anthropic_version: z.string().min(1).default('2023-06-01'),
  headers: z.record(z.string(), z.string()).default({}),
});

/** Client headers the native path forwards unchanged: the API version and the beta flags it opts into. */
const FORWARDED = ['anthropic-version', 'anthropic-beta'] as const;

export default definePlugin({
  name: 'anthropic',
  version: '1.0.0',
  configSchema,
  create({ name, config, timeoutMs, connectTimeoutMs }) {
    const client = new UpstreamClient({
      provider: name,
      baseUrl: config.base_url,
      headers: { ...config.headers, ...(config.api_key ? { 'x-api-key': config.api_key } : {}) },
      timeoutMs,
      connectTimeoutMs,
      secrets: [config.api_key],
    });
    const requireKey = (): void => {
      if (!config.api_key) throw new ProviderNotConfiguredError('Anthropic API key (ANTHROPIC_API_KEY) not configured');
    };
    const headersFor = (call: CallContext): Record<string, string> => {
      const headers: Record<string, string> = { 'anthropic-version': config.anthropic_version };
      for (const header of FORWARDED) {
        const value = call.clientHeaders?.[header];
        if (value) headers[header] = value;
      }
      return headers;
    };
    const post = async (path: string, request: JsonObject, call: CallContext): Promise<JsonResult> => {
      requireKey();
      const answer = await client.json(path, request, call, { headers: headersFor(call) });
      if (!isObject(answer.body)) throw new UpstreamError(`${name} answered with JSON that is not an object`);
      return { body: answer.body, raw: answer.raw, headers: upstreamHeaders(answer.headers) };
    };
    return {
      messages: (request, call) => post('/v1/messages', request, call),
      async messagesStream(request, call): Promise<StreamResult> {
        requireKey();
        const answer = await client.stream('/v1/messages', request, call, { headers: headersFor(call) });
        return { events: answer.events, headers: upstreamHeaders(answer.headers) };
      },
      countTokens: (request, call) => post('/v1/messages/count_tokens', request, call),
      async listModels(call) {
        requireKey();
        return listModels(client, headersFor(call), call);
      },
      close: () => client.close(),
    };
  },
});

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** At most this many pages of the model list are read (Anthropic lists a few dozen models). */
const MAX_PAGES = 10;

/** Anthropic's `{data: [{type: "model", id, display_name, created_at}], has_more, last_id}` pages as OpenAI models. */
async function listModels(client: UpstreamClient, headers: Record<string, string>, call: CallContext): Promise<ModelInfo[]> {
  const models: ModelInfo[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = `?limit=1000${after ? `&after_id=${encodeURIComponent(after)}` : ''}`;
    const answer = await client.json(`/v1/models${query}`, undefined, call, { method: 'GET', headers });
    const body = answer.body as { data?: unknown; has_more?: unknown; last_id?: unknown } | null;
    if (!Array.isArray(body?.data)) throw new UpstreamError(`${client.provider} answered its model list without a data array`);
    for (const item of body.data as { id?: unknown; display_name?: unknown; created_at?: unknown }[]) {
      if (typeof item?.id !== 'string') continue;
      const created = typeof item.created_at === 'string' ? Math.floor(Date.parse(item.created_at) / 1000) : NaN;
      const model: ModelInfo = { id: item.id, object: 'model', created: Number.isFinite(created) ? created : 0 };
      if (typeof item.display_name === 'string') model.display_name = item.display_name;
      models.push(model);
    }
    if (body.has_more !== true || typeof body.last_id !== 'string') break;
    after = body.last_id;
  }
  return models;
}
