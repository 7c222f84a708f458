/**
 * Usage rows for the dashboard: filtered by key, model, provider, status class and time, newest first, paged by
 * keyset on (created_at, id): each page is an index walk from where the last one ended, however deep the user
 * pages. Key, model and provider filters walk their own (column, created_at) index; a status-class filter first reads
 * the hourly aggregates to find how far back its next page reaches, so a rare status never scans the whole table.
 */
import { z } from 'zod';
import type { UsagePageRow } from '../dashboard-wire.ts';
import { microToUsd } from '../metering/pricing.ts';
import type { Queryable } from './sql.ts';
import { HOUR_MS } from './usage-hourly.ts';

const DAY_MS = 86_400_000;
const isoDate = /^\d{4}-\d{2}-\d{2}$/;

/** A `since`/`until` value: an ISO date-time, or a date (`until` then means through the end of that UTC day). */
const instant = z.iso.datetime({ offset: true }).or(z.iso.date());

/** Query parameters of the usage endpoints, as strings from the URL. */
export const usageFilterSchema = z.strictObject({
  key_id: z.string().max(64).optional(),
  model: z.string().max(300).optional(),
  provider: z.string().max(100).optional(),
  status: z
    .string()
    .regex(/^([2-5]xx|error|\d{3})$/, 'use 2xx, 3xx, 4xx, 5xx, error or a status code such as 429')
    .optional(),
  since: instant.optional(),
  until: instant.optional(),
  /** The `next_before` of the previous page. */
  before: z
    .string()
    .regex(/^\d{1,15}\.\d{1,18}$/, 'use the next_before of the previous page')
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type UsageFilterQuery = z.output<typeof usageFilterSchema>;

interface DbRow extends Omit<UsagePageRow, 'cost_usd' | 'created_at' | 'stream' | 'id'> {
  id: number | string;
  cost_micro: number | string;
  created_at: number | string;
  stream: boolean | number;
}

const COLUMNS = [
  'id',
  'request_id',
  'key_id',
  'endpoint',
  'provider',
  'model',
  'status',
  'error_code',
  'prompt_tokens',
  'completion_tokens',
  'cost_micro',
  'latency_ms',
  'ttft_ms',
  'stream',
  'attempts',
  'created_at',
];

function epoch(value: string, end: boolean): number {
  if (isoDate.test(value)) return Date.parse(`${value}T00:00:00Z`) + (end ? DAY_MS : 0);
  return Date.parse(value) + (end ? 1 : 0);
}

/** The WHERE clause of a filter; `until` is inclusive (a date: its whole day). */
export function applyUsageFilter(db: Queryable, filter: Omit<UsageFilterQuery, 'limit'>) {
  const query = db('usage');
  if (filter.key_id) query.where('key_id', filter.key_id);
  if (filter.model) query.where('model', filter.model);
  if (filter.provider) query.where('provider', filter.provider);
  if (filter.status) {
    const cls = /^([2-5])xx$/.exec(filter.status)?.[1];
    if (cls) query.whereBetween('status', [Number(cls) * 100, Number(cls) * 100 + 99]);
    else if (filter.status === 'error') query.where('status', '>=', 400);
    else query.where('status', Number(filter.status));
  }
  if (filter.since) query.where('created_at', '>=', epoch(filter.since, false));
  if (filter.until) query.where('created_at', '<', epoch(filter.until, true));
  if (filter.before) {
    const [at, id] = filter.before.split('.').map(Number);
    // The plain bound lets the index start its walk at the cursor; the OR only sorts out rows of that same instant.
    query.where('created_at', '<=', at).where((older) => older.where('created_at', '<', at).orWhere('id', '<', id));
  }
  return query;
}

const STATUS_CLASSES: Record<string, number[]> = { '2xx': [2], '3xx': [3], '4xx': [4], '5xx': [5], error: [4, 5] };

/**
 * For a filter on status class alone: the earliest created_at the next `need` matching rows can lie at, from the
 * hourly aggregates (their counts per class are exact). The newest hour of the walk is never counted, as it may
 * also hold rows past the cursor. Undefined: no bound (another filter applies, or an exact status code).
 */
async function statusWindow(db: Queryable, filter: Omit<UsageFilterQuery, 'limit'>, need: number): Promise<number | undefined> {
  const classes = filter.status ? STATUS_CLASSES[filter.status] : undefined;
  if (!classes || filter.key_id || filter.model || filter.provider) return undefined;
  const top = Math.min(filter.before ? Number(filter.before.split('.')[0]) : Infinity, filter.until ? epoch(filter.until, true) : Infinity, Date.now());
  const topHour = Math.floor(top / HOUR_MS);
  const query = db('usage_hourly')
    .select('hour')
    .sum({ requests: 'requests' })
    .whereIn('status_class', classes)
    .where('hour', '<', topHour)
    .groupBy('hour')
    .orderBy('hour', 'desc');
  if (filter.since) query.where('hour', '>=', Math.floor(epoch(filter.since, false) / HOUR_MS));
  let counted = 0;
  let earliest = topHour;
  for (const row of (await query) as { hour: number | string; requests: number | string }[]) {
    earliest = Number(row.hour);
    counted += Number(row.requests);
    if (counted >= need) break;
  }
  return earliest * HOUR_MS;
}

function toView(row: DbRow): UsagePageRow {
  const { cost_micro: costMicro, ...rest } = row;
  return {
    ...rest,
    id: Number(row.id),
    cost_usd: microToUsd(Number(costMicro)),
    stream: Boolean(row.stream),
    created_at: new Date(Number(row.created_at)).toISOString(),
  };
}

/** One page, newest first, and the cursor of the next (null on the last page). */
export async function usagePage(db: Queryable, filter: UsageFilterQuery): Promise<{ data: UsagePageRow[]; next_before: string | null }> {
  // One row more than asked tells whether another page exists without a COUNT over the whole filter.
  const query = applyUsageFilter(db, filter)
    .select(COLUMNS)
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(filter.limit + 1);
  const window = await statusWindow(db, filter, filter.limit + 1);
  if (window !== undefined) query.where('created_at', '>=', window);
  const found = (await query) as DbRow[];
  const data = found.slice(0, filter.limit);
  const last = data[data.length - 1];
  return { data: data.map(toView), next_before: found.length > filter.limit ? `${Number(last.created_at)}.${Number(last.id)}` : null };
}

export const CSV_COLUMNS = [
  'created_at',
  'request_id',
  'key_id',
  'key_name',
  'endpoint',
  'provider',
  'model',
  'status',
  'error_code',
  'prompt_tokens',
  'completion_tokens',
  'cost_usd',
  'latency_ms',
  'ttft_ms',
  'stream',
  'attempts',
] as const;

/** RFC 4180 quoting, and a leading quote on text a spreadsheet would run as a formula (a model id is client input). */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Every row of a filter as CSV lines, newest first, read a page at a time so memory stays flat. */
export async function* usageCsv(
  db: Queryable,
  filter: Omit<UsageFilterQuery, 'limit' | 'before'>,
  keyNames: ReadonlyMap<string, string>,
  maxRows: number,
): AsyncGenerator<string> {
  yield `${CSV_COLUMNS.join(',')}\r\n`;
  let before: string | undefined;
  let sent = 0;
  while (sent < maxRows) {
    const page = await usagePage(db, { ...filter, before, limit: Math.min(500, maxRows - sent) });
    const lines = page.data.map((row) =>
      CSV_COLUMNS.map((column) => csvCell(column === 'key_name' ? (row.key_id ? keyNames.get(row.key_id) : '') : row[column])).join(','),
    );
    if (lines.length > 0) yield `${lines.join('\r\n')}\r\n`;
    sent += page.data.length;
    if (page.next_before === null) return;
    before = page.next_before;
  }
}
