/** The JSON the dashboard reads, as the gateway's endpoints answer it. */

export interface Key {
  id: string;
  name: string;
  prefix: string;
  balance_usd: number | null;
  trial_tokens_remaining: number | null;
  rpm: number | null;
  models: string[] | null;
  revoked: boolean;
  created_at: string;
  // Budgets and key lifecycle: absent on a gateway without them.
  budget_usd?: number | null;
  budget_period?: 'day' | 'week' | 'month' | null;
  budget_spent_usd?: number | null;
  budget_resets_at?: string | null;
  tpm?: number | null;
  expires_at?: string | null;
  last_used_at?: string | null;
}

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
  avg_latency_ms: number | null;
  avg_ttft_ms: number | null;
}

export interface Breakdown {
  since_day: string;
  by_key: (BreakdownRow & { key_id: string | null; name: string | null })[];
  by_model: (BreakdownRow & { model: string | null })[];
}

export interface Overview {
  range: '24h' | '7d' | '30d';
  since: string;
  totals: Totals;
  p50_latency_ms: number | null;
  p50_ttft_ms: number | null;
  sample_rows: number;
  spend_per_day: SpendPerDay;
  breakdown: Breakdown;
  requests_per_hour: { hours: string[]; series: { status: string; requests: number[] }[] };
}

export interface UsageRow {
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

export interface UsagePage {
  data: UsageRow[];
  /** Pass as `before` for the next (older) page; null on the last one. */
  next_before: string | null;
}

/** `GET /admin/providers`: each entry and its routing health (cooldowns, in flight, the last five minutes). */
export interface Provider {
  name: string;
  plugin: string;
  models: string[];
  key_configured: boolean;
  state: 'ok' | 'cooling';
  /** When the cooldown ends; null while ok. */
  until: string | null;
  reason: 'failures' | 'rate_limited' | 'auth' | null;
  in_flight: number;
  requests_5m: number;
  errors_5m: number;
  p50_latency_ms: number | null;
  p50_ttft_ms: number | null;
}

/** `GET /v1/usage`: the calling key. */
export interface OwnUsage extends Omit<Key, 'id' | 'prefix' | 'revoked' | 'created_at' | 'models' | 'rpm'> {
  key_id: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}
