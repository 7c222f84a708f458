/**
 * Which keys spend what and how each model does, over whole UTC days of daily aggregates: requests, errors, average
 * latency and time to first token (sums over counts, exact), and spend. A few thousand aggregate rows for 30 days.
 */
import type { Breakdown, BreakdownRow } from '../dashboard-wire.ts';
import { microToUsd } from '../metering/pricing.ts';
import type { Queryable } from './sql.ts';

/** How many keys and models each table lists, by spend (then requests). */
const TOP = 10;

interface SumRow {
  grp: string;
  requests: number | string;
  errors: number | string;
  cost_micro: number | string;
  latency_ms_sum: number | string;
  ttft_ms_sum: number | string;
  ttft_count: number | string;
}

function rowOf(sum: SumRow): BreakdownRow {
  const requests = Number(sum.requests);
  const ttftCount = Number(sum.ttft_count);
  return {
    requests,
    errors: Number(sum.errors),
    cost_usd: microToUsd(Number(sum.cost_micro)),
    avg_latency_ms: requests ? Math.round(Number(sum.latency_ms_sum) / requests) : null,
    avg_ttft_ms: ttftCount ? Math.round(Number(sum.ttft_ms_sum) / ttftCount) : null,
  };
}

async function grouped(db: Queryable, column: 'key_id' | 'model', firstDay: string): Promise<SumRow[]> {
  return (await db('usage_daily')
    .select({ grp: column })
    .sum({
      requests: 'requests',
      errors: 'errors',
      cost_micro: 'cost_micro',
      latency_ms_sum: 'latency_ms_sum',
      ttft_ms_sum: 'ttft_ms_sum',
      ttft_count: 'ttft_count',
    })
    .where('day', '>=', firstDay)
    .groupBy(column)
    .orderByRaw('SUM(cost_micro) DESC, SUM(requests) DESC')
    .limit(TOP)) as SumRow[];
}

export async function breakdown(db: Queryable, firstDay: string): Promise<Breakdown> {
  const [keys, models] = await Promise.all([grouped(db, 'key_id', firstDay), grouped(db, 'model', firstDay)]);
  const ids = keys.map((row) => row.grp).filter(Boolean);
  const names = new Map(((await db('api_keys').select('id', 'name').whereIn('id', ids)) as { id: string; name: string }[]).map((key) => [key.id, key.name]));
  return {
    since_day: firstDay,
    // '' in the aggregates is "none": a request refused before its key was known, or before a model was read.
    by_key: keys.map((row) => ({ key_id: row.grp || null, name: names.get(row.grp) ?? null, ...rowOf(row) })),
    by_model: models.map((row) => ({ model: row.grp || null, ...rowOf(row) })),
  };
}
