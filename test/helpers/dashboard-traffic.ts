/**
 * Two weeks of plausible traffic for the dashboard's screenshots and its busy-page test: rows written through the
 * gateway's own usage writer (so the aggregates follow), spread over days and hours, several keys and models, and
 * a few refusals and upstream failures. Balances and this month's budgets are charged what the rows cost.
 */
import type { Db } from '../../src/db/knex.ts';
import { budgetPeriodAt } from '../../src/metering/budget-period.ts';
import type { UsageRow } from '../../src/metering/usage-writer.ts';
import { fakeUsageRow } from './usage-rows.ts';
import type { TestGateway } from './gateway.ts';

const HOUR_MS = 3_600_000;
/** Model, provider entry, USD per million tokens in and out. */
const MODELS: [string, string, number, number][] = [
  ['meta-llama/Llama-3.1-8B-Instruct', 'huggingface', 0.2, 0.2],
  ['gpt-4o-mini', 'openai', 0.15, 0.6],
  ['Qwen/Qwen2.5-72B-Instruct', 'huggingface', 0.9, 0.9],
  ['deepseek-ai/DeepSeek-R1', 'huggingface', 3, 7],
];

/** A deterministic stream of numbers in [0, 1): the screenshots come out the same each run. */
function randoms(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** Busier in the working hours (UTC) and on later days, as a growing gateway is. */
function requestsInHour(at: number, hoursAgo: number, totalHours: number): number {
  const daytime = Math.sin(((new Date(at).getUTCHours() - 6) / 24) * 2 * Math.PI);
  return Math.max(1, Math.round(6 + 5 * daytime + (totalHours - hoursAgo) / 40));
}

function trafficRow(id: string, keyId: string, hourStart: number, next: () => number, now: number): UsageRow {
  const [model, provider, input, output] = MODELS[Math.floor(next() ** 1.6 * MODELS.length)];
  const draw = next();
  const [status, code] = draw < 0.05 ? [429, 'rate_limit_exceeded'] : draw < 0.07 ? [502, 'upstream_error'] : [200, null];
  const prompt = status === 200 ? 200 + Math.floor(next() * 3000) : 0;
  const completion = status === 200 ? 50 + Math.floor(next() * 900) : 0;
  const stream = next() < 0.5;
  return fakeUsageRow({
    request_id: id,
    key_id: keyId,
    provider,
    model,
    prompt_tokens: prompt,
    completion_tokens: completion,
    cost_micro: Math.round(prompt * input + completion * output),
    status,
    error_code: code,
    latency_ms: 300 + Math.floor(next() * 2500),
    ttft_ms: stream && status === 200 ? 120 + Math.floor(next() * 400) : null,
    stream,
    // No row lies in the future: the newest hour's rows stay before now.
    created_at: Math.min(hourStart + Math.floor(next() * HOUR_MS), now - 1000),
  });
}

/** Takes each key's total cost off its balance (if metered) and counts this month's into its budget. */
async function charge(db: Db, spent: Map<string, { total: number; month: number }>, monthId: string): Promise<void> {
  for (const [keyId, sums] of spent) {
    await db('api_keys')
      .where('id', keyId)
      .whereNotNull('balance_micro')
      .update({ balance_micro: db.raw('CASE WHEN balance_micro > ? THEN balance_micro - ? ELSE 0 END', [sums.total, sums.total]) });
    await db('budget_usage').insert({ key_id: keyId, period: monthId, used_micro: sums.month }).onConflict(['key_id', 'period']).merge();
  }
}

/** Writes the rows and waits until they are in the database; returns how many. */
export async function seedTraffic(gateway: TestGateway, keyIds: string[], days = 14): Promise<number> {
  const { writer, db, keyCache } = gateway.running.deps;
  const now = Date.now();
  const month = budgetPeriodAt('month', now);
  const next = randoms(7);
  const spent = new Map<string, { total: number; month: number }>();
  let count = 0;
  for (let hoursAgo = days * 24; hoursAgo >= 1; hoursAgo--) {
    const hourStart = now - hoursAgo * HOUR_MS;
    for (let i = requestsInHour(hourStart, hoursAgo, days * 24); i > 0; i--) {
      const row = trafficRow(`req_seed_${hoursAgo}_${i}`, keyIds[Math.floor(next() * keyIds.length)], hourStart, next, now);
      writer.enqueue({ row });
      const sums = spent.get(row.key_id!) ?? { total: 0, month: 0 };
      sums.total += row.cost_micro;
      if (row.created_at >= month.start) sums.month += row.cost_micro;
      spent.set(row.key_id!, sums);
      count++;
    }
  }
  await writer.flush();
  await charge(db, spent, month.id);
  keyCache.clear();
  return count;
}
