/**
 * Hourly aggregates (`usage_hourly`): requests, tokens and cost per UTC hour and status class, kept by the usage
 * writer in the same transaction as the rows they sum. The dashboard's last-24-hours totals and its requests-per-hour
 * chart read these instead of the rows.
 */
import type { UsageRow } from '../metering/usage-row.ts';
import { bulkInsert, type BulkTable } from './bulk-insert.ts';
import type { Queryable } from './sql.ts';

export const HOUR_MS = 3_600_000;

export interface UsageHourlyRow {
  /** Hours since the epoch, UTC. */
  hour: number;
  /** status / 100. */
  status_class: number;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_micro: number;
}

const SUMS = ['requests', 'prompt_tokens', 'completion_tokens', 'cost_micro'] as const;

export const USAGE_HOURLY_TABLE: BulkTable = {
  table: 'usage_hourly',
  columns: [['hour', 'bigint'], ['status_class', 'integer'], ...SUMS.map((name) => [name, 'bigint'] as const)],
  addOnConflict: { key: ['hour', 'status_class'], sums: SUMS },
};

/** Sums rows per hour and status class, sorted by that key (concurrent writers then lock in the same order). */
export function hourlyAggregates(usageRows: readonly UsageRow[]): UsageHourlyRow[] {
  const groups = new Map<number, UsageHourlyRow>();
  for (const row of usageRows) {
    const hour = Math.floor(row.created_at / HOUR_MS);
    const statusClass = Math.floor(row.status / 100);
    const id = hour * 10 + statusClass;
    let sum = groups.get(id);
    if (!sum) {
      sum = { hour, status_class: statusClass, requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_micro: 0 };
      groups.set(id, sum);
    }
    sum.requests++;
    sum.prompt_tokens += row.prompt_tokens;
    sum.completion_tokens += row.completion_tokens;
    sum.cost_micro += row.cost_micro;
  }
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([, sum]) => sum);
}

/** Adds the rows' sums to the hourly aggregates; call inside the transaction that inserts the rows. */
export async function addToHourly(trx: Queryable, usageRows: readonly UsageRow[]): Promise<void> {
  await bulkInsert(trx, USAGE_HOURLY_TABLE, hourlyAggregates(usageRows));
}
