/** Hugging Face Inference Providers: the router's OpenAI-compatible chat, its model list, feature-extraction embeddings. */
import {
  bearer,
  definePlugin,
  fetchModelList,
  forwardJson,
  forwardStream,
  InvalidRequestError,
  pickUpstreamHeaders,
  ProviderNotConfiguredError,
  UpstreamClient,
  UpstreamError,
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
    const routerRoot = new URL(config.base_url).pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
    return {
      async chat(request, call) {
        requireKey();
        return forwardJson(client, '/chat/completions', toRouterChat(request), call);
      },
      async chatStream(request, call) {
        requireKey();
        return forwardStream(client, '/chat/completions', toRouterChat(request), call);
      },
      async embeddings(request, call) {
        requireKey();
        if (request.dimensions != null) {
          throw new InvalidRequestError(
            "'dimensions' is not supported for Hugging Face embeddings: the model's own size is returned.",
            'dimensions',
            'unsupported_parameter',
          );
        }
        const inputs = featureInputs(request.input);
        // `//` makes the path absolute on the router's origin: the pipeline lives beside `/v1`, not under it.
        const path = `/${routerRoot}/hf-inference/models/${modelPath(String(request.model))}/pipeline/feature-extraction`;
        const answer = await client.json(path, { inputs }, call);
        return { body: toEmbeddingList(answer.body, inputs, String(request.model), name), headers: pickUpstreamHeaders(answer.headers) };
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

/** The pipeline takes texts only: `inputs` is the string or the array of strings. */
function featureInputs(input: unknown): string | string[] {
  if (typeof input === 'string') return input;
  if (Array.isArray(input) && input.every((entry) => typeof entry === 'string')) return input as string[];
  throw new InvalidRequestError(
    'Token-id inputs are not supported for Hugging Face embeddings: send the text as a string or an array of strings.',
    'input',
    'unsupported_parameter',
  );
}

/** Routing suffixes that choose among providers; the feature-extraction pipeline always runs on hf-inference. */
const POLICY_SUFFIXES = new Set(['hf-inference', 'fastest', 'cheapest', 'preferred']);

/**
 * The model id as URL path segments, each encoded, so an id cannot reach another route: no empty, `.` or `..`
 * segments, at most `org/name`.
 */
export function modelPath(model: string): string {
  const colon = model.lastIndexOf(':');
  let id = model;
  if (colon > model.lastIndexOf('/')) {
    const suffix = model.slice(colon + 1);
    if (!POLICY_SUFFIXES.has(suffix)) {
      throw new InvalidRequestError(
        `Hugging Face embeddings run on hf-inference; the provider suffix ':${suffix.slice(0, 50)}' cannot be honoured.`,
        'model',
        'invalid_model',
      );
    }
    id = model.slice(0, colon);
  }
  const segments = id.split('/');
  if (segments.length > 2 || segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new InvalidRequestError(`'${model.slice(0, 200)}' is not a Hugging Face model id (expected org/name).`, 'model', 'invalid_model');
  }
  return segments.map(encodeURIComponent).join('/');
}

const isVector = (value: unknown): value is number[] => Array.isArray(value) && value.length > 0 && value.every((entry) => typeof entry === 'number');

/** The pipeline's bare `number[]` (one text) or `number[][]` (several) as an OpenAI embedding list; usage is the core's. */
export function toEmbeddingList(answer: unknown, inputs: string | string[], model: string, provider: string): JsonObject {
  const expected = Array.isArray(inputs) ? inputs.length : 1;
  let vectors: unknown[] | undefined;
  if (!Array.isArray(inputs) && isVector(answer)) vectors = [answer];
  else if (Array.isArray(answer) && answer.length === expected && answer.every(isVector)) vectors = answer;
  if (!vectors) {
    throw new UpstreamError(
      `${provider} answered feature-extraction with ${expected} input(s) in an unexpected shape (token-level output? use a sentence-embedding model)`,
    );
  }
  return { object: 'list', data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })), model };
}
