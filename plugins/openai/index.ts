/** OpenAI: native passthrough for chat completions, the Responses API, legacy completions, embeddings and the model list. */
import {
  bearer,
  definePlugin,
  fetchModelList,
  forwardJson,
  forwardStream,
  ProviderNotConfiguredError,
  UpstreamClient,
  z,
  type CallContext,
  type JsonObject,
} from '../../src/plugin-sdk.ts';

const configSchema = z.strictObject({
  base_url: z.url({ protocol: /^https?$/ }).default('https://api.openai.com/v1'),
  api_key: z.string().default(''),
  organization: z.string().optional(),
  project: z.string().optional(),
  headers: z.record(z.string(), z.string()).default({}),
});

export default definePlugin({
  name: 'openai',
  version: '1.0.0',
  configSchema,
  create({ name, config, timeoutMs, connectTimeoutMs }) {
    const headers: Record<string, string> = { ...config.headers, ...bearer(config.api_key) };
    if (config.organization) headers['openai-organization'] = config.organization;
    if (config.project) headers['openai-project'] = config.project;
    const client = new UpstreamClient({ provider: name, baseUrl: config.base_url, headers, timeoutMs, connectTimeoutMs, secrets: [config.api_key] });
    const requireKey = (): void => {
      if (!config.api_key) throw new ProviderNotConfiguredError('OpenAI API key (OPENAI_API_KEY) not configured');
    };
    const post = (path: string) => async (request: JsonObject, call: CallContext) => {
      requireKey();
      return forwardJson(client, path, request, call);
    };
    const postStream = (path: string) => async (request: JsonObject, call: CallContext) => {
      requireKey();
      return forwardStream(client, path, request, call);
    };
    return {
      chat: post('/chat/completions'),
      chatStream: postStream('/chat/completions'),
      responses: post('/responses'),
      responsesStream: postStream('/responses'),
      completions: post('/completions'),
      completionsStream: postStream('/completions'),
      embeddings: post('/embeddings'),
      async listModels(call) {
        requireKey();
        return fetchModelList(client, '/models', call);
      },
      close: () => client.close(),
    };
  },
});
