/** Usage rows as users see them, per request or grouped, and per-key totals. */
import { microToUsd } from '../metering/pricing.ts';
import type { UsageRow } from '../metering/usage-writer.ts';
import type { Queryable } from './sql.ts';

/** A usage row as the CLI and the admin API show it: dollars, and an ISO time. */
export interface UsageView extends Omit<UsageRow, 'cost_micro' | 'created_at'> {
  cost_usd: number;
  created_at: string;
}

export interface UsageFilter {
  keyId?: string;
  /** Epoch ms. */
  since?: number;
  limit?: number;
}

export type UsageGroupBy = 'model' | 'day' | 'key';

export interface UsageGroup extends UsageTotals {
  group: string | null;
}

/** SQLite answers booleans as 0/1. */
interface UsageDbRow extends Omit<UsageRow, 'stream' | 'estimated'> {
  stream: boolean | number;
  estimated: boolean | number;
}

function filtered(db: Queryable, filter: UsageFilter) {
  const query = db('usage');
  if (filter.keyId) query.where('key_id', filter.keyId);
  if (filter.since !== undefined) query.where('created_at', '>=', filter.since);
  return query;
}

export async function listUsage(db: Queryable, filter: UsageFilter): Promise<UsageView[]> {
  const found: UsageDbRow[] = await filtered(db, filter)
    .select('request_id', 'key_id', 'endpoint', 'provider', 'model', 'prompt_tokens', 'completion_tokens', 'cost_micro', 'status', 'error_code', 'latency_ms', 'ttft_ms', 'stream', 'estimated', 'attempts', 'created_at')
    .orderBy('id', 'asc')
    .limit(filter.limit ?? 100_000);
  return found.map(({ cost_micro: costMicro, ...row }) => ({
    ...row,
    cost_usd: microToUsd(Number(costMicro)),
    stream: Boolean(row.stream),
    estimated: Boolean(row.estimated),
    created_at: new Date(Number(row.created_at)).toISOString(),
  }));
}

const GROUP_EXPRESSIONS: Record<UsageGroupBy, string> = {
  model: 'model',
  key: 'key_id',
  // created_at is epoch milliseconds: integer division gives the UTC day in both SQLite and PostgreSQL.
  day: '(created_at / 86400000)',
};

export async function groupUsage(db: Queryable, filter: UsageFilter, groupBy: UsageGroupBy): Promise<UsageGroup[]> {
  const expression = GROUP_EXPRESSIONS[groupBy];
  const found = (await filtered(db, filter)
    .select(db.raw(`${expression} AS grp`), ...SUMS.map((sum) => db.raw(sum)))
    .groupBy(db.raw(expression))
    .orderBy(db.raw(expression))) as ({ grp: string | number | null } & TotalsRow)[];
  return found.map((row) => ({
    group: row.grp === null ? null : groupBy === 'day' ? new Date(Number(row.grp) * 86_400_000).toISOString().slice(0, 10) : String(row.grp),
    ...totalsOf(row),
  }));
}

const SUMS = [
  'COUNT(*) AS requests',
  'COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens',
  'COALESCE(SUM(completion_tokens), 0) AS completion_tokens',
  'COALESCE(SUM(cost_micro), 0) AS cost_micro',
];

interface TotalsRow {
  requests: number | string;
  prompt_tokens: number | string;
  completion_tokens: number | string;
  cost_micro: number | string;
}

function totalsOf(row: TotalsRow): UsageTotals {
  return {
    requests: Number(row.requests),
    prompt_tokens: Number(row.prompt_tokens),
    completion_tokens: Number(row.completion_tokens),
    cost_usd: microToUsd(Number(row.cost_micro)),
  };
}

export interface UsageTotals {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

export async function usageTotals(db: Queryable, keyId: string): Promise<UsageTotals> {
  const row = (await db('usage').where('key_id', keyId).select(SUMS.map((sum) => db.raw(sum))).first()) as TotalsRow;
  return totalsOf(row);
}
