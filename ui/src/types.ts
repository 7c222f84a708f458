/** The JSON the dashboard reads, as the gateway's endpoints answer it. */
import type { Breakdown, BreakdownRow, Overview, ProviderView as Provider, SpendPerDay, Totals, UsagePageRow as UsageRow } from '../../src/dashboard-wire.ts';

export type { Breakdown, BreakdownRow, Overview, Provider, SpendPerDay, Totals, UsageRow };

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

export interface UsagePage {
  data: UsageRow[];
  /** Pass as `before` for the next (older) page; null on the last one. */
  next_before: string | null;
}

/** `GET /v1/usage`: the calling key. */
export interface OwnUsage extends Omit<Key, 'id' | 'prefix' | 'revoked' | 'created_at' | 'models' | 'rpm'> {
  key_id: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}
