/**
 * Usage as users see it: rows newest first, or grouped by model, day or key. Groups are read from the daily
 * aggregates (`usage_daily`) for whole UTC days and from the rows only for the parts of days a `since` or `until`
 * in mid-day cuts, so a report costs the same with a thousand rows or a million.
 */
import { microToUsd } from '../metering/pricing.ts';
import type { UsageRow } from '../metering/usage-row.ts';
import type { Queryable } from './sql.ts';

/** A usage row as the CLI and the admin API show it: dollars, and an ISO time. */
export interface UsageView extends Omit<UsageRow, 'cost_micro' | 'created_at'> {
  cost_usd: number;
  created_at: string;
}

export interface UsageFilter {
  keyId?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  limit?: number;
}

export const DEFAULT_USAGE_LIMIT = 100;

export type UsageGroupBy = 'model' | 'day' | 'key';

export interface UsageGroup extends UsageTotals {
  group: string | null;
  /** With `key`: the key's name beside its id. */
  name?: string | null;
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
  if (filter.until !== undefined) query.where('created_at', '<', filter.until);
  return query;
}

/** Rows newest first, at most `limit` (default 100). */
export async function listUsage(db: Queryable, filter: UsageFilter): Promise<UsageView[]> {
  const found: UsageDbRow[] = await filtered(db, filter)
    .select(
      'request_id',
      'key_id',
      'endpoint',
      'provider',
      'model',
      'prompt_tokens',
      'completion_tokens',
      'cost_micro',
      'status',
      'error_code',
      'latency_ms',
      'ttft_ms',
      'stream',
      'estimated',
      'attempts',
      'created_at',
    )
    // The created_at index (alone or after key_id) gives this order without sorting; equal times come newest id first.
    .orderBy('created_at', 'desc')
    .limit(filter.limit ?? DEFAULT_USAGE_LIMIT);
  return found.map(({ cost_micro: costMicro, ...row }) => ({
    ...row,
    cost_usd: microToUsd(Number(costMicro)),
    stream: Boolean(row.stream),
    estimated: Boolean(row.estimated),
    created_at: new Date(Number(row.created_at)).toISOString(),
  }));
}

const DAY_MS = 86_400_000;

/** How each grouping reads in the aggregates and in the rows ('' in the aggregates means none). */
const GROUPS: Record<UsageGroupBy, { daily: string; rows: string }> = {
  model: { daily: 'model', rows: "COALESCE(model, '')" },
  key: { daily: 'key_id', rows: "COALESCE(key_id, '')" },
  // created_at is epoch milliseconds: integer division gives the UTC day number in both SQLite and PostgreSQL.
  day: { daily: 'day', rows: '(created_at / 86400000)' },
};

const DAILY_SUMS = [
  'SUM(requests) AS requests',
  'SUM(prompt_tokens) AS prompt_tokens',
  'SUM(completion_tokens) AS completion_tokens',
  'SUM(cost_micro) AS cost_micro',
];

/** Splits [since, until) into whole UTC days (for the aggregates) and the partial days at its ends (for the rows). */
function splitRange(filter: UsageFilter): { days: { from?: string; to?: string } | undefined; edges: { since?: number; until?: number }[] } {
  const firstDay = filter.since === undefined ? undefined : Math.ceil(filter.since / DAY_MS) * DAY_MS;
  const endDay = filter.until === undefined ? undefined : Math.floor(filter.until / DAY_MS) * DAY_MS;
  if (firstDay !== undefined && endDay !== undefined && firstDay >= endDay) return { days: undefined, edges: [{ since: filter.since, until: filter.until }] };
  const edges: { since?: number; until?: number }[] = [];
  if (firstDay !== undefined && firstDay > filter.since!) edges.push({ since: filter.since, until: firstDay });
  if (endDay !== undefined && endDay < filter.until!) edges.push({ since: endDay, until: filter.until });
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return { days: { from: firstDay === undefined ? undefined : day(firstDay), to: endDay === undefined ? undefined : day(endDay) }, edges };
}

type GroupRow = { grp: string | number | null } & TotalsRow;

async function groupDaily(db: Queryable, filter: UsageFilter, groupBy: UsageGroupBy, days: { from?: string; to?: string }): Promise<GroupRow[]> {
  const expression = GROUPS[groupBy].daily;
  const query = db('usage_daily').select(db.raw(`${expression} AS grp`), ...DAILY_SUMS.map((sum) => db.raw(sum)));
  if (filter.keyId) query.where('key_id', filter.keyId);
  if (days.from !== undefined) query.where('day', '>=', days.from);
  if (days.to !== undefined) query.where('day', '<', days.to);
  return (await query.groupBy(expression)) as GroupRow[];
}

async function groupRows(db: Queryable, filter: UsageFilter, groupBy: UsageGroupBy): Promise<GroupRow[]> {
  const expression = GROUPS[groupBy].rows;
  const found = (await filtered(db, filter)
    .select(db.raw(`${expression} AS grp`), ...SUMS.map((sum) => db.raw(sum)))
    .groupBy(db.raw(expression))) as GroupRow[];
  if (groupBy !== 'day') return found;
  return found.map((row) => ({ ...row, grp: new Date(Number(row.grp) * DAY_MS).toISOString().slice(0, 10) }));
}

export async function groupUsage(db: Queryable, filter: UsageFilter, groupBy: UsageGroupBy): Promise<UsageGroup[]> {
  const { days, edges } = splitRange(filter);
  const parts = await Promise.all([
    ...(days ? [groupDaily(db, filter, groupBy, days)] : []),
    ...edges.map((edge) => groupRows(db, { ...filter, ...edge }, groupBy)),
  ]);
  const merged = new Map<string, UsageTotals>();
  for (const row of parts.flat()) {
    const group = String(row.grp ?? '');
    const totals = totalsOf(row);
    const sum = merged.get(group);
    merged.set(group, sum ? addTotals(sum, totals) : totals);
  }
  const groups = [...merged.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([group, totals]) => ({ group: group === '' ? null : group, ...totals }));
  return groupBy === 'key' ? withKeyNames(db, groups) : groups;
}

/** Names beside ids, from one lookup of the keys in the report. */
async function withKeyNames(db: Queryable, groups: UsageGroup[]): Promise<UsageGroup[]> {
  const ids = groups.flatMap((group) => (group.group === null ? [] : [group.group]));
  const names = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 500) {
    for (const key of await db('api_keys')
      .select('id', 'name')
      .whereIn('id', ids.slice(i, i + 500)))
      names.set(key.id, key.name);
  }
  return groups.map((group) => ({ group: group.group, name: group.group === null ? null : (names.get(group.group) ?? null), ...totalsOnly(group) }));
}

function totalsOnly({ requests, prompt_tokens, completion_tokens, cost_usd }: UsageTotals): UsageTotals {
  return { requests, prompt_tokens, completion_tokens, cost_usd };
}

function addTotals(a: UsageTotals, b: UsageTotals): UsageTotals {
  return {
    requests: a.requests + b.requests,
    prompt_tokens: a.prompt_tokens + b.prompt_tokens,
    completion_tokens: a.completion_tokens + b.completion_tokens,
    // Both are whole micro-dollars: summing in micro keeps the total exact.
    cost_usd: microToUsd(Math.round(a.cost_usd * 1e6) + Math.round(b.cost_usd * 1e6)),
  };
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
    requests: Number(row.requests ?? 0),
    prompt_tokens: Number(row.prompt_tokens ?? 0),
    completion_tokens: Number(row.completion_tokens ?? 0),
    cost_usd: microToUsd(Number(row.cost_micro ?? 0)),
  };
}

export interface UsageTotals {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

/** A key's totals since it was created, from its daily aggregates. */
export async function usageTotals(db: Queryable, keyId: string): Promise<UsageTotals> {
  const row = (await db('usage_daily')
    .where('key_id', keyId)
    .select(DAILY_SUMS.map((sum) => db.raw(sum)))
    .first()) as TotalsRow;
  return totalsOf(row);
}
