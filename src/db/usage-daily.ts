/**
 * Daily aggregates (`usage_daily`): one row per UTC day, key, model and provider, kept by the usage writer in the
 * same transaction as the usage rows it sums. Key columns use '' for "none" so the upsert's conflict target works.
 */
import type { UsageRow } from '../metering/usage-row.ts';
import { bulkInsert, type BulkTable } from './bulk-insert.ts';
import type { Queryable } from './sql.ts';

export interface UsageDailyRow {
  /** 'YYYY-MM-DD', UTC. */
  day: string;
  /** '' for rows without a key. */
  key_id: string;
  model: string;
  provider: string;
  requests: number;
  /** Requests answered with a status ≥ 400. */
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_micro: number;
  latency_ms_sum: number;
  ttft_ms_sum: number;
  /** Requests with a time to first token (streams): the divisor of ttft_ms_sum. */
  ttft_count: number;
}

const SUMS = ['requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cost_micro', 'latency_ms_sum', 'ttft_ms_sum', 'ttft_count'] as const;

export const USAGE_DAILY_TABLE: BulkTable = {
  table: 'usage_daily',
  columns: [['day', 'text'], ['key_id', 'text'], ['model', 'text'], ['provider', 'text'], ...SUMS.map((name) => [name, 'bigint'] as const)],
  addOnConflict: { key: ['day', 'key_id', 'model', 'provider'], sums: SUMS },
};

/** The UTC day of an epoch-ms time, as `usage_daily.day` holds it. */
export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/**
 * Sums usage rows into one aggregate per day, key, model and provider, sorted by that key: concurrent writers
 * (several instances on PostgreSQL) then lock the rows they share in the same order and cannot deadlock.
 */
export function dailyAggregates(usageRows: readonly UsageRow[]): UsageDailyRow[] {
  const groups = new Map<string, UsageDailyRow>();
  for (const row of usageRows) {
    const day = utcDay(row.created_at);
    const keyId = row.key_id ?? '';
    const model = row.model ?? '';
    const provider = row.provider ?? '';
    const id = JSON.stringify([day, keyId, model, provider]);
    let sum = groups.get(id);
    if (!sum) {
      sum = {
        day,
        key_id: keyId,
        model,
        provider,
        requests: 0,
        errors: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        cost_micro: 0,
        latency_ms_sum: 0,
        ttft_ms_sum: 0,
        ttft_count: 0,
      };
      groups.set(id, sum);
    }
    sum.requests++;
    if (row.status >= 400) sum.errors++;
    sum.prompt_tokens += row.prompt_tokens;
    sum.completion_tokens += row.completion_tokens;
    sum.cost_micro += row.cost_micro;
    sum.latency_ms_sum += row.latency_ms;
    if (row.ttft_ms !== null) {
      sum.ttft_ms_sum += row.ttft_ms;
      sum.ttft_count++;
    }
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, sum]) => sum);
}

/** Adds the rows' sums to the aggregates; call inside the transaction that inserts the rows. */
export async function addToDaily(trx: Queryable, usageRows: readonly UsageRow[]): Promise<void> {
  await bulkInsert(trx, USAGE_DAILY_TABLE, dailyAggregates(usageRows));
}
