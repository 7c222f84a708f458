/** Usage rows for tests that write them straight through the usage writer, as the gateway writes them. */
import type { UsageRow } from '../../src/metering/usage-writer.ts';
import { newRequestId } from '../../src/middleware/request-id.ts';

/** A successful chat call's row with the given fields, the rest filled in. */
export function fakeUsageRow(fields: Partial<UsageRow>): UsageRow {
  return {
    request_id: newRequestId(),
    key_id: 'key_test',
    endpoint: 'chat',
    provider: 'p',
    model: 'm',
    prompt_tokens: 1,
    completion_tokens: 1,
    cost_micro: 1,
    status: 200,
    error_code: null,
    latency_ms: 1,
    ttft_ms: null,
    stream: false,
    estimated: false,
    attempts: 1,
    created_at: Date.now(),
    ...fields,
  };
}
