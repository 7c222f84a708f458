/** Starts a real gateway (startServer) on 127.0.0.1:0 with a temporary SQLite file, or a given database. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { configFromObject, type Config } from '../../src/config/load.ts';
import { createKey, type KeyCreateInput, type KeyRecord } from '../../src/db/keys-repo.ts';
import { createLogger } from '../../src/logging.ts';
import type { UsageRow } from '../../src/metering/usage-writer.ts';
import { startServer, type RunningServer } from '../../src/start-gateway.ts';
import { TEST_PRICES } from './costs.ts';
import { createPgDatabase } from './services.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type PlainObject = Record<string, unknown>;

export interface GatewayOptions {
  providers: PlainObject;
  /** Deep-merged over the test defaults. */
  config?: PlainObject;
  /** Epoch ms for routing cooldowns and stats, budget periods and key expiry: a test moves it instead of sleeping. */
  clock?: () => number;
}

export interface TestGateway {
  running: RunningServer;
  config: Config;
  url: string;
  /** `${url}/v1`, what SDKs take as baseURL. */
  baseURL: string;
  createKey(input?: Partial<KeyCreateInput>): Promise<{ secret: string; record: KeyRecord }>;
  client(apiKey: string, options?: Partial<ConstructorParameters<typeof OpenAI>[0]>): OpenAI;
  close(): Promise<void>;
}

/** Where this run's gateway logs go: the log scan reads them at the end of the suite. */
export function logFile(): string {
  return path.join(process.env.SWITCHYARD_TEST_LOG_DIR ?? path.join(ROOT, 'test-logs', 'adhoc'), 'gateway.log');
}

export function deepMerge(base: PlainObject, over: PlainObject): PlainObject {
  const out: PlainObject = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current)
        ? deepMerge(current as PlainObject, value as PlainObject)
        : value;
  }
  return out;
}

/** A gateway config object for tests: fast flushes, SQLite in a temp folder unless `database` is given. */
export function testConfig(options: GatewayOptions, dataDir: string): Config {
  return configFromObject(testConfigObject(options, dataDir), path.join(ROOT, 'config', 'test.yaml'));
}

/** The same, as the plain object a YAML file would hold (child-process gateways read it from disk). */
export function testConfigObject(options: GatewayOptions, dataDir: string): PlainObject {
  const base: PlainObject = {
    server: { host: '127.0.0.1', port: 0, shutdown_grace_ms: 5000 },
    database: { client: 'sqlite3', connection: path.join(dataDir, 'gateway.sqlite') },
    logging: { level: 'info', file: logFile() },
    plugins_dir: path.join(ROOT, 'plugins'),
    providers: options.providers,
    metering: { flush_interval_ms: 5, instance_heartbeat_ms: 500 },
    pricing: TEST_PRICES,
  };
  return deepMerge(base, options.config ?? {});
}

export async function startGateway(options: GatewayOptions): Promise<TestGateway> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'switchyard-test-'));
  const config = testConfig(options, dataDir);
  const logger = createLogger(config.logging);
  const running = await startServer(config, { logger, clock: options.clock });
  return {
    running,
    config,
    url: running.url,
    baseURL: `${running.url}/v1`,
    async createKey(input = {}) {
      return createKey(running.deps.db, { name: 'test key', ...input });
    },
    client(apiKey, clientOptions = {}) {
      return new OpenAI({ apiKey, baseURL: `${running.url}/v1`, maxRetries: 0, ...clientOptions });
    },
    async close() {
      await running.close();
      logger.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Provider keys the mocks expect; the log scan checks they never reach a log line. */
/** Several instances of one deployment: `count` gateways sharing a fresh PostgreSQL database, dropped by `close`. */
export interface GatewaysOnPostgres {
  gateways: TestGateway[];
  close(): Promise<void>;
}

export async function startGatewaysOnPostgres(count: number, providers: PlainObject): Promise<GatewaysOnPostgres> {
  const database = await createPgDatabase();
  const gateways: TestGateway[] = [];
  const close = async (): Promise<void> => {
    for (const gateway of gateways) await gateway.close();
    await database.drop();
  };
  const config = { database: { client: 'pg', connection: database.url, pool_max: 5 }, rate_limit: { requests_per_window: 100_000 } };
  try {
    for (let i = 0; i < count; i++) gateways.push(await startGateway({ providers, config }));
  } catch (error) {
    await close();
    throw error;
  }
  return { gateways, close };
}

export const HF_KEY = 'hf_testSecretToken0123456789abcdef';
export const OPENAI_KEY = 'sk-testUpstreamSecret0123456789abcdef';

/** Provider entries pointing at mock upstreams. */
export function hfEntry(url: string, extra: PlainObject = {}): PlainObject {
  return { plugin: 'huggingface', base_url: url, api_key: HF_KEY, models: ['*/*'], retries: { attempts: 0 }, ...extra };
}

export function openaiEntry(url: string, extra: PlainObject = {}): PlainObject {
  return { plugin: 'openai', base_url: url, api_key: OPENAI_KEY, models: ['gpt-*', 'text-embedding-*'], retries: { attempts: 0 }, ...extra };
}

/** An `openai-compatible` entry (a local server such as Ollama): no key unless given. */
export function compatibleEntry(url: string, extra: PlainObject = {}): PlainObject {
  return { plugin: 'openai-compatible', base_url: url, models: ['llama3*', 'nomic-*'], retries: { attempts: 0 }, ...extra };
}

/** A usage row as the database returns it (SQLite answers booleans as 0/1). */
export interface UsageDbRow extends Omit<UsageRow, 'stream' | 'estimated'> {
  stream: boolean | number;
  estimated: boolean | number;
}

/** The usage row of one request, once the gateway has written it (rows are written in batches, after the response). */
export async function usageRow(gateway: TestGateway, requestId: string): Promise<UsageDbRow> {
  return eventually(async () => {
    await gateway.running.deps.writer.flush();
    return (await gateway.running.deps.db('usage').where('request_id', requestId).first()) as UsageDbRow | undefined;
  });
}

/** The newest usage row (for clients that do not expose response headers). */
export async function lastUsageRow(gateway: TestGateway, after: number): Promise<UsageDbRow> {
  return eventually(async () => {
    await gateway.running.deps.writer.flush();
    return (await gateway.running.deps.db('usage').where('id', '>', after).orderBy('id', 'desc').first()) as UsageDbRow | undefined;
  });
}

/** The id of the newest usage row so far: `lastUsageRow(gateway, mark)` then finds the next one. */
export async function usageMark(gateway: TestGateway): Promise<number> {
  await gateway.running.deps.writer.flush();
  const row = (await gateway.running.deps.db('usage').max('id as id').first()) as { id: number | null } | undefined;
  return row?.id ?? 0;
}

/** Polls `check` until it returns a truthy value (event-driven waits are preferred; this is for database state). */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Marked message text: tests send it in prompts, and the log scan checks no log line ever holds it. */
export const CANARY = 'canary-prompt-3f9d2a';
