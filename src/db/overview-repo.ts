/**
 * The dashboard's overview: totals, error rate, medians and two time series over the last 24 h, 7 or 30 days. Sums
 * come from the hourly and daily aggregates (a few rows per hour or day, whatever the traffic); the medians from a
 * bounded sample of the newest rows, so no query here reads more than SAMPLE_ROWS usage rows.
 */
import { microToUsd } from '../metering/pricing.ts';
import type { Overview, OverviewRange, Totals } from '../dashboard-wire.ts';
import { breakdown } from './overview-breakdown.ts';

export type { OverviewRange };
import { HOUR_MS } from './usage-hourly.ts';
import type { Queryable } from './sql.ts';

/** `days`: how many UTC days spend per day shows (a week for the last 24 h, so the day's bar has context). */
export const RANGES: Record<OverviewRange, { hours: number; days: number }> = {
  '24h': { hours: 24, days: 7 },
  '7d': { hours: 168, days: 7 },
  '30d': { hours: 720, days: 30 },
};

/** The medians read at most this many of the newest rows in the range. */
export const SAMPLE_ROWS = 5000;
/** Spend per day shows this many models by name; the rest are summed as "other". */
const TOP_MODELS = 8;
const DAY_MS = 86_400_000;

export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** The UTC days from `firstDay` through today, oldest first. */
export function daysFrom(firstDayMs: number, now: number): string[] {
  const days: string[] = [];
  for (let t = Math.floor(firstDayMs / DAY_MS) * DAY_MS; t <= now; t += DAY_MS) days.push(utcDay(t));
  return days;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : Math.round((sorted[middle - 1] + sorted[middle]) / 2);
}

interface SumRow {
  requests: number | string | null;
  errors: number | string | null;
  prompt_tokens: number | string | null;
  completion_tokens: number | string | null;
  cost_micro: number | string | null;
}

function totalsOf(row: SumRow | undefined): Totals {
  const requests = Number(row?.requests ?? 0);
  const errors = Number(row?.errors ?? 0);
  return {
    requests,
    errors,
    error_rate: requests ? errors / requests : 0,
    prompt_tokens: Number(row?.prompt_tokens ?? 0),
    completion_tokens: Number(row?.completion_tokens ?? 0),
    cost_usd: microToUsd(Number(row?.cost_micro ?? 0)),
  };
}

/** Medians of latency (answered requests) and time to first token (streams) among the newest rows since `since`. */
async function medians(db: Queryable, since: number, keyId?: string): Promise<{ latency: number | null; ttft: number | null; rows: number }> {
  // Newest by created_at: the walk follows the created_at index and stops after SAMPLE_ROWS rows.
  const query = db('usage').select('status', 'latency_ms', 'ttft_ms').where('created_at', '>=', since).orderBy('created_at', 'desc').limit(SAMPLE_ROWS);
  if (keyId) query.where('key_id', keyId);
  const sample = (await query) as { status: number; latency_ms: number; ttft_ms: number | null }[];
  const answered = sample.filter((row) => row.status < 400);
  return {
    latency: median(answered.map((row) => Number(row.latency_ms))),
    ttft: median(answered.flatMap((row) => (row.ttft_ms === null ? [] : [Number(row.ttft_ms)]))),
    rows: sample.length,
  };
}

/** Spend per day and model from the daily aggregates, the biggest models named and the rest as "other". */
export async function spendPerDay(db: Queryable, days: string[], keyId?: string): Promise<Overview['spend_per_day']> {
  const query = db('usage_daily').select('day', 'model').sum({ cost_micro: 'cost_micro' }).where('day', '>=', days[0]).groupBy('day', 'model');
  if (keyId) query.where('key_id', keyId);
  const found = (await query) as { day: string; model: string; cost_micro: number | string }[];
  const byModel = new Map<string, number>();
  for (const row of found) byModel.set(row.model, (byModel.get(row.model) ?? 0) + Number(row.cost_micro));
  const ranked = [...byModel.entries()].filter(([, micro]) => micro > 0).sort((a, b) => b[1] - a[1]);
  const named = new Set(ranked.slice(0, TOP_MODELS).map(([model]) => model));
  const index = new Map(days.map((day, i) => [day, i]));
  const series = new Map<string, number[]>();
  for (const row of found) {
    const i = index.get(row.day);
    const micro = Number(row.cost_micro);
    if (i === undefined || micro === 0) continue;
    const label = named.has(row.model) ? row.model || '(none)' : 'other';
    if (!series.has(label))
      series.set(
        label,
        days.map(() => 0),
      );
    series.get(label)![i] += micro;
  }
  return { days, series: [...series.entries()].map(([model, micro]) => ({ model, cost_usd: micro.map(microToUsd) })) };
}

const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx'];

interface HourRow {
  hour: number | string;
  status_class: number | string;
  requests: number | string;
  prompt_tokens: number | string;
  completion_tokens: number | string;
  cost_micro: number | string;
}

/** Requests per hour and status class from `firstHour` on, oldest hour first, 3xx only when there were any. */
function requestsPerHour(found: HourRow[], firstHour: number, lastHour: number): Overview['requests_per_hour'] {
  const hours: string[] = [];
  for (let hour = firstHour; hour <= lastHour; hour++) hours.push(new Date(hour * HOUR_MS).toISOString());
  const series = STATUS_CLASSES.map((status) => ({ status, requests: hours.map(() => 0) }));
  for (const row of found) {
    const i = Number(row.hour) - firstHour;
    const s = series.find((entry) => entry.status === `${Number(row.status_class)}xx`);
    if (s && i >= 0 && i < hours.length) s.requests[i] += Number(row.requests);
  }
  return { hours, series: series.filter((entry) => entry.status !== '3xx' || entry.requests.some(Boolean)) };
}

/** The sums of hourly aggregates: the last 24 h are the current hour and the 23 before it. */
function hourTotals(found: HourRow[]): Totals {
  const sum = (pick: (row: HourRow) => number | string, only: (row: HourRow) => boolean = () => true) =>
    found.filter(only).reduce((total, row) => total + Number(pick(row)), 0);
  return totalsOf({
    requests: sum((row) => row.requests),
    errors: sum(
      (row) => row.requests,
      (row) => Number(row.status_class) >= 4,
    ),
    prompt_tokens: sum((row) => row.prompt_tokens),
    completion_tokens: sum((row) => row.completion_tokens),
    cost_micro: sum((row) => row.cost_micro),
  });
}

/** Totals over whole UTC days of daily aggregates. */
async function dayTotals(db: Queryable, firstDay: string): Promise<Totals> {
  const row = (await db('usage_daily')
    .where('day', '>=', firstDay)
    .sum({ requests: 'requests', errors: 'errors', prompt_tokens: 'prompt_tokens', completion_tokens: 'completion_tokens', cost_micro: 'cost_micro' })
    .first()) as SumRow | undefined;
  return totalsOf(row);
}

/**
 * The overview of a range. "24h" is hour-aligned (the current hour and the 23 before it) and read from hourly
 * aggregates; "7d" and "30d" are whole UTC days (today and the days before it) read from daily aggregates.
 */
export async function overview(db: Queryable, range: OverviewRange, now = Date.now()): Promise<Overview> {
  const { hours, days: dayCount } = RANGES[range];
  const lastHour = Math.floor(now / HOUR_MS);
  const firstHour = lastHour - hours + 1;
  const firstDay = Math.floor(now / DAY_MS) * DAY_MS - (dayCount - 1) * DAY_MS;
  const since = range === '24h' ? firstHour * HOUR_MS : firstDay;
  const days = daysFrom(firstDay, now);
  const [hourly, sample, spend, byGroup] = await Promise.all([
    db('usage_hourly').select('hour', 'status_class', 'requests', 'prompt_tokens', 'completion_tokens', 'cost_micro').where('hour', '>=', firstHour) as Promise<
      HourRow[]
    >,
    medians(db, since),
    spendPerDay(db, days),
    breakdown(db, days[0]),
  ]);
  return {
    range,
    since: new Date(since).toISOString(),
    totals: range === '24h' ? hourTotals(hourly) : await dayTotals(db, days[0]),
    p50_latency_ms: sample.latency,
    p50_ttft_ms: sample.ttft,
    sample_rows: sample.rows,
    spend_per_day: spend,
    breakdown: byGroup,
    requests_per_hour: requestsPerHour(hourly, firstHour, lastHour),
  };
}
