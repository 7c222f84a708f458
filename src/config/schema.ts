/** The zod schema of `config/gateway.yaml`; every key has its default here and nowhere else (docs/configuration.md). */
import { z } from 'zod';
import { DEFAULT_MAX_OUTPUT_TOKENS } from '../metering/tokens.ts';
import { decimal, wholeNumber, yamlBoolean } from './coerce.ts';

const int = (min: number) => wholeNumber(min);
const money = decimal(0, 1_000_000, 'USD per million tokens');

/** USD per million tokens; `cache_read` / `cache_write` price prompt-cache tokens (default: `input`). */
const price = z.strictObject({ input: money, output: money, cache_read: money.optional(), cache_write: money.optional() });
export const pricingSchema = z.record(z.string().min(1), price);

const retriesSchema = z.strictObject({
  attempts: wholeNumber(0, 10).default(2),
  base_ms: int(1).default(200),
  max_ms: int(1).default(5000),
});

/** Keys the core reads from every provider entry; everything else belongs to the plugin's own schema. */
export const providerEntrySchema = z.looseObject({
  plugin: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'must be a plugin folder name'),
  models: z.array(z.string().min(1)).default([]),
  timeout_ms: int(1).optional(),
  connect_timeout_ms: int(1).optional(),
  /** Bounds a whole stream, however steadily it trickles. */
  max_stream_ms: int(1).default(600_000),
  retries: retriesSchema.prefault({}),
  pricing: pricingSchema.optional(),
});

const fallbackTarget = z.union([
  z
    .string()
    .min(1)
    .transform((provider) => ({ provider, model: undefined as string | undefined })),
  z.strictObject({ provider: z.string().min(1), model: z.string().min(1).optional() }),
]);

/** One place a routing rule may send a request: a provider entry, its share of traffic, and the model name it knows. */
const routingTarget = z.union([
  z
    .string()
    .min(1)
    .transform((provider) => ({ provider, weight: 1, model: undefined as string | undefined })),
  z.strictObject({
    provider: z.string().min(1),
    weight: decimal(0.000001, 1_000_000, 'a share of traffic').default(1),
    model: z.string().min(1).optional(),
  }),
]);

/** A pool: requests for models matching `models` are spread over `targets` (see docs/routing.md). */
export const routingRuleSchema = z.strictObject({
  models: z.array(z.string().min(1)).min(1),
  targets: z.array(routingTarget).min(1),
  strategy: z.enum(['weighted', 'least-busy', 'lowest-latency']).default('weighted'),
  sticky: yamlBoolean.default(false),
});

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('0.0.0.0'),
      port: wholeNumber(0, 65535).default(8000),
      request_timeout_ms: int(1).default(30000),
      body_limit: z
        .string()
        .regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'must be a size such as 20mb or 512kb')
        // A vision request carries its images as base64: one phone photo (3–12 MB) is 4–16 MB of JSON.
        .default('20mb'),
      shutdown_grace_ms: int(0).default(20000),
      /** Bounds a client that trickles its headers (slowloris). */
      headers_timeout_ms: int(1).default(10000),
      /** Bounds a client that trickles its body. */
      request_body_timeout_ms: int(1).default(30000),
      keep_alive_timeout_ms: int(1).default(5000),
      max_header_size: int(1024).default(16384),
      trust_proxy: yamlBoolean.default(false),
      cors_origins: z.array(z.string()).default([]),
    })
    .prefault({}),
  database: z
    .strictObject({
      client: z.enum(['sqlite3', 'pg']).default('sqlite3'),
      connection: z.string().min(1).default('./data/switchyard.sqlite'),
      pool_max: int(1).default(10),
      /** How long a statement waits for another process's SQLite lock, or for a PostgreSQL connection. */
      busy_timeout_ms: int(1).default(5000),
    })
    .prefault({}),
  rate_limit: z
    .strictObject({
      store: z.enum(['memory', 'redis']).default('memory'),
      redis_url: z.string().default('redis://127.0.0.1:6379'),
      prefix: z.string().default('switchyard:rl:'),
      window_ms: int(1).default(60000),
      requests_per_window: int(1).default(60),
      on_store_error: z.enum(['allow', 'deny']).default('allow'),
    })
    .prefault({}),
  admin: z.strictObject({ token: z.string().default('') }).prefault({}),
  metrics: z.strictObject({ token: z.string().default('') }).prefault({}),
  logging: z
    .strictObject({
      level: z.enum(['error', 'warn', 'info', 'debug', 'silent']).default('info'),
      file: z.string().optional(),
    })
    .prefault({}),
  plugins_dir: z.string().default('./plugins'),
  providers: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'provider names are letters, digits, - and _'), providerEntrySchema).default({}),
  fallbacks: z.record(z.string().min(1), z.array(fallbackTarget).min(1)).default({}),
  routing: z.array(routingRuleSchema).default([]),
  cooldown: z
    .strictObject({
      /** Consecutive retryable failures (5xx, timeouts, connection errors) that cool a target. */
      failures: int(1).default(3),
      duration_ms: int(1).default(30_000),
      /** An upstream 401/403 (a bad provider key) cools the target at once, this long. */
      auth_duration_ms: int(1).default(300_000),
    })
    .prefault({}),
  metering: z
    .strictObject({
      default_max_tokens: int(1).default(DEFAULT_MAX_OUTPUT_TOKENS),
      reservation_ttl_ms: int(1000).default(600000),
      flush_interval_ms: int(1).default(100),
      flush_batch_size: int(1).default(500),
      key_cache_ttl_ms: wholeNumber(0, 10000).default(3000),
      instance_heartbeat_ms: int(100).default(2000),
      /** A grown lease covers this many more requests like the one that grew it (0: exact reservations only). */
      lease_prefetch: wholeNumber(0, 1000).default(3),
      /** An unused lease goes back to its key's balance after this long. */
      lease_idle_ms: int(10).default(1000),
      /** An instance silent this long is taken for dead: its reservations are released. */
      instance_stale_ms: int(500).default(15000),
      /** Usage rows a clean shutdown could not write (database down) go here, and the next start writes them. */
      spill_file: z.string().optional(),
      /** Usage rows kept in memory while the database is down; past this they wait in the spill file. */
      max_pending_rows: int(1).default(100_000),
    })
    .prefault({}),
  pricing: pricingSchema.default({ default: { input: 0, output: 0 } }),
});

export type RawConfig = z.output<typeof configSchema>;
export type RoutingRuleConfig = z.output<typeof routingRuleSchema>;
export type CooldownConfig = RawConfig['cooldown'];
export type ProviderEntryConfig = z.output<typeof providerEntrySchema>;
export type PricingConfig = z.output<typeof pricingSchema>;
