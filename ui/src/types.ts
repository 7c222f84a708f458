/** The JSON the dashboard reads, as the gateway's endpoints answer it. */
import type {
  Breakdown,
  BreakdownRow,
  KeyView as Key,
  Overview,
  ProviderView as Provider,
  SpendPerDay,
  Totals,
  UsagePageRow as UsageRow,
} from '../../src/dashboard-wire.ts';

export type { Breakdown, BreakdownRow, Key, Overview, Provider, SpendPerDay, Totals, UsageRow };

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
