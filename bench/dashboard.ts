/**
 * `node --import tsx bench/dashboard.ts [--rows 1000000] [--pg]`: seeds a database with a million usage rows over 30
 * days (through the same bulk insert and aggregate code the usage writer runs), starts the gateway on it and times
 * every data call the dashboard's pages make: median and worst of 7 runs after three warm-up calls. Target: under 200 ms each.
 * `--keep` leaves the PostgreSQL database in place (its URL is printed) to look at query plans.
 * Writes bench/results/dashboard-latest.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { configFromObject } from '../src/config/load.ts';
import { bulkInsert } from '../src/db/bulk-insert.ts';
import { createKey } from '../src/db/keys-repo.ts';
import { createDb, migrate, type Db } from '../src/db/knex.ts';
import { addToDaily } from '../src/db/usage-daily.ts';
import { addToHourly } from '../src/db/usage-hourly.ts';
import { createLogger } from '../src/logging.ts';
import { USAGE_TABLE, type UsageRow } from '../src/metering/usage-writer.ts';
import { startServer } from '../src/start-gateway.ts';
import { createPgDatabase } from '../test/helpers/services.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: { rows: { type: 'string', default: '1000000' }, pg: { type: 'boolean' }, runs: { type: 'string', default: '7' }, keep: { type: 'boolean' } },
});
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
const TOKEN = 'bench-admin-token';
const DAY_MS = 86_400_000;
const MODELS = [
  'meta-llama/Llama-3.1-8B-Instruct',
  'gpt-4o-mini',
  'gpt-4o',
  'Qwen/Qwen2.5-72B-Instruct',
  'deepseek-ai/DeepSeek-R1',
  'mistralai/Mistral-7B-Instruct-v0.3',
  'text-embedding-3-small',
  'google/gemma-2-9b-it',
];
/** One row in ten thousand: a filter on it must not scan the table. */
const RARE_MODEL = 'rare/model-1';
const PROVIDERS: Record<string, string> = { 'gpt-4o-mini': 'openai', 'gpt-4o': 'openai', 'text-embedding-3-small': 'openai' };
const STATUSES: [number, string | null, number][] = [
  [200, null, 0.93],
  [429, 'rate_limit_exceeded', 0.03],
  [402, 'insufficient_credits', 0.02],
  [502, 'upstream_error', 0.015],
  [504, 'upstream_timeout', 0.005],
];

/** A deterministic pseudo-random stream, so runs compare. */
function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

function statusOf(draw: number): [number, string | null] {
  let edge = 0;
  for (const [status, code, share] of STATUSES) if (draw < (edge += share)) return [status, code];
  return [200, null];
}

async function seed(db: Db, keyIds: string[], now: number): Promise<void> {
  const next = random(42);
  const start = now - 30 * DAY_MS;
  const batch: UsageRow[] = [];
  const flush = async () => {
    await db.transaction(async (trx) => {
      await bulkInsert(trx, USAGE_TABLE, batch);
      await addToDaily(trx, batch);
      await addToHourly(trx, batch);
    });
    batch.length = 0;
  };
  for (let i = 0; i < ROWS; i++) {
    const model = i % 10_000 === 5_000 ? RARE_MODEL : MODELS[Math.floor(next() * MODELS.length)];
    const [status, code] = statusOf(next());
    const stream = next() < 0.4;
    const prompt = status === 200 ? 20 + Math.floor(next() * 2000) : 0;
    const completion = status === 200 ? 5 + Math.floor(next() * 800) : 0;
    batch.push({
      request_id: `req_bench_${i}`,
      key_id: keyIds[Math.floor(next() * keyIds.length)],
      endpoint: 'chat',
      provider: PROVIDERS[model] ?? 'huggingface',
      model,
      prompt_tokens: prompt,
      completion_tokens: completion,
      cost_micro: Math.round(prompt * 0.5 + completion * 1.5),
      status,
      error_code: code,
      latency_ms: 100 + Math.floor(next() * 3000),
      ttft_ms: stream && status === 200 ? 50 + Math.floor(next() * 500) : null,
      stream,
      estimated: false,
      attempts: 1,
      created_at: Math.floor(start + (i / ROWS) * 30 * DAY_MS),
    });
    if (batch.length === 5000) await flush();
    if (i % 100_000 === 0 && i > 0) process.stderr.write(`  seeded ${i.toLocaleString('en-US')} rows\n`);
  }
  if (batch.length > 0) await flush();
}

interface Timing {
  call: string;
  median_ms: number;
  max_ms: number;
  rows?: number;
}

async function time(call: string, url: string, token: string): Promise<Timing> {
  const once = async () => {
    const started = performance.now();
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    const body = await response.text();
    if (!response.ok) throw new Error(`${call}: ${response.status} ${body.slice(0, 200)}`);
    return { ms: performance.now() - started, body };
  };
  // Three warm-up calls: the first ones also open pool connections and compile the code paths.
  const { body } = await once();
  await once();
  await once();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) samples.push((await once()).ms);
  samples.sort((a, b) => a - b);
  const parsed = body.startsWith('{') ? (JSON.parse(body) as { data?: unknown[] }) : undefined;
  return { call, median_ms: Math.round(samples[samples.length >> 1] * 10) / 10, max_ms: Math.round(samples.at(-1)! * 10) / 10, rows: parsed?.data?.length };
}

/** Time to the first bytes of a CSV export (the rest streams). */
async function firstByte(url: string, token: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const reader = response.body!.getReader();
  await reader.read();
  const ms = performance.now() - started;
  await reader.cancel();
  return Math.round(ms * 10) / 10;
}

/** Every data call the pages make, as [name, path, token]. */
function dashboardCalls(keyId: string, secret: string, now: number): [string, string, string][] {
  const middle = `${Math.floor(now - 15 * DAY_MS)}.${Math.floor(ROWS / 2)}`;
  const tenDaysAgo = new Date(now - 10 * DAY_MS).toISOString().slice(0, 10);
  return [
    ['overview 24h', '/admin/overview?range=24h', TOKEN],
    ['overview 7d', '/admin/overview?range=7d', TOKEN],
    ['overview 30d', '/admin/overview?range=30d', TOKEN],
    ['keys', '/admin/keys', TOKEN],
    ['usage: newest page', '/admin/usage/rows?limit=50', TOKEN],
    ['usage: a page 500k rows deep', `/admin/usage/rows?limit=50&before=${middle}`, TOKEN],
    ['usage: one key', `/admin/usage/rows?limit=50&key_id=${keyId}`, TOKEN],
    ['usage: a common model', '/admin/usage/rows?limit=50&model=gpt-4o', TOKEN],
    ['usage: a rare model (1 in 10,000)', `/admin/usage/rows?limit=50&model=${encodeURIComponent(RARE_MODEL)}`, TOKEN],
    ['usage: a provider', '/admin/usage/rows?limit=50&provider=openai', TOKEN],
    ['usage: status 5xx', '/admin/usage/rows?limit=50&status=5xx', TOKEN],
    ['usage: errors', '/admin/usage/rows?limit=50&status=error', TOKEN],
    ['usage: status 429', '/admin/usage/rows?limit=50&status=429', TOKEN],
    ['usage: one key, 5xx', `/admin/usage/rows?limit=50&key_id=${keyId}&status=5xx`, TOKEN],
    ['usage: one day, 10 days ago', `/admin/usage/rows?limit=50&since=${tenDaysAgo}&until=${tenDaysAgo}`, TOKEN],
    ['usage: filter choices', '/admin/usage/facets', TOKEN],
    ['providers', '/admin/providers', TOKEN],
    ['owner: balance and totals', '/v1/usage', secret],
    ['owner: spend per day', '/v1/usage/daily?days=30', secret],
    ['owner: latest requests', '/v1/usage/requests?limit=20', secret],
  ];
}

function report(client: string, results: Timing[], exportMs: number): void {
  console.log(`\nDashboard data calls on ${client}, ${ROWS.toLocaleString('en-US')} usage rows over 30 days (median / worst of ${RUNS}):\n`);
  for (const result of results)
    console.log(
      `  ${result.call.padEnd(38)} ${String(result.median_ms).padStart(7)} ms ${String(result.max_ms).padStart(7)} ms${result.median_ms > 200 ? '  OVER 200 ms' : ''}`,
    );
  console.log(`  ${'CSV export (5xx): first bytes'.padEnd(38)} ${String(exportMs).padStart(7)} ms`);
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    path.join(ROOT, 'bench', 'results', `dashboard-${client}.json`),
    `${JSON.stringify({ rows: ROWS, database: client, results, export_first_byte_ms: exportMs }, null, 2)}\n`,
  );
}

async function measure(database: { client: string; connection: string }, keyId: string, secret: string, now: number): Promise<void> {
  const config = configFromObject(
    {
      server: { host: '127.0.0.1', port: 0 },
      database,
      admin: { token: TOKEN },
      logging: { level: 'error' },
      plugins_dir: path.join(ROOT, 'plugins'),
      providers: { huggingface: { plugin: 'huggingface', base_url: 'http://127.0.0.1:9', api_key: 'x', models: ['*/*'] } },
    },
    path.join(ROOT, 'config', 'bench.yaml'),
  );
  const running = await startServer(config, { logger: createLogger({ level: 'error' }) });
  try {
    const results: Timing[] = [];
    for (const [name, url, token] of dashboardCalls(keyId, secret, now)) results.push(await time(name, `${running.url}${url}`, token));
    report(database.client, results, await firstByte(`${running.url}/admin/usage/export?status=5xx`, TOKEN));
  } finally {
    await running.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchyard-dashboard-bench-'));
  const pgDatabase = args.pg ? await createPgDatabase() : undefined;
  const database = pgDatabase
    ? { client: 'pg' as const, connection: pgDatabase.url }
    : { client: 'sqlite3' as const, connection: path.join(dir, 'bench.sqlite') };
  const db = createDb(database);
  const now = Date.now();
  try {
    await migrate(db);
    const keys = await Promise.all(Array.from({ length: 50 }, (_, i) => createKey(db, { name: `team-${i}`, credits_usd: 1000 })));
    const seedStart = performance.now();
    await seed(
      db,
      keys.map((key) => key.record.id),
      now,
    );
    process.stderr.write(`seeded ${ROWS.toLocaleString('en-US')} rows on ${database.client} in ${Math.round((performance.now() - seedStart) / 1000)} s\n`);
    await db.destroy();
    await measure(database, keys[7].record.id, keys[7].secret, now);
  } finally {
    await db.destroy().catch(() => undefined);
    if (args.keep && pgDatabase) process.stderr.write(`kept ${pgDatabase.url}\n`);
    else await pgDatabase?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
