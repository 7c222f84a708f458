/**
 * Any server that speaks the OpenAI API (Ollama, vLLM, TGI, llama.cpp, Groq, Together…): chat completions always,
 * `/responses`, `/completions` and `/embeddings` where the entry's `supports` says the server has them.
 */
import {
  bearer,
  definePlugin,
  fetchModelList,
  forwardJson,
  forwardStream,
  UpstreamClient,
  z,
  type CallContext,
  type JsonObject,
  type Provider,
} from '../../src/plugin-sdk.ts';

/** YAML booleans arrive as strings after `${VAR}` substitution. */
const flag = (fallback: boolean) =>
  z
    .preprocess((value) => {
      if (typeof value !== 'string') return value;
      if (/^(true|yes|on|1)$/i.test(value.trim())) return true;
      if (/^(false|no|off|0)$/i.test(value.trim())) return false;
      return value;
    }, z.boolean())
    .default(fallback);

const configSchema = z.strictObject({
  base_url: z.url({ protocol: /^https?$/ }),
  /** Optional: local servers such as Ollama take no key. */
  api_key: z.string().default(''),
  headers: z.record(z.string(), z.string()).default({}),
  supports: z
    .strictObject({
      /** A native `/responses` endpoint; without it the gateway translates to chat completions. */
      responses: flag(false),
      /** A native legacy `/completions` endpoint (vLLM, llama.cpp, TGI); without it the gateway translates to chat completions. */
      completions: flag(false),
      embeddings: flag(true),
      /** Whether streams end with a usage chunk when asked; without it the gateway counts tokens (estimated). */
      stream_usage: flag(true),
    })
    .prefault({}),
  /**
   * The name of the output bound sent upstream. The gateway bounds metered calls with `max_completion_tokens`, which
   * many of these servers do not know: by default it is sent as `max_tokens`.
   */
  max_tokens_field: z.enum(['max_tokens', 'max_completion_tokens']).default('max_tokens'),
});

type CompatibleConfig = z.output<typeof configSchema>;

export default definePlugin({
  name: 'openai-compatible',
  version: '1.0.0',
  configSchema,
  create({ name, config, timeoutMs, connectTimeoutMs }) {
    const client = new UpstreamClient({
      provider: name,
      baseUrl: config.base_url,
      headers: { ...config.headers, ...bearer(config.api_key) },
      timeoutMs,
      connectTimeoutMs,
      secrets: [config.api_key],
    });
    const chat = (request: JsonObject): JsonObject => toServerChat(request, config);
    const provider: Provider = {
      streamUsage: config.supports.stream_usage,
      chat: (request, call) => forwardJson(client, '/chat/completions', chat(request), call),
      chatStream: (request, call) => forwardStream(client, '/chat/completions', chat(request), call),
      listModels: (call) => fetchModelList(client, '/models', call),
      close: () => client.close(),
    };
    if (config.supports.responses) {
      provider.responses = (request: JsonObject, call: CallContext) => forwardJson(client, '/responses', request, call);
      provider.responsesStream = (request: JsonObject, call: CallContext) => forwardStream(client, '/responses', request, call);
    }
    if (config.supports.completions) {
      const completions = (request: JsonObject): JsonObject => toServerCompletions(request, config);
      provider.completions = (request: JsonObject, call: CallContext) => forwardJson(client, '/completions', completions(request), call);
      provider.completionsStream = (request: JsonObject, call: CallContext) => forwardStream(client, '/completions', completions(request), call);
    }
    if (config.supports.embeddings) {
      // Floats are asked for because every server knows them; the gateway encodes base64 itself when the client wants it.
      provider.embeddings = (request: JsonObject, call: CallContext) => {
        const { encoding_format: _format, ...floats } = request;
        return forwardJson(client, '/embeddings', floats, call);
      };
    }
    return provider;
  },
});

/** The output bound under the field the server knows; no `stream_options` for servers that would not honour them. */
export function toServerChat(request: JsonObject, config: Pick<CompatibleConfig, 'supports' | 'max_tokens_field'>): JsonObject {
  const body: JsonObject = { ...request };
  if (config.max_tokens_field === 'max_tokens' && body.max_completion_tokens !== undefined) {
    body.max_tokens ??= body.max_completion_tokens;
    delete body.max_completion_tokens;
  }
  if (!config.supports.stream_usage) delete body.stream_options;
  return body;
}

/** Legacy completions have only `max_tokens`; `stream_options` go only to servers that honour them. */
export function toServerCompletions(request: JsonObject, config: Pick<CompatibleConfig, 'supports'>): JsonObject {
  if (config.supports.stream_usage || request.stream_options === undefined) return request;
  const { stream_options: _options, ...body } = request;
  return body;
}
