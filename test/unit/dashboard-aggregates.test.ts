/** The dashboard's pure pieces: hourly aggregates of usage rows, medians, the days of a range. */
import assert from 'node:assert/strict';
import { daysFrom, median } from '../../src/db/overview-repo.ts';
import { hourlyAggregates } from '../../src/db/usage-hourly.ts';
import type { UsageRow } from '../../src/metering/usage-writer.ts';
import { fakeUsageRow } from '../helpers/usage-rows.ts';

const HOUR_MS = 3_600_000;

function row(createdAt: number, status: number, costMicro: number): UsageRow {
  return fakeUsageRow({
    request_id: `req_${createdAt}_${status}`,
    key_id: 'key_a',
    provider: 'hf',
    prompt_tokens: 10,
    completion_tokens: 2,
    cost_micro: costMicro,
    status,
    latency_ms: 5,
    created_at: createdAt,
  });
}

describe('dashboard aggregates', () => {
  it('sums rows per UTC hour and status class, sorted by hour then class', () => {
    const hour = Math.floor(Date.parse('2026-12-01T10:00:00Z') / HOUR_MS);
    const rows = [
      row(hour * HOUR_MS + 5, 200, 7),
      row((hour + 1) * HOUR_MS, 503, 0),
      row(hour * HOUR_MS + 9, 429, 0),
      row(hour * HOUR_MS + HOUR_MS - 1, 204, 3),
    ];
    assert.deepEqual(hourlyAggregates(rows), [
      { hour, status_class: 2, requests: 2, prompt_tokens: 20, completion_tokens: 4, cost_micro: 10 },
      { hour, status_class: 4, requests: 1, prompt_tokens: 10, completion_tokens: 2, cost_micro: 0 },
      { hour: hour + 1, status_class: 5, requests: 1, prompt_tokens: 10, completion_tokens: 2, cost_micro: 0 },
    ]);
    assert.deepEqual(hourlyAggregates([]), []);
  });

  it('takes the median of odd and even samples, and none of an empty one', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 3);
    assert.equal(median([10, 11]), 11);
    assert.equal(median([]), null);
  });

  it('lists the UTC days of a range through today, oldest first', () => {
    const now = Date.parse('2026-12-01T00:30:00Z');
    assert.deepEqual(daysFrom(now - 2 * 86_400_000, now), ['2026-11-29', '2026-11-30', '2026-12-01']);
  });
});
