/**
 * The database side of the credit ledger. An instance holds a *lease* on each key it serves: money (and trial
 * tokens) moved off the key's balance by one conditional update, recorded as a row in `reservations`. Requests
 * reserve from the lease in memory (see lease-book.ts); settlements take their charges off the lease row in the
 * same transaction as the usage rows and ledger entries. A CHECK constraint keeps balances ≥ 0 whatever happens.
 */
import { isPostgres, type Db } from '../db/knex.ts';
import { bulkInsert, type BulkTable } from '../db/bulk-insert.ts';
import { rows, type Queryable } from '../db/sql.ts';
import { InsufficientCreditsError, InvalidApiKeyError, TrialExhaustedError, type GatewayError } from '../errors/gateway-error.ts';

export interface LeaseRef {
  /** `reservations.id`: one lease per instance and key. */
  id: string;
  keyId: string;
  instanceId: string;
}

/** What one finished request owes, charged against the lease it reserved from. Never more than it held. */
export interface Settlement {
  requestId: string;
  keyId: string;
  leaseId: string;
  chargedMicro: number;
  chargedTokens: number;
}

const LEDGER_TABLE: BulkTable = {
  table: 'credit_ledger',
  columns: [['key_id', 'text'], ['kind', 'text'], ['amount_micro', 'bigint'], ['request_id', 'text'], ['created_at', 'bigint']],
};

const TAKE = `UPDATE api_keys SET balance_micro = balance_micro - ?, trial_tokens = trial_tokens - ?
  WHERE id = ? AND revoked = ? AND (balance_micro IS NULL OR balance_micro >= ?) AND (trial_tokens IS NULL OR trial_tokens >= ?)
  RETURNING id`;

/** Adds to the lease row, creating it if needed; `source` gives the seven values (VALUES, or a SELECT). */
const addToLease = (source: string): string => `INSERT INTO reservations (id, key_id, amount_micro, tokens, instance_id, expires_at, created_at)
  ${source}
  ON CONFLICT (id) DO UPDATE SET amount_micro = reservations.amount_micro + excluded.amount_micro,
    tokens = reservations.tokens + excluded.tokens, expires_at = excluded.expires_at`;

const ADD_TO_LEASE = addToLease('VALUES (?, ?, ?, ?, ?, ?, ?)');
/** PostgreSQL: the lease row is added only when TAKE took the money, in the same statement. */
const TAKE_INTO_LEASE = `WITH taken AS (${TAKE}) ${addToLease('SELECT ?, ?, ?, ?, ?, ?, ? FROM taken')} RETURNING id`;

/**
 * Moves `micro` and `tokens` from the key's balance into the lease, atomically, or does nothing and returns false
 * when the key cannot cover them (or is revoked).
 */
export async function growLease(db: Db, lease: LeaseRef, micro: number, tokens: number, ttlMs: number): Promise<boolean> {
  const now = Date.now();
  const take = [micro, tokens, lease.keyId, false, micro, tokens];
  const add = [lease.id, lease.keyId, micro, tokens, lease.instanceId, now + ttlMs, now];
  if (isPostgres(db)) {
    // One statement, one round trip: the update and the lease row commit together or not at all.
    const taken = await rows<{ id: string }>(db, TAKE_INTO_LEASE, [...take, ...add]);
    return taken.length > 0;
  }
  return db.transaction(async (trx) => {
    if ((await rows(trx, TAKE, take)).length === 0) return false;
    await trx.raw(ADD_TO_LEASE, add);
    return true;
  });
}

/** Gives a lease back to its key's balance and deletes it. */
export async function returnLease(db: Db, lease: LeaseRef): Promise<void> {
  await db.transaction(async (trx) => {
    const [row] = await rows<{ amount_micro: number; tokens: number }>(trx, 'DELETE FROM reservations WHERE id = ? RETURNING amount_micro, tokens', [lease.id]);
    if (row) await refund(trx, lease.keyId, Number(row.amount_micro), Number(row.tokens));
  });
}

async function refund(trx: Queryable, keyId: string, micro: number, tokens: number): Promise<void> {
  if (micro === 0 && tokens === 0) return;
  await trx.raw('UPDATE api_keys SET balance_micro = balance_micro + ?, trial_tokens = trial_tokens + ? WHERE id = ?', [micro, tokens, keyId]);
}

/** The 402 (or 401) that explains why a key cannot cover `micro` and `tokens` beyond what this instance holds. */
export async function refusal(db: Db, keyId: string, micro: number, tokens: number, heldMicro: number, heldTokens: number): Promise<GatewayError> {
  const key = await db('api_keys').select('balance_micro', 'trial_tokens', 'revoked').where({ id: keyId }).first();
  if (!key || key.revoked) return new InvalidApiKeyError('This gateway key has been revoked.');
  if (key.trial_tokens !== null && Number(key.trial_tokens) + heldTokens < tokens) {
    return new TrialExhaustedError(`Trial allowance exhausted: this request may use up to ${tokens} tokens and the key has ${Number(key.trial_tokens) + heldTokens} left.`);
  }
  const left = (Number(key.balance_micro) + heldMicro) / 1e6;
  return new InsufficientCreditsError(`Insufficient credits: this request may cost up to $${(micro / 1e6).toFixed(6)} and the key has $${left.toFixed(6)} left.`);
}

/**
 * Books settlements inside the caller's transaction: each lease row loses its requests' charges, each charge gets a
 * ledger entry. A lease that is gone (released after this instance was taken for dead) is charged from the balance
 * when it can pay, else not at all. Returns what was really charged per request, and the leases found missing.
 */
export async function applySettlements(trx: Queryable, settlements: readonly Settlement[], now: number): Promise<{ charged: Map<string, Settlement>; missing: Set<string> }> {
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
    const found = await rows(trx, 'UPDATE reservations SET amount_micro = amount_micro - ?, tokens = tokens - ? WHERE id = ? AND amount_micro >= ? AND tokens >= ? RETURNING id', [sum.micro, sum.tokens, leaseId, sum.micro, sum.tokens]);
    if (found.length > 0) {
      for (const item of sum.items) charged.set(item.requestId, item);
      continue;
    }
    missing.add(leaseId);
    for (const item of sum.items) {
      const paid = await chargeBalance(trx, item.keyId, item.chargedMicro, item.chargedTokens);
      charged.set(item.requestId, paid ? item : { ...item, chargedMicro: 0, chargedTokens: 0 });
    }
  }
  const ledgerRows = [...charged.values()]
    .filter((item) => item.chargedMicro > 0)
    .map((item) => ({ key_id: item.keyId, kind: 'charge', amount_micro: -item.chargedMicro, request_id: item.requestId, created_at: now }));
  await bulkInsert(trx, LEDGER_TABLE, ledgerRows);
  return { charged, missing };
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
    const released = await rows<{ key_id: string; amount_micro: number; tokens: number }>(
      trx,
      `DELETE FROM reservations WHERE expires_at < ? OR instance_id NOT IN (SELECT id FROM instances WHERE heartbeat_at >= ?)
       RETURNING key_id, amount_micro, tokens`,
      [now, staleBefore],
    );
    const refunds = new Map<string, { micro: number; tokens: number }>();
    for (const row of released) {
      const sum = refunds.get(row.key_id) ?? { micro: 0, tokens: 0 };
      sum.micro += Number(row.amount_micro);
      sum.tokens += Number(row.tokens);
      refunds.set(row.key_id, sum);
    }
    for (const [keyId, sum] of refunds) await refund(trx, keyId, sum.micro, sum.tokens);
    return released.length;
  });
}
