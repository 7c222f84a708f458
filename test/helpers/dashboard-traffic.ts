/**
 * Two weeks of plausible traffic for the dashboard's screenshots and its busy-page test: rows written through the
 * gateway's own usage writer (so the aggregates follow), spread over days and hours, several keys and models, and
 * a few refusals and upstream failures.
 */
import { budgetPeriodAt } from '../../src/metering/budget-period.ts';
import type { UsageRow } from '../../src/metering/usage-writer.ts';
import type { TestGateway } from './gateway.ts';

const HOUR_MS = 3_600_000;
const MODELS: [string, string, number, number][] = [
  ['meta-llama/Llama-3.1-8B-Instruct', 'huggingface', 0.2, 0.2],
  ['gpt-4o-mini', 'openai', 0.15, 0.6],
  ['Qwen/Qwen2.5-72B-Instruct', 'huggingface', 0.9, 0.9],
  ['deepseek-ai/DeepSeek-R1', 'huggingface', 3, 7],
];

/**
 * Writes the rows and waits until they are in the database; returns how many. Each key's balance and this month's
 * budget use are charged what its rows cost, so balances, budgets and spend agree on the pages.
 */
export async function seedTraffic(gateway: TestGateway, keyIds: string[], days = 14): Promise<number> {
  const spent = new Map<string, { total: number; month: number }>();
  const month = budgetPeriodAt('month', Date.now());
  const writer = gateway.running.deps.writer;
  const now = Date.now();
  let seed = 7;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  let count = 0;
  for (let hour = days * 24; hour >= 1; hour--) {
    const at = now - hour * HOUR_MS;
    // Busier in the working hours (UTC) and on later days, as a growing gateway is.
    const daytime = Math.sin(((new Date(at).getUTCHours() - 6) / 24) * 2 * Math.PI);
    const perHour = Math.max(1, Math.round(6 + 5 * daytime + (days * 24 - hour) / 40));
    for (let i = 0; i < perHour; i++) {
      const [model, provider, input, output] = MODELS[Math.floor(next() ** 1.6 * MODELS.length)];
      const draw = next();
      const [status, code] = draw < 0.05 ? [429, 'rate_limit_exceeded'] : draw < 0.07 ? [502, 'upstream_error'] : [200, null];
      const prompt = status === 200 ? 200 + Math.floor(next() * 3000) : 0;
      const completion = status === 200 ? 50 + Math.floor(next() * 900) : 0;
      const stream = next() < 0.5;
      const row: UsageRow = {
        request_id: `req_seed_${hour}_${i}`,
        key_id: keyIds[Math.floor(next() * keyIds.length)],
        endpoint: 'chat',
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
        estimated: false,
        attempts: 1,
        created_at: at + Math.floor(next() * HOUR_MS),
      };
      // A row can't lie in the future: the newest hour's rows stay before now.
      row.created_at = Math.min(row.created_at, now - 1000);
      writer.enqueue({ row });
      const sums = spent.get(row.key_id!) ?? { total: 0, month: 0 };
      sums.total += row.cost_micro;
      if (row.created_at >= month.start) sums.month += row.cost_micro;
      spent.set(row.key_id!, sums);
      count++;
    }
  }
  await writer.flush();
  const db = gateway.running.deps.db;
  for (const [keyId, sums] of spent) {
    await db('api_keys').where('id', keyId).whereNotNull('balance_micro').update({ balance_micro: db.raw('CASE WHEN balance_micro > ? THEN balance_micro - ? ELSE 0 END', [sums.total, sums.total]) });
    await db('budget_usage').insert({ key_id: keyId, period: month.id, used_micro: sums.month }).onConflict(['key_id', 'period']).merge();
  }
  gateway.running.deps.keyCache.clear();
  return count;
}
