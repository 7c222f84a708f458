/**
 * What a key's budget shows in the current period: spent = counted in `budget_usage` minus what leases still hold
 * (held money is not spent yet, and goes back when the lease returns).
 */
import { budgetPeriodAt, BUDGET_PERIODS } from '../metering/budget-period.ts';
import type { Queryable } from './sql.ts';

export interface BudgetState {
  spentMicro: number;
  /** Epoch ms when the current period ends. */
  resetsAt: number;
}

interface BudgetedKey {
  id: string;
  budgetMicro: number | null;
  budgetPeriod: (typeof BUDGET_PERIODS)[number] | null;
}

/** The current period's spend of each budgeted key, in two grouped queries whatever the number of keys. */
export async function budgetStates(db: Queryable, keys: readonly BudgetedKey[], now: number): Promise<Map<string, BudgetState>> {
  const budgeted = keys.filter((key) => key.budgetMicro !== null && key.budgetPeriod !== null);
  const states = new Map<string, BudgetState>();
  if (budgeted.length === 0) return states;
  const periods = BUDGET_PERIODS.map((kind) => budgetPeriodAt(kind, now).id);
  const used = new Map<string, number>();
  for (const row of await db('budget_usage').select('key_id', 'period', 'used_micro').whereIn('period', periods))
    used.set(`${row.key_id} ${row.period}`, Number(row.used_micro));
  const held = new Map<string, number>();
  const leases = (await db('reservations')
    .select('key_id', 'budget_period')
    .sum({ held: 'amount_micro' })
    .whereIn('budget_period', periods)
    .groupBy('key_id', 'budget_period')) as { key_id: string; budget_period: string; held: number | string }[];
  for (const row of leases) held.set(`${row.key_id} ${row.budget_period}`, Number(row.held));
  for (const key of budgeted) {
    const period = budgetPeriodAt(key.budgetPeriod!, now);
    const id = `${key.id} ${period.id}`;
    states.set(key.id, { spentMicro: Math.max(0, (used.get(id) ?? 0) - (held.get(id) ?? 0)), resetsAt: period.end });
  }
  return states;
}
