/** Hugging Face Inference Providers: the router's OpenAI-compatible chat, its model list, feature-extraction embeddings. */
import {
  bearer,
  definePlugin,
  fetchModelList,
  forwardJson,
  forwardStream,
  ProviderNotConfiguredError,
  UpstreamClient,
  z,
  type JsonObject,
} from '../../src/plugin-sdk.ts';

const configSchema = z.strictObject({
  base_url: z.url({ protocol: /^https?$/ }).default('https://router.huggingface.co/v1'),
  /** From HUG_API_KEY, falling back to HF_TOKEN (see config/gateway.yaml). */
  api_key: z.string().default(''),
  /** Sent as `X-HF-Bill-To` to bill a Team or Enterprise organisation. */
  bill_to: z.string().optional(),
  headers: z.record(z.string(), z.string()).default({}),
});

export default definePlugin({
  name: 'huggingface',
  version: '1.0.0',
  configSchema,
  create({ name, config, timeoutMs, connectTimeoutMs }) {
    const billTo: Record<string, string> = config.bill_to ? { 'x-hf-bill-to': config.bill_to } : {};
    const client = new UpstreamClient({
      provider: name,
      baseUrl: config.base_url,
      headers: { ...config.headers, ...billTo, ...bearer(config.api_key) },
      timeoutMs,
      connectTimeoutMs,
      secrets: [config.api_key],
    });
    const requireKey = (): void => {
      if (!config.api_key) throw new ProviderNotConfiguredError('Hugging Face API key (HUG_API_KEY) not configured');
    };
    return {
      async chat(request, call) {
        requireKey();
        return forwardJson(client, '/chat/completions', toRouterChat(request), call);
      },
      async chatStream(request, call) {
        requireKey();
        return forwardStream(client, '/chat/completions', toRouterChat(request), call);
      },
      // The router lists its models without authentication.
      listModels: (call) => fetchModelList(client, '/models', call),
      close: () => client.close(),
    };
  },
});

/**
 * The router's chat spec differs from OpenAI's in small ways: no `max_completion_tokens`, `stop` is an array,
 * open models' chat templates know no `developer` role. `model` goes first so the router can route on a prefix.
 */
export function toRouterChat(request: JsonObject): JsonObject {
  const { model, max_completion_tokens: maxCompletionTokens, ...rest } = request;
  const body: JsonObject = { model, ...rest };
  if (maxCompletionTokens !== undefined && body.max_tokens === undefined) body.max_tokens = maxCompletionTokens;
  if (typeof body.stop === 'string') body.stop = [body.stop];
  const messages = body.messages as JsonObject[];
  if (messages.some((message) => message?.role === 'developer')) {
    body.messages = messages.map((message) => (message?.role === 'developer' ? { ...message, role: 'system' } : message));
  }
  return body;
}
