/**
 * What each config key means, for the generated reference (docs/configuration.md). Types, bounds and defaults come
 * from the zod schemas; only the prose lives here. `section.` keys introduce a section, `<plugin>.<key>` describes a
 * plugin's own key, `plugin:<name>` introduces a plugin.
 */
export const KEY_MEANINGS: Readonly<Record<string, string>> = {
  'server.': 'The HTTP listener and the bounds it puts on clients.',
  'server.host':
    'Interface to listen on: `0.0.0.0` every IPv4 interface, `127.0.0.1` this machine only, `::` every interface. `serve` prints each address it really listens on.',
  'server.port': 'TCP port; `0` picks a free one. `serve --port` overrides it.',
  'server.request_timeout_ms':
    'Default upstream timeout of every provider entry (see `providers.<name>.timeout_ms`); also how long a stream waits for a client that stopped reading before it is cut off.',
  'server.body_limit':
    'Largest request body, e.g. `512kb`, `20mb`. Larger: 413 `request_too_large`, sent once the rest of the body (up to twice the limit more) has been read and thrown away, so a client still sending can read it. The default fits a vision request carrying one phone photo as base64. Memory: a request at the limit holds up to about three times it while it is read, parsed and sent upstream (the bytes, the parsed JSON, the upstream copy), so N such requests at once need about 3 × N × this; a refused body is discarded without being kept.',
  'server.shutdown_grace_ms': 'On SIGTERM/SIGINT, how long in-flight calls and streams may finish before they are cut (and billed for what they streamed).',
  'server.headers_timeout_ms': 'A client still sending its headers after this gets 408 (slowloris).',
  'server.request_body_timeout_ms': 'A client still sending its request (headers and body) after this gets 408.',
  'server.keep_alive_timeout_ms': 'An idle keep-alive connection is closed after this.',
  'server.max_header_size': 'Largest request head in bytes; larger: 431.',
  'server.trust_proxy': "Express's `trust proxy`: `true` behind a reverse proxy, so logs and rate limits see the client's address from `X-Forwarded-For`.",
  'server.cors_origins': 'Origins browsers may call `/v1` from, e.g. `["https://app.example.com"]`; `["*"]` any. Empty: no CORS headers.',
  'database.': 'Where keys, balances, usage rows and the credit ledger live. SQLite for one instance; PostgreSQL for several (see operating.md).',
  'database.client': '`sqlite3` (a file) or `pg` (PostgreSQL).',
  'database.connection':
    'SQLite: a file path (relative to the config file; created with its folder when missing, with a warning from the CLI) or `:memory:`. PostgreSQL: a URL such as `postgres://user:pass@host:5432/db`.',
  'database.pool_max': 'PostgreSQL connections per instance (SQLite always uses one).',
  'database.busy_timeout_ms': "How long a statement waits for another process's SQLite lock, or for a PostgreSQL connection; past it the request answers 503.",
  'rate_limit.':
    "Requests per key per window (a key's own `--rpm` overrides the default). 429 `rate_limit_exceeded` with `Retry-After` and the `RateLimit` headers.",
  'rate_limit.store': '`memory` (one instance) or `redis` (counts shared by every instance).',
  'rate_limit.redis_url': 'Redis URL for `store: redis`, e.g. `redis://:password@redis:6379/0`.',
  'rate_limit.prefix': 'Prefix of the Redis keys, to share one Redis between deployments.',
  'rate_limit.window_ms': 'Length of the rate-limit window.',
  'rate_limit.requests_per_window': 'Requests per key per window, unless the key has its own `--rpm` (then per minute).',
  'rate_limit.on_store_error':
    'Redis down: `allow` lets calls through uncounted (logged and counted in `switchyard_rate_limit_store_errors_total`), `deny` answers 503.',
  'admin.': 'The admin API (`/admin/keys`, `/admin/usage`; see endpoints.md).',
  'admin.token': 'Bearer token of the admin API, e.g. `${ADMIN_TOKEN:-}`. Empty: every `/admin` route answers 404.',
  'metrics.': 'Prometheus metrics at `GET /metrics`.',
  'metrics.token': 'Bearer token `/metrics` requires. Empty: `/metrics` is open.',
  'logging.': 'JSON log lines, one per request and per event. Provider keys, gateway keys and message text are never logged.',
  'logging.level': '`silent` logs nothing.',
  'logging.file': 'Append to this file instead of stdout.',
  plugins_dir: 'Folder of provider plugins: `plugins_dir/<plugin>/index.ts` (or `.js`). See plugins.md.',
  fallbacks:
    'Model glob → provider entries to try, in order, when the serving entry fails after its retries: `"meta-llama/*": [local-vllm]` or `[{ provider: local-vllm, model: local/llama-3.1-8b }]` to ask for another model name.',
  'routing.':
    'Pools: requests for the models a rule matches are spread over its targets, and a target that fails, is throttled or rejects its key is cooled (no traffic for a while). Rules are tried in order, the first match applies; a body `provider` field bypasses them. See routing.md.',
  routing: 'The rules, in order. Without any, the first provider entry whose `models` match serves, then `fallbacks`.',
  'routing[].models': 'Model globs the rule applies to, as in `models` (`*` crosses `/`, a `:suffix` is ignored).',
  'routing[].targets':
    'Provider entries of the pool, each at most once: `- hf-a` (weight 1) or `{ provider: hf-a, weight: 2, model: … }`. A target tried once and failed hands the request to the next healthy one.',
  'routing[].targets[].provider': "A provider entry's name; its own `models` globs need not match the rule.",
  'routing[].targets[].weight': "The target's share of traffic relative to the others in the rule.",
  'routing[].targets[].model': 'The name this target knows the model by; unset: the requested name is sent.',
  'routing[].strategy':
    '`weighted`: smooth weighted round-robin over the healthy targets; `least-busy`: fewest calls in flight; `lowest-latency`: lowest recent time to first byte, one pick in ten exploring.',
  'routing[].sticky':
    "Keep one key's conversation (its `prompt_cache_key`, `user` or opening messages) on one healthy target, so the deployment's prompt cache keeps serving it.",
  'cooldown.': 'When a target of a `routing` pool gets no traffic for a while. A 429 cools a target for its `Retry-After` (`duration_ms` when it gives none).',
  'cooldown.failures': 'Consecutive retryable failures (5xx, timeouts, connection errors, a cut answer) that cool a target.',
  'cooldown.duration_ms': 'How long such a target, or a throttled one without `Retry-After`, is cooled.',
  'cooldown.auth_duration_ms': 'An upstream 401/403 (the provider rejected its key) or a missing key cools the target at once, this long, logged as an error.',
  'fallbacks.<name>[].provider': 'The provider entry to try.',
  'fallbacks.<name>[].model': 'The model name to ask that entry for; unset: the requested name.',
  'metering.': 'How calls are reserved, charged and written.',
  'metering.default_max_tokens': 'What a request without `max_tokens` may reserve; a metered call without a bound is also sent upstream with this bound.',
  'metering.reservation_ttl_ms': "A lease (money an instance holds for its calls) expires after this unless renewed by the instance's heartbeat.",
  'metering.flush_interval_ms': 'How often usage rows are written: one transaction per interval, sooner when a full batch waits.',
  'metering.flush_batch_size': 'Most usage rows per write; a full batch is written without waiting for the interval.',
  'metering.key_cache_ttl_ms': 'How long an instance trusts its cached view of a key; a revoke or a new `--rpm` reaches every instance within this.',
  'metering.instance_heartbeat_ms': 'How often an instance proves it is alive and renews its leases.',
  'metering.lease_prefetch':
    'A grown lease covers this many more requests like the one that grew it, and a busy one about a second of its spending (0: exact reservations only).',
  'metering.lease_idle_ms': "An unused lease goes back to its key's balance after this long.",
  'metering.instance_stale_ms': "An instance silent this long is taken for dead: its leases go back to the keys' balances.",
  'metering.spill_file':
    'Usage rows a shutdown could not write (database down) are appended here and written by the next start. Default: next to the SQLite file, or `unwritten-usage.jsonl` beside the config file with PostgreSQL.',
  'metering.max_pending_rows': 'Usage rows kept in memory while the database is down; past this they wait in the spill file.',
  pricing:
    'USD per million tokens by model glob, first match wins, `default` last: `"meta-llama/*": { input: 0.2, output: 0.2 }`. `*` matches any run of characters, `/` included; a `:suffix` on the model id is ignored.',
  'pricing.<name>.input': 'USD per million prompt tokens (up to six decimals).',
  'pricing.<name>.output': 'USD per million completion tokens.',
  'pricing.<name>.cache_read':
    'USD per million prompt tokens read from the prompt cache (Anthropic `cache_read_input_tokens`, OpenAI `cached_tokens`). Default: `input`.',
  'pricing.<name>.cache_write': 'USD per million prompt tokens written to the prompt cache (Anthropic `cache_creation_input_tokens`). Default: `input`.',
  'providers.':
    "Named provider entries, each served by a plugin. A request's model goes to the first entry whose `models` globs match (order matters), unless the body names an entry with `provider`. Several entries may use the same plugin. The keys below are read by the core; the rest of an entry is the plugin's own, validated by its schema.",
  'providers.<name>.plugin': 'The plugin folder under `plugins_dir`, e.g. `huggingface`, `openai`, `openai-compatible`.',
  'providers.<name>.models': 'Model globs this entry serves, e.g. `["gpt-*", "text-embedding-*"]` or `["*/*"]` (any `org/model`).',
  'providers.<name>.timeout_ms':
    "Bounds the upstream's first byte, a whole non-streamed answer and each silence between stream chunks (504 `upstream_timeout`, or a final error event mid-stream). Default: `server.request_timeout_ms`.",
  'providers.<name>.connect_timeout_ms': 'Bounds opening a connection to the upstream. Default: the smaller of 10 s and `timeout_ms`.',
  'providers.<name>.max_stream_ms': 'Bounds a whole stream, however steadily it trickles.',
  'providers.<name>.retries':
    "Retries of what may succeed on a second try (connection errors, 429, 502, 503, 504), with full-jitter exponential backoff, never sooner than the upstream's `Retry-After`. A stream is never retried once its first byte reached the client.",
  'providers.<name>.retries.attempts': 'Retries after the first try (0: none).',
  'providers.<name>.retries.base_ms': 'First backoff step.',
  'providers.<name>.retries.max_ms': 'Longest backoff; a `Retry-After` longer than this is not waited out (the client gets the 429 or 503 with it).',
  'providers.<name>.pricing': "This entry's own prices, same shape as `pricing`; models it does not price fall back to the global `pricing`.",
  'providers.<name>.pricing.<name>.input': 'USD per million prompt tokens.',
  'providers.<name>.pricing.<name>.output': 'USD per million completion tokens.',
  'providers.<name>.pricing.<name>.cache_read': 'USD per million prompt tokens read from the prompt cache. Default: `input`.',
  'providers.<name>.pricing.<name>.cache_write': 'USD per million prompt tokens written to the prompt cache. Default: `input`.',
  'plugin:huggingface':
    'Hugging Face Inference Providers through the router: chat (Responses translated to chat), the model list, embeddings through the `hf-inference` feature-extraction pipeline.',
  'huggingface.base_url': 'The router, e.g. `${HF_BASE_URL:-https://router.huggingface.co/v1}`.',
  'huggingface.api_key': 'A Hugging Face token, e.g. `${HUG_API_KEY:-${HF_TOKEN:-}}`. Empty: calls answer 503 `provider_not_configured`.',
  'huggingface.bill_to': 'Sent as `X-HF-Bill-To`, to bill a Team or Enterprise organisation.',
  'huggingface.headers': 'Extra headers sent upstream.',
  'plugin:openai': 'OpenAI: native passthrough for chat completions, Responses, embeddings and the model list.',
  'openai.base_url': 'The API root, e.g. `${OPENAI_BASE_URL:-https://api.openai.com/v1}` (also Azure-style proxies that speak the same API).',
  'openai.api_key': 'An OpenAI key, e.g. `${OPENAI_API_KEY:-}`. Empty: calls answer 503 `provider_not_configured`.',
  'openai.organization': 'Sent as `OpenAI-Organization`.',
  'openai.project': 'Sent as `OpenAI-Project`.',
  'openai.headers': 'Extra headers sent upstream.',
  'plugin:openai-compatible': 'Any server that speaks the OpenAI API (Ollama, vLLM, TGI, llama.cpp, Groq, Together…).',
  'openai-compatible.base_url': 'The server root including `/v1`, e.g. `http://localhost:11434/v1` for Ollama.',
  'openai-compatible.api_key': 'Sent as `Authorization: Bearer` when set; local servers usually take none.',
  'openai-compatible.headers': 'Extra headers sent upstream.',
  'openai-compatible.supports': 'What the server has besides chat completions.',
  'openai-compatible.supports.responses': 'A native `/v1/responses`; otherwise the gateway translates Responses to chat completions.',
  'openai-compatible.supports.completions':
    'A native legacy `/v1/completions` (vLLM, llama.cpp, TGI); otherwise the gateway translates completions to chat completions.',
  'openai-compatible.supports.embeddings': 'A `/v1/embeddings` endpoint.',
  'openai-compatible.supports.stream_usage':
    'Streams end with a usage chunk when asked; `false`: no `stream_options` is sent and the gateway counts tokens itself (`estimated: true`).',
  'openai-compatible.max_tokens_field': 'The name under which the output bound of metered calls is sent (`max_completion_tokens` for servers that want it).',
  'plugin:anthropic':
    'Anthropic: the Messages API natively (`/v1/messages`, its streams, `count_tokens`) and the model list; chat completions and Responses reach Claude translated to Messages. See anthropic-provider.md.',
  'anthropic.base_url': 'The API root without `/v1` (the plugin adds it), e.g. `${ANTHROPIC_BASE_URL:-https://api.anthropic.com}`.',
  'anthropic.api_key': 'An Anthropic key, sent as `x-api-key`, e.g. `${ANTHROPIC_API_KEY:-}`. Empty: calls answer 503 `provider_not_configured`.',
  'anthropic.anthropic_version': 'Sent as `anthropic-version` unless the client sends its own.',
  'anthropic.headers': 'Extra headers sent upstream.',
};
