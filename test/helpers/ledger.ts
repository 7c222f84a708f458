/** Reads a key's books straight from the database, to check that money is neither created nor lost. */
import type { Knex } from 'knex';

export interface Books {
  /** The key's balance column: what no instance holds. */
  balanceMicro: number;
  /** Balance plus what instances' leases hold: what is not spent yet (the balance users see). */
  unspentMicro: number;
  /** Trial tokens not spent yet (leases included). */
  trialTokens: number | null;
  granted: number;
  ledgerCharges: number;
  usageCost: number;
  usageRows: number;
  openHolds: number;
}

export async function booksOf(db: Knex, keyId: string): Promise<Books> {
  const key = await db('api_keys').where({ id: keyId }).first();
  const sum = async (query: Knex.QueryBuilder, column: string) => Number(((await query.sum({ total: column }).first()) as { total: unknown })?.total ?? 0);
  const holds = await sum(db('reservations').where({ key_id: keyId }), 'amount_micro');
  const leasedTokens = await sum(db('reservations').where({ key_id: keyId }), 'tokens');
  return {
    balanceMicro: Number(key.balance_micro),
    unspentMicro: Number(key.balance_micro) + holds,
    trialTokens: key.trial_tokens === null ? null : Number(key.trial_tokens) + leasedTokens,
    granted: await sum(db('credit_ledger').where({ key_id: keyId, kind: 'grant' }), 'amount_micro'),
    ledgerCharges: -(await sum(db('credit_ledger').where({ key_id: keyId, kind: 'charge' }), 'amount_micro')) || 0,
    usageCost: await sum(db('usage').where({ key_id: keyId }), 'cost_micro'),
    usageRows: Number(((await db('usage').where({ key_id: keyId }).count({ n: '*' }).first()) as { n: unknown }).n),
    openHolds: holds,
  };
}

/** Balance + recorded spend + open holds must equal what was granted, and the ledger must match the usage rows. */
export function assertBalanced(books: Books, assert: typeof import('node:assert/strict')): void {
  assert.ok(books.balanceMicro >= 0, `balance ${books.balanceMicro} is negative`);
  assert.equal(books.ledgerCharges, books.usageCost, 'ledger charges equal usage cost');
  assert.equal(books.balanceMicro + books.usageCost + books.openHolds, books.granted, 'balance + spend + holds equal credits granted');
}
