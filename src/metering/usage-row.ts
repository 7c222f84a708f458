/** What one finished request leaves behind: its usage row and, when the key is metered, its settlement. */
import type { Settlement } from './ledger.ts';

export interface UsageRow {
  request_id: string;
  key_id: string | null;
  endpoint: string;
  provider: string | null;
  model: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost_micro: number;
  status: number;
  error_code: string | null;
  latency_ms: number;
  ttft_ms: number | null;
  stream: boolean;
  estimated: boolean;
  attempts: number;
  created_at: number;
}

export interface FinishedRequest {
  row: UsageRow;
  settlement?: Settlement;
}
