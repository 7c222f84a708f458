/**
 * Usage rows for the dashboard: filtered by key, model, provider, status class and time, newest first, paged by
 * keyset on the row id (each page is an index walk from a known id, however deep the user pages), and as CSV.
 */
import { z } from 'zod';
import { microToUsd } from '../metering/pricing.ts';
import type { Queryable } from './sql.ts';

const DAY_MS = 86_400_000;
const isoDate = /^\d{4}-\d{2}-\d{2}$/;

/** A `since`/`until` value: an ISO date-time, or a date (`until` then means through the end of that UTC day). */
const instant = z.iso.datetime({ offset: true }).or(z.iso.date());

/** Query parameters of the usage endpoints, as strings from the URL. */
export const usageFilterSchema = z.strictObject({
  key_id: z.string().max(64).optional(),
  model: z.string().max(300).optional(),
  provider: z.string().max(100).optional(),
  status: z.string().regex(/^([2-5]xx|error|\d{3})$/, "use 2xx, 3xx, 4xx, 5xx, error or a status code such as 429").optional(),
  since: instant.optional(),
  until: instant.optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type UsageFilterQuery = z.output<typeof usageFilterSchema>;

/** One row as the dashboard shows it. `id` is the cursor: pass the last one as `before` for the next page. */
export interface UsagePageRow {
  id: number;
  request_id: string;
  key_id: string | null;
  endpoint: string;
  provider: string | null;
  model: string | null;
  status: number;
  error_code: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  latency_ms: number;
  ttft_ms: number | null;
  stream: boolean;
  attempts: number;
  created_at: string;
}

interface DbRow extends Omit<UsagePageRow, 'cost_usd' | 'created_at' | 'stream' | 'id'> {
  id: number | string;
  cost_micro: number | string;
  created_at: number | string;
  stream: boolean | number;
}

const COLUMNS = ['id', 'request_id', 'key_id', 'endpoint', 'provider', 'model', 'status', 'error_code', 'prompt_tokens', 'completion_tokens', 'cost_micro', 'latency_ms', 'ttft_ms', 'stream', 'attempts', 'created_at'];

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
  if (filter.before) query.where('id', '<', filter.before);
  return query;
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
export async function usagePage(db: Queryable, filter: UsageFilterQuery): Promise<{ data: UsagePageRow[]; next_before: number | null }> {
  // One row more than asked tells whether another page exists without a COUNT over the whole filter.
  const found = (await applyUsageFilter(db, filter).select(COLUMNS).orderBy('id', 'desc').limit(filter.limit + 1)) as DbRow[];
  const data = found.slice(0, filter.limit).map(toView);
  return { data, next_before: found.length > filter.limit ? data[data.length - 1].id : null };
}

export const CSV_COLUMNS = ['created_at', 'request_id', 'key_id', 'key_name', 'endpoint', 'provider', 'model', 'status', 'error_code', 'prompt_tokens', 'completion_tokens', 'cost_usd', 'latency_ms', 'ttft_ms', 'stream', 'attempts'] as const;

/** RFC 4180 quoting, and a leading quote on text a spreadsheet would run as a formula (a model id is client input). */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Every row of a filter as CSV lines, newest first, read a page at a time so memory stays flat. */
export async function* usageCsv(db: Queryable, filter: Omit<UsageFilterQuery, 'limit' | 'before'>, keyNames: ReadonlyMap<string, string>, maxRows: number): AsyncGenerator<string> {
  yield `${CSV_COLUMNS.join(',')}\r\n`;
  let before: number | undefined;
  let sent = 0;
  while (sent < maxRows) {
    const page = await usagePage(db, { ...filter, before, limit: Math.min(500, maxRows - sent) });
    const lines = page.data.map((row) => CSV_COLUMNS.map((column) => csvCell(column === 'key_name' ? (row.key_id ? keyNames.get(row.key_id) : '') : row[column])).join(','));
    if (lines.length > 0) yield `${lines.join('\r\n')}\r\n`;
    sent += page.data.length;
    if (page.next_before === null) return;
    before = page.next_before;
  }
}
