/**
 * The JSON shapes of the endpoints the dashboard reads, shared by the server that answers them and the dashboard
 * (ui/) that reads them, so the two cannot drift apart. Types only, with no imports: the browser bundle takes them as
 * they are.
 */

/** `GET /admin/providers`: an entry and its routing health. */
export interface ProviderView {
  name: string;
  plugin: string;
  models: string[];
  /** Whether the entry's `api_key` is set; the key itself is never shown. */
  key_configured: boolean;
  state: 'ok' | 'cooling';
  /** ISO time the cooldown ends; null when ok. */
  until: string | null;
  reason: 'failures' | 'rate_limited' | 'auth' | null;
  in_flight: number;
  /** Attempts that ended in the last five minutes, and those that failed in a way that counts toward a cooldown. */
  requests_5m: number;
  errors_5m: number;
  p50_latency_ms: number | null;
  p50_ttft_ms: number | null;
}

/** `GET /admin/usage/rows` and `/v1/usage/requests`: one usage row as the dashboard shows it. */
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

export type OverviewRange = '24h' | '7d' | '30d';

export interface Totals {
  requests: number;
  errors: number;
  error_rate: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

export interface SpendPerDay {
  days: string[];
  series: { model: string; cost_usd: number[] }[];
}

export interface BreakdownRow {
  requests: number;
  errors: number;
  cost_usd: number;
  /** Mean over every request; null without requests. */
  avg_latency_ms: number | null;
  /** Mean over streams; null without any. */
  avg_ttft_ms: number | null;
}

export interface Breakdown {
  /** The first UTC day summed. */
  since_day: string;
  by_key: (BreakdownRow & { key_id: string | null; name: string | null })[];
  by_model: (BreakdownRow & { model: string | null })[];
}

/** `GET /admin/overview`. */
export interface Overview {
  range: OverviewRange;
  since: string;
  totals: Totals;
  p50_latency_ms: number | null;
  p50_ttft_ms: number | null;
  /** How many of the newest rows the medians were read from. */
  sample_rows: number;
  spend_per_day: SpendPerDay;
  /** Keys and models over the same UTC days as spend per day. */
  breakdown: Breakdown;
  requests_per_hour: { hours: string[]; series: { status: string; requests: number[] }[] };
}

/** A key as `keys list --json`, the admin API and the dashboard show it: never the key or its hash. */
export interface KeyView {
  id: string;
  name: string;
  prefix: string;
  balance_usd: number | null;
  trial_tokens_remaining: number | null;
  rpm: number | null;
  models: string[] | null;
  revoked: boolean;
  created_at: string;
  budget_usd: number | null;
  budget_period: 'day' | 'week' | 'month' | null;
  budget_spent_usd: number | null;
  budget_resets_at: string | null;
  tpm: number | null;
  expires_at: string | null;
  last_used_at: string | null;
}
