/**
 * The database side of the credit ledger. An instance holds a *lease* on each key it serves: money (and trial
 * tokens) moved off the key's balance by one conditional update, recorded as a row in `reservations`. Requests
 * reserve from the lease in memory (see lease-book.ts); settlements take their charges off the lease row in the
 * same transaction as the usage rows and ledger entries. A CHECK constraint keeps balances ≥ 0 whatever happens.
 * A key with a budget counts its leases against the current period in `budget_usage` the same way: a lease grows
 * only while the period's held-plus-spent money stays within the budget.
 */
import { isPostgres, type Db } from '../db/knex.ts';
import { bulkInsert, type BulkTable } from '../db/bulk-insert.ts';
import { rows, type Queryable } from '../db/sql.ts';
import { BudgetExceededError, InsufficientCreditsError, InvalidApiKeyError, TrialExhaustedError, type GatewayError } from '../errors/gateway-error.ts';
import { budgetPeriodById, periodAdjective } from './budget-period.ts';

/** Where a lease's money comes from and what it counts against. */
export interface LeaseScope {
  /** Whether the money comes off the key's credit balance (false: an unmetered key with a budget). */
  fromBalance: boolean;
  /** The budget period (`budget-period.ts` id) the money counts against; null: the key has no budget. */
  budgetPeriod: string | null;
}

export const CREDITS_ONLY: LeaseScope = { fromBalance: true, budgetPeriod: null };

export interface LeaseRef extends LeaseScope {
  /** `reservations.id`: one lease per instance, key and scope. */
  id: string;
  keyId: string;
  instanceId: string;
}

/** What one finished request owes, charged against the lease it reserved from. Never more than it held. */
export interface Settlement extends LeaseScope {
  requestId: string;
  keyId: string;
  leaseId: string;
  chargedMicro: number;
  chargedTokens: number;
}

const LEDGER_TABLE: BulkTable = {
  table: 'credit_ledger',
  columns: [
    ['key_id', 'text'],
    ['kind', 'text'],
    ['amount_micro', 'bigint'],
    ['request_id', 'text'],
    ['created_at', 'bigint'],
  ],
};

const TAKE = `UPDATE api_keys SET balance_micro = balance_micro - ?, trial_tokens = trial_tokens - ?
  WHERE id = ? AND revoked = ? AND (balance_micro IS NULL OR balance_micro >= ?) AND (trial_tokens IS NULL OR trial_tokens >= ?)
  RETURNING id`;

/** Adds to the lease row, creating it if needed; `source` gives the nine values (VALUES, or a SELECT). */
const addToLease = (
  source: string,
): string => `INSERT INTO reservations (id, key_id, amount_micro, tokens, instance_id, expires_at, created_at, budget_period, from_balance)
  ${source}
  ON CONFLICT (id) DO UPDATE SET amount_micro = reservations.amount_micro + excluded.amount_micro,
    tokens = reservations.tokens + excluded.tokens, expires_at = excluded.expires_at`;

const ADD_TO_LEASE = addToLease('VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
/** PostgreSQL: the lease row is added only when TAKE took the money, in the same statement. */
const TAKE_INTO_LEASE = `WITH taken AS (${TAKE}) ${addToLease('SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? FROM taken')} RETURNING id`;

const OPEN_PERIOD = 'INSERT INTO budget_usage (key_id, period, used_micro) VALUES (?, ?, 0) ON CONFLICT (key_id, period) DO NOTHING';

/**
 * Counts `micro` against the period when the budget (as it is now) still covers it. A budget removed a moment ago
 * (an instance still caching the key with one) no longer limits anything.
 */
const TAKE_BUDGET = `UPDATE budget_usage SET used_micro = used_micro + ?
  WHERE key_id = ? AND period = ? AND used_micro + ? <= COALESCE((SELECT budget_micro FROM api_keys WHERE id = ?), 9007199254740991)
  RETURNING key_id`;

/** Thrown inside a transaction to roll back what it took when a later step cannot be covered. */
class NotCovered extends Error {}

/**
 * Moves `micro` and `tokens` from the key's balance (and budget period) into the lease, atomically, or does
 * nothing and returns false when the key cannot cover them (or is revoked).
 */
export async function growLease(db: Db, lease: LeaseRef, micro: number, tokens: number, ttlMs: number): Promise<boolean> {
  const now = Date.now();
  const take = [lease.fromBalance ? micro : 0, tokens, lease.keyId, false, lease.fromBalance ? micro : 0, tokens];
  const add = [lease.id, lease.keyId, micro, tokens, lease.instanceId, now + ttlMs, now, lease.budgetPeriod, lease.fromBalance];
  if (isPostgres(db) && lease.budgetPeriod === null) {
    // One statement, one round trip: the update and the lease row commit together or not at all.
    const taken = await rows<{ id: string }>(db, TAKE_INTO_LEASE, [...take, ...add]);
    return taken.length > 0;
  }
  try {
    return await db.transaction(async (trx) => {
      if ((await rows(trx, TAKE, take)).length === 0) return false;
      if (lease.budgetPeriod !== null) await takeBudget(trx, lease.keyId, lease.budgetPeriod, micro);
      await trx.raw(ADD_TO_LEASE, add);
      return true;
    });
  } catch (error) {
    if (error instanceof NotCovered) return false;
    throw error;
  }
}

/** Counts `micro` against the key's period, or throws NotCovered (rolling back the transaction). */
async function takeBudget(trx: Queryable, keyId: string, period: string, micro: number): Promise<void> {
  await trx.raw(OPEN_PERIOD, [keyId, period]);
  if ((await rows(trx, TAKE_BUDGET, [micro, keyId, period, micro, keyId])).length === 0) throw new NotCovered();
}

interface ReleasedLease {
  key_id: string;
  amount_micro: number | string;
  tokens: number | string;
  budget_period: string | null;
  from_balance: boolean | number;
}

/** Gives a lease back to its key's balance (and budget period) and deletes it. */
export async function returnLease(db: Db, lease: LeaseRef): Promise<void> {
  await db.transaction(async (trx) => {
    const released = await rows<ReleasedLease>(
      trx,
      'DELETE FROM reservations WHERE id = ? RETURNING key_id, amount_micro, tokens, budget_period, from_balance',
      [lease.id],
    );
    await refund(trx, released);
  });
}

/** Puts released leases' money and tokens back where they came from, one update per key (and period). */
async function refund(trx: Queryable, released: readonly ReleasedLease[]): Promise<void> {
  const toKeys = new Map<string, { micro: number; tokens: number }>();
  const toPeriods = new Map<string, { keyId: string; period: string; micro: number }>();
  for (const row of released) {
    const sum = toKeys.get(row.key_id) ?? { micro: 0, tokens: 0 };
    if (row.from_balance) sum.micro += Number(row.amount_micro);
    sum.tokens += Number(row.tokens);
    toKeys.set(row.key_id, sum);
    if (row.budget_period !== null) {
      const id = `${row.key_id} ${row.budget_period}`;
      const period = toPeriods.get(id) ?? { keyId: row.key_id, period: row.budget_period, micro: 0 };
      period.micro += Number(row.amount_micro);
      toPeriods.set(id, period);
    }
  }
  for (const [keyId, { micro, tokens }] of toKeys) {
    if (micro === 0 && tokens === 0) continue;
    await trx.raw('UPDATE api_keys SET balance_micro = balance_micro + ?, trial_tokens = trial_tokens + ? WHERE id = ?', [micro, tokens, keyId]);
  }
  for (const { keyId, period, micro } of toPeriods.values()) {
    if (micro > 0) await trx.raw('UPDATE budget_usage SET used_micro = used_micro - ? WHERE key_id = ? AND period = ?', [micro, keyId, period]);
  }
}

/**
 * The 402 (or 401) that explains why a key cannot cover `micro` and `tokens` beyond what this instance's lease
 * still has (`heldMicro`, `heldTokens`).
 */
export async function refusal(db: Db, lease: LeaseRef, micro: number, tokens: number, heldMicro: number, heldTokens: number): Promise<GatewayError> {
  const key = await db('api_keys').select('balance_micro', 'trial_tokens', 'revoked', 'budget_micro').where({ id: lease.keyId }).first();
  if (!key || key.revoked) return new InvalidApiKeyError('This gateway key has been revoked.');
  if (key.trial_tokens !== null && Number(key.trial_tokens) + heldTokens < tokens) {
    return new TrialExhaustedError(
      `Trial allowance exhausted: this request may use up to ${tokens} tokens and the key has ${Number(key.trial_tokens) + heldTokens} left.`,
    );
  }
  const creditsShort = lease.fromBalance && key.balance_micro !== null && Number(key.balance_micro) + heldMicro < micro;
  // Not the credits: the budget refused (other instances' leases may have moved since, so it is not re-judged).
  if (!creditsShort && lease.budgetPeriod !== null) {
    const period = await db('budget_usage').select('used_micro').where({ key_id: lease.keyId, period: lease.budgetPeriod }).first();
    const left = Math.min(Number(key.budget_micro ?? 0) - Number(period?.used_micro ?? 0) + heldMicro, micro - 1);
    return budgetRefusal(lease.budgetPeriod, Number(key.budget_micro ?? 0), left, micro);
  }
  const left = (Number(key.balance_micro) + heldMicro) / 1e6;
  return new InsufficientCreditsError(
    `Insufficient credits: this request may cost up to $${(micro / 1e6).toFixed(6)} and the key has $${left.toFixed(6)} left.`,
  );
}

/** 402 budget_exceeded, saying when the budget resets: the end of the period the lease counts against. */
function budgetRefusal(periodId: string, budgetMicro: number, leftMicro: number, micro: number): GatewayError {
  const period = budgetPeriodById(periodId);
  const usd = (amount: number, digits = 6) => `$${(amount / 1e6).toFixed(digits)}`;
  const budget = `this key's ${period ? periodAdjective(period.kind) : ''} budget of ${usd(budgetMicro, budgetMicro % 10_000 === 0 ? 2 : 6)}`.replace(
    '  ',
    ' ',
  );
  const resets = period ? ` It resets at ${new Date(period.end).toISOString()}.` : '';
  return new BudgetExceededError(`Budget exceeded: ${budget} has ${usd(Math.max(0, leftMicro))} left and this request may cost up to ${usd(micro)}.${resets}`);
}

/**
 * Books settlements inside the caller's transaction: each lease row loses its requests' charges, each charge taken
 * from credits gets a ledger entry. A lease that is gone (released after this instance was taken for dead) is
 * charged from the balance and budget when they can pay, else not at all. Returns what was really charged per
 * request, and the leases found missing.
 */
export async function applySettlements(
  trx: Queryable,
  settlements: readonly Settlement[],
  now: number,
): Promise<{ charged: Map<string, Settlement>; missing: Set<string> }> {
  const charged = new Map<string, Settlement>();
  const missing = new Set<string>();
  const perLease = new Map<string, { micro: number; tokens: number; items: Settlement[] }>();
  for (const settlement of settlements) {
    const sum = perLease.get(settlement.leaseId) ?? { micro: 0, tokens: 0, items: [] };
    sum.micro += settlement.chargedMicro;
    sum.tokens += settlement.chargedTokens;
    sum.items.push(settlement);
    perLease.set(settlement.leaseId, sum);
  }
  for (const [leaseId, sum] of perLease) {
    const found = await rows(
      trx,
      'UPDATE reservations SET amount_micro = amount_micro - ?, tokens = tokens - ? WHERE id = ? AND amount_micro >= ? AND tokens >= ? RETURNING id',
      [sum.micro, sum.tokens, leaseId, sum.micro, sum.tokens],
    );
    if (found.length > 0) {
      for (const item of sum.items) charged.set(item.requestId, item);
      continue;
    }
    missing.add(leaseId);
    for (const item of sum.items) {
      const paid = await chargeWithoutLease(trx, item);
      charged.set(item.requestId, paid ? item : { ...item, chargedMicro: 0, chargedTokens: 0 });
    }
  }
  // Money of an unmetered key's budget never came from credits: it has no place in the credit ledger.
  const ledgerRows = [...charged.values()]
    .filter((item) => item.chargedMicro > 0 && item.fromBalance)
    .map((item) => ({ key_id: item.keyId, kind: 'charge', amount_micro: -item.chargedMicro, request_id: item.requestId, created_at: now }));
  await bulkInsert(trx, LEDGER_TABLE, ledgerRows);
  return { charged, missing };
}

/** Charges one request straight from the key's balance and budget period, both or neither. */
async function chargeWithoutLease(trx: Queryable, item: Settlement): Promise<boolean> {
  const micro = item.fromBalance ? item.chargedMicro : 0;
  if (item.budgetPeriod !== null && item.chargedMicro > 0) {
    const counted = await rows(trx, TAKE_BUDGET, [item.chargedMicro, item.keyId, item.budgetPeriod, item.chargedMicro, item.keyId]);
    if (counted.length === 0) return false;
  }
  if (await chargeBalance(trx, item.keyId, micro, item.chargedTokens)) return true;
  if (item.budgetPeriod !== null && item.chargedMicro > 0) {
    await trx.raw('UPDATE budget_usage SET used_micro = used_micro - ? WHERE key_id = ? AND period = ?', [item.chargedMicro, item.keyId, item.budgetPeriod]);
  }
  return false;
}

async function chargeBalance(trx: Queryable, keyId: string, micro: number, tokens: number): Promise<boolean> {
  if (micro === 0 && tokens === 0) return true;
  const taken = await rows(
    trx,
    `UPDATE api_keys SET balance_micro = balance_micro - ?, trial_tokens = trial_tokens - ?
     WHERE id = ? AND (balance_micro IS NULL OR balance_micro >= ?) AND (trial_tokens IS NULL OR trial_tokens >= ?) RETURNING id`,
    [micro, tokens, keyId, micro, tokens],
  );
  return taken.length > 0;
}

/** Extends this instance's leases; returns the ids that still exist (the others were released by someone else). */
export async function renewLeases(db: Db, instanceId: string, expiresAt: number): Promise<Set<string>> {
  const renewed = await rows<{ id: string }>(db, 'UPDATE reservations SET expires_at = ? WHERE instance_id = ? RETURNING id', [expiresAt, instanceId]);
  return new Set(renewed.map((row) => row.id));
}

/** Releases leases that no live instance holds any more: expired, or owned by an instance that stopped beating. */
export async function releaseOrphanedHolds(db: Db, now: number, staleBefore: number): Promise<number> {
  return db.transaction(async (trx) => {
    const released = await rows<ReleasedLease>(
      trx,
      `DELETE FROM reservations WHERE expires_at < ? OR instance_id NOT IN (SELECT id FROM instances WHERE heartbeat_at >= ?)
       RETURNING key_id, amount_micro, tokens, budget_period, from_balance`,
      [now, staleBefore],
    );
    await refund(trx, released);
    return released.length;
  });
}
