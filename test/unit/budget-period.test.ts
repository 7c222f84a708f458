/** Calendar budget periods in UTC and key expiry as users write it. */
import assert from 'node:assert/strict';
import { expiryFrom } from '../../src/auth/key-expiry.ts';
import { budgetPeriodAt, budgetPeriodById } from '../../src/metering/budget-period.ts';

const iso = (ms: number) => new Date(ms).toISOString();

describe('budget periods', () => {
  it('starts a day at midnight, a week on Monday and a month on the 1st, in UTC', () => {
    const sunday = Date.UTC(2026, 10, 29, 23, 59, 59, 999);
    assert.deepEqual(
      [iso(budgetPeriodAt('day', sunday).start), iso(budgetPeriodAt('day', sunday).end)],
      ['2026-11-29T00:00:00.000Z', '2026-11-30T00:00:00.000Z'],
    );
    const week = budgetPeriodAt('week', sunday);
    assert.deepEqual([week.id, iso(week.end)], ['w2026-11-23', '2026-11-30T00:00:00.000Z'], 'Sunday belongs to the week that began on Monday');
    assert.equal(budgetPeriodAt('week', Date.UTC(2026, 10, 30)).id, 'w2026-11-30', 'Monday midnight starts a new week');
    const december = budgetPeriodAt('month', Date.UTC(2026, 11, 31, 23, 59));
    assert.deepEqual([december.id, iso(december.end)], ['m2026-12-01', '2027-01-01T00:00:00.000Z']);
    assert.equal(iso(budgetPeriodAt('month', Date.UTC(2028, 1, 29, 12)).end), '2028-03-01T00:00:00.000Z', 'a leap February');
    assert.equal(budgetPeriodAt('week', Date.UTC(2027, 0, 1)).id, 'w2026-12-28', 'a week across the new year');
  });

  it('finds a period back from its id', () => {
    assert.equal(iso(budgetPeriodById('d2027-03-10')!.end), '2027-03-11T00:00:00.000Z');
    assert.equal(budgetPeriodById('x2027-03-10'), undefined);
  });
});

describe('key expiry', () => {
  const now = Date.UTC(2026, 11, 1, 15, 0);

  it('reads a date as through that day (UTC), a duration from now, an ISO time as it is', () => {
    assert.equal(expiryFrom('2027-01-31', now), Date.UTC(2027, 1, 1));
    assert.equal(expiryFrom('30d', now), now + 30 * 86_400_000);
    assert.equal(expiryFrom('12h', now), now + 12 * 3_600_000);
    assert.equal(expiryFrom('2027-01-31T12:00:00Z', now), Date.UTC(2027, 0, 31, 12));
  });

  it('refuses what is not a date, a time or a duration', () => {
    for (const text of ['friday', '2027-02-30', '0d', '', '2027-13-01', '-5d']) assert.throws(() => expiryFrom(text, now), RangeError, text);
  });
});
