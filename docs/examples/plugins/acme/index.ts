/**
 * A worked example plugin (docs/plugins.md): "Acme" serves OpenAI-style chat completions, but it wants its key in an
 * `x-acme-key` header and knows its models without the `acme/` prefix the gateway's clients use. The plugin adds the
 * header, strips the prefix going up, puts it back coming down (JSON answers and stream events alike), and lists
 * the models under the names clients use.
 */
import {
  definePlugin,
  forwardJson,
  forwardStream,
  ProviderNotConfiguredError,
  replaceBody,
  UpstreamClient,
  z,
  type JsonObject,
  type SseEvent,
} from '../../../../src/plugin-sdk.ts';

const PREFIX = 'acme/';

const configSchema = z.strictObject({
  base_url: z.url({ protocol: /^https?$/ }),
  api_key: z.string().default(''),
});

export default definePlugin({
  name: 'acme',
  version: '1.0.0',
  configSchema,
  create({ name, config, timeoutMs, connectTimeoutMs }) {
    const client = new UpstreamClient({
      provider: name,
      baseUrl: config.base_url,
      headers: { 'x-acme-key': config.api_key },
      timeoutMs,
      connectTimeoutMs,
      // Never repeated in an error message, whatever the upstream echoes back.
      secrets: [config.api_key],
    });
    const requireKey = (): void => {
      if (!config.api_key) throw new ProviderNotConfiguredError('Acme API key (ACME_API_KEY) not configured');
    };
    return {
      async chat(request, call) {
        requireKey();
        const result = await forwardJson(client, '/chat/completions', upstreamRequest(request), call);
        // The body changes, so the result must not carry the upstream's raw bytes: replaceBody drops them.
        return replaceBody(result, withClientModel(result.body));
      },
      async chatStream(request, call) {
        requireKey();
        const stream = await forwardStream(client, '/chat/completions', upstreamRequest(request), call);
        return { events: clientEvents(stream.events), headers: stream.headers };
      },
      async listModels(call) {
        const answer = await client.json('/models', undefined, call, { method: 'GET' });
        const data = (answer.body as { data?: { id?: unknown }[] }).data ?? [];
        return data.filter((model) => typeof model.id === 'string').map((model) => ({ id: `${PREFIX}${model.id}`, object: 'model', owned_by: name }));
      },
      close: () => client.close(),
    };
  },
});

/** What Acme expects: its own model name. Everything else of the OpenAI request goes as it came. */
export function upstreamRequest(request: JsonObject): JsonObject {
  const model = String(request.model);
  return { ...request, model: model.startsWith(PREFIX) ? model.slice(PREFIX.length) : model };
}

function withClientModel(body: JsonObject): JsonObject {
  return typeof body.model === 'string' ? { ...body, model: `${PREFIX}${body.model}` } : body;
}

/** Stream events carry the model too; anything that is not a JSON object (a comment, `[DONE]`) passes as it is. */
async function* clientEvents(events: AsyncIterable<SseEvent>): AsyncGenerator<SseEvent> {
  for await (const event of events) {
    let chunk: unknown;
    try {
      chunk = JSON.parse(event.data);
    } catch {
      yield event;
      continue;
    }
    yield chunk && typeof chunk === 'object' && !Array.isArray(chunk) ? { ...event, data: JSON.stringify(withClientModel(chunk as JsonObject)) } : event;
  }
}
