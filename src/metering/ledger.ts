/**
 * The reserve → settle ledger. A reservation takes the most a request can cost off the key's balance (and trial
 * allowance) with one conditional update and records the hold; settlement refunds what was not spent and books the
 * charge. A CHECK constraint keeps balances ≥ 0 even if this code were wrong.
 */
import { isPostgres, type Db } from '../db/knex.ts';
import { rows, type Queryable } from '../db/sql.ts';
import {
  InsufficientCreditsError,
  InvalidApiKeyError,
  TrialExhaustedError,
  type GatewayError,
} from '../errors/gateway-error.ts';

/** What a request holds while it runs. `amountMicro` / `tokens` are 0 for a key not limited by them. */
export interface Hold {
  id: string;
  keyId: string;
  amountMicro: number;
  tokens: number;
}

/** The outcome of a request with a hold: what to keep of it. Charges never exceed the hold. */
export interface Settlement {
  hold: Hold;
  chargedMicro: number;
  chargedTokens: number;
}

export class Ledger {
  private readonly postgres: boolean;

  constructor(
    private readonly db: Db,
    private readonly instanceId: string,
    private readonly ttlMs: number,
  ) {
    this.postgres = isPostgres(db);
  }

  /** Holds `amountMicro` and `tokens` for one request, or throws the 402 that says which limit refused it. */
  async reserve(keyId: string, holdId: string, amountMicro: number, tokens: number): Promise<Hold> {
    const hold: Hold = { id: holdId, keyId, amountMicro, tokens };
    const now = Date.now();
    const taken = this.postgres ? await this.reservePostgres(hold, now) : await this.reserveSqlite(hold, now);
    if (!taken) throw await this.refusal(hold);
    return hold;
  }

  private static readonly TAKE = `UPDATE api_keys SET balance_micro = balance_micro - ?, trial_tokens = trial_tokens - ?
    WHERE id = ? AND revoked = ? AND (balance_micro IS NULL OR balance_micro >= ?) AND (trial_tokens IS NULL OR trial_tokens >= ?)
    RETURNING id`;

  private takeBindings(hold: Hold): (string | number | boolean)[] {
    return [hold.amountMicro, hold.tokens, hold.keyId, false, hold.amountMicro, hold.tokens];
  }

  private holdBindings(hold: Hold, now: number): (string | number)[] {
    return [hold.id, hold.keyId, hold.amountMicro, hold.tokens, this.instanceId, now + this.ttlMs, now];
  }

  /** One statement, one round trip: the update and the hold row commit together or not at all. */
  private async reservePostgres(hold: Hold, now: number): Promise<boolean> {
    const taken = await rows<{ id: string }>(
      this.db,
      `WITH taken AS (${Ledger.TAKE})
       INSERT INTO reservations (id, key_id, amount_micro, tokens, instance_id, expires_at, created_at)
       SELECT ?, ?, ?, ?, ?, ?, ? FROM taken RETURNING id`,
      [...this.takeBindings(hold), ...this.holdBindings(hold, now)],
    );
    return taken.length > 0;
  }

  private async reserveSqlite(hold: Hold, now: number): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const taken = await rows<{ id: string }>(trx, Ledger.TAKE, this.takeBindings(hold));
      if (taken.length === 0) return false;
      await trx.raw(
        'INSERT INTO reservations (id, key_id, amount_micro, tokens, instance_id, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        this.holdBindings(hold, now),
      );
      return true;
    });
  }

  private async refusal(hold: Hold): Promise<GatewayError> {
    const key = await this.db('api_keys').select('balance_micro', 'trial_tokens', 'revoked').where({ id: hold.keyId }).first();
    if (!key || key.revoked) return new InvalidApiKeyError('This gateway key has been revoked.');
    if (key.trial_tokens !== null && key.trial_tokens < hold.tokens) {
      return new TrialExhaustedError(
        `Trial allowance exhausted: this request may use up to ${hold.tokens} tokens and the key has ${key.trial_tokens} left.`,
      );
    }
    return new InsufficientCreditsError(
      `Insufficient credits: this request may cost up to $${(hold.amountMicro / 1e6).toFixed(6)} and the key has $${(Number(key.balance_micro) / 1e6).toFixed(6)} left.`,
    );
  }
}

/**
 * Applies settlements inside the caller's transaction. Idempotent: a hold is settled only by the statement that
 * deletes its row. A hold already released (reaped after expiry) is charged from the balance if it can pay, else
 * not at all; the returned map says what was really charged, which is what the usage row must record.
 */
export async function applySettlements(trx: Queryable, settlements: readonly Settlement[], now: number): Promise<Map<string, Settlement>> {
  const charged = new Map<string, Settlement>();
  if (settlements.length === 0) return charged;
  const deleted = new Set<string>();
  for (let i = 0; i < settlements.length; i += 500) {
    const ids = settlements.slice(i, i + 500).map((settlement) => settlement.hold.id);
    const found = await rows<{ id: string }>(trx, `DELETE FROM reservations WHERE id IN (${ids.map(() => '?').join(',')}) RETURNING id`, ids);
    for (const row of found) deleted.add(row.id);
  }
  const refunds = new Map<string, { micro: number; tokens: number }>();
  const ledgerRows: Record<string, unknown>[] = [];
  for (const settlement of settlements) {
    const { hold } = settlement;
    let { chargedMicro, chargedTokens } = settlement;
    if (deleted.has(hold.id)) {
      const refund = refunds.get(hold.keyId) ?? { micro: 0, tokens: 0 };
      refund.micro += hold.amountMicro - chargedMicro;
      refund.tokens += hold.tokens - chargedTokens;
      refunds.set(hold.keyId, refund);
    } else if (!(await chargeWithoutHold(trx, hold.keyId, chargedMicro, chargedTokens))) {
      chargedMicro = 0;
      chargedTokens = 0;
    }
    charged.set(hold.id, { hold, chargedMicro, chargedTokens });
    if (chargedMicro > 0) ledgerRows.push({ key_id: hold.keyId, kind: 'charge', amount_micro: -chargedMicro, request_id: hold.id, created_at: now });
  }
  for (const [keyId, refund] of refunds) {
    if (refund.micro !== 0 || refund.tokens !== 0) {
      await trx.raw('UPDATE api_keys SET balance_micro = balance_micro + ?, trial_tokens = trial_tokens + ? WHERE id = ?', [refund.micro, refund.tokens, keyId]);
    }
  }
  for (let i = 0; i < ledgerRows.length; i += 200) await trx('credit_ledger').insert(ledgerRows.slice(i, i + 200));
  return charged;
}

async function chargeWithoutHold(trx: Queryable, keyId: string, micro: number, tokens: number): Promise<boolean> {
  if (micro === 0 && tokens === 0) return true;
  const taken = await rows<{ id: string }>(
    trx,
    `UPDATE api_keys SET balance_micro = balance_micro - ?, trial_tokens = trial_tokens - ?
     WHERE id = ? AND (balance_micro IS NULL OR balance_micro >= ?) AND (trial_tokens IS NULL OR trial_tokens >= ?) RETURNING id`,
    [micro, tokens, keyId, micro, tokens],
  );
  return taken.length > 0;
}

/** Releases holds whose request cannot finish any more: expired, or owned by an instance that stopped beating. */
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
      const refund = refunds.get(row.key_id) ?? { micro: 0, tokens: 0 };
      refund.micro += Number(row.amount_micro);
      refund.tokens += Number(row.tokens);
      refunds.set(row.key_id, refund);
    }
    for (const [keyId, refund] of refunds) {
      await trx.raw('UPDATE api_keys SET balance_micro = balance_micro + ?, trial_tokens = trial_tokens + ? WHERE id = ?', [refund.micro, refund.tokens, keyId]);
    }
    return released.length;
  });
}
