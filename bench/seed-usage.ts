/**
 * Seeds a database with many usage rows (a million by default) and their daily aggregates, the way the gateway
 * writes them (one JSON parameter per batch, rows and aggregates in one transaction), so reports can be timed at
 * that size. Run directly: `node --import tsx bench/seed-usage.ts --db sqlite:/tmp/usage.sqlite --rows 1000000`
 * (or `--db pg:postgres://…`); bench/reports.ts calls seedUsage itself.
 */
import { parseArgs } from 'node:util';
import { bulkInsert } from '../src/db/bulk-insert.ts';
import { createDb, migrate, type Db } from '../src/db/knex.ts';
import { createKey } from '../src/db/keys-repo.ts';
import { addToDaily } from '../src/db/usage-daily.ts';
import { USAGE_TABLE, type UsageRow } from '../src/metering/usage-writer.ts';

export interface SeedOptions {
  rows: number;
  keys: number;
  days: number;
  /** The newest row's time; rows spread evenly back over `days`. */
  end: number;
  batch?: number;
}

const MODELS: readonly [provider: string, model: string, inPrice: number, outPrice: number][] = [
  ['huggingface', 'meta-llama/Llama-3.1-8B-Instruct', 0.2, 0.6],
  ['huggingface', 'deepseek-ai/DeepSeek-R1', 0.5, 1.5],
  ['huggingface', 'Qwen/Qwen2.5-72B-Instruct', 0.4, 1.2],
  ['openai', 'gpt-4o-mini', 0.15, 0.6],
  ['openai', 'text-embedding-3-small', 0.02, 0],
  ['ollama', 'llama3.2', 0, 0],
];
const STATUSES = [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 402, 429, 502, 504];

/** A small deterministic generator: the same seed gives the same rows. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function usageRow(index: number, keyIds: readonly string[], start: number, stepMs: number, next: () => number): UsageRow {
  const [provider, model, inPrice, outPrice] = MODELS[Math.floor(next() * MODELS.length)];
  const status = STATUSES[Math.floor(next() * STATUSES.length)];
  const ok = status === 200;
  const prompt = ok ? 20 + Math.floor(next() * 2000) : 0;
  const completion = ok && outPrice > 0 ? Math.floor(next() * 800) : 0;
  const stream = ok && next() < 0.4;
  const createdAt = Math.floor(start + index * stepMs);
  return {
    request_id: `req_${createdAt.toString(16).padStart(12, '0')}${index.toString(16).padStart(20, '0')}`,
    key_id: keyIds[Math.floor(next() ** 2 * keyIds.length)],
    endpoint: outPrice > 0 ? 'chat' : 'embeddings',
    provider,
    model,
    prompt_tokens: prompt,
    completion_tokens: completion,
    cost_micro: Math.ceil(prompt * inPrice + completion * outPrice),
    status,
    error_code: ok ? null : status === 402 ? 'insufficient_credits' : status === 429 ? 'rate_limit_exceeded' : 'upstream_error',
    latency_ms: 50 + Math.floor(next() * 3000),
    ttft_ms: stream ? 30 + Math.floor(next() * 500) : null,
    stream,
    estimated: false,
    attempts: 1,
    created_at: createdAt,
  };
}

/** Creates `keys` named keys and `rows` usage rows over `days`, with their aggregates; returns the key ids. */
export async function seedUsage(db: Db, options: SeedOptions, progress: (done: number) => void = () => undefined): Promise<string[]> {
  const keyIds: string[] = [];
  for (let i = 0; i < options.keys; i++) keyIds.push((await createKey(db, { name: `team-${String(i).padStart(3, '0')}` })).record.id);
  const start = options.end - options.days * 86_400_000;
  const stepMs = (options.days * 86_400_000) / options.rows;
  const batch = options.batch ?? 20_000;
  const next = random(42);
  for (let done = 0; done < options.rows; done += batch) {
    const rows = Array.from({ length: Math.min(batch, options.rows - done) }, (_, i) => usageRow(done + i, keyIds, start, stepMs, next));
    await db.transaction(async (trx) => {
      await bulkInsert(trx, USAGE_TABLE, rows);
      await addToDaily(trx, rows);
    });
    progress(done + rows.length);
  }
  return keyIds;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      rows: { type: 'string', default: '1000000' },
      keys: { type: 'string', default: '50' },
      days: { type: 'string', default: '30' },
    },
  });
  const [client, ...rest] = (values.db ?? 'sqlite:./data/seeded.sqlite').split(':');
  const db = createDb({ client: client === 'pg' ? 'pg' : 'sqlite3', connection: rest.join(':') });
  try {
    await migrate(db);
    const started = performance.now();
    await seedUsage(db, { rows: Number(values.rows), keys: Number(values.keys), days: Number(values.days), end: Date.now() }, (done) =>
      process.stderr.write(`\r${done} rows`),
    );
    process.stderr.write(`\nseeded in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } finally {
    await db.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
