/**
 * Calendar budget periods in UTC: a day starts at midnight, a week on Monday, a month on the 1st. A period is named
 * by its kind and first day ('m2026-12-01'), so a request in a new period finds a fresh counter without any job
 * having to reset the old one.
 */
export type BudgetPeriodKind = 'day' | 'week' | 'month';

export const BUDGET_PERIODS: readonly BudgetPeriodKind[] = ['day', 'week', 'month'];

export interface BudgetPeriod {
  kind: BudgetPeriodKind;
  /** What `budget_usage.period` and `reservations.budget_period` hold. */
  id: string;
  /** Epoch ms of its first instant. */
  start: number;
  /** Epoch ms of the first instant of the next period: when the budget resets. */
  end: number;
}

const DAY_MS = 86_400_000;

export function budgetPeriodAt(kind: BudgetPeriodKind, epochMs: number): BudgetPeriod {
  const now = new Date(epochMs);
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  const today = Date.UTC(year, month, now.getUTCDate());
  let start: number;
  let end: number;
  if (kind === 'day') {
    start = today;
    end = today + DAY_MS;
  } else if (kind === 'week') {
    // getUTCDay: Sunday is 0; Monday starts the week (ISO 8601).
    start = today - ((now.getUTCDay() + 6) % 7) * DAY_MS;
    end = start + 7 * DAY_MS;
  } else {
    start = Date.UTC(year, month, 1);
    end = Date.UTC(year, month + 1, 1);
  }
  return { kind, id: `${kind[0]}${new Date(start).toISOString().slice(0, 10)}`, start, end };
}

/** "monthly", "weekly", "daily": for messages. */
export function periodAdjective(kind: BudgetPeriodKind): string {
  return kind === 'day' ? 'daily' : `${kind}ly`;
}

/** The period a `budget_usage.period` id names ('m2026-12-01' → December 2026), or undefined for a malformed id. */
export function budgetPeriodById(id: string): BudgetPeriod | undefined {
  const kind = BUDGET_PERIODS.find((candidate) => candidate[0] === id[0]);
  const start = Date.parse(`${id.slice(1)}T00:00:00Z`);
  return kind && !Number.isNaN(start) ? budgetPeriodAt(kind, start) : undefined;
}
