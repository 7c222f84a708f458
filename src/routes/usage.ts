/** `GET /v1/usage`: the calling key's balance, trial allowance, budget, limits and totals. */
import type { RequestHandler } from 'express';
import type { Db } from '../db/knex.ts';
import { getKey, keyView, type KeyView } from '../db/keys-repo.ts';
import { usageTotals } from '../db/usage-repo.ts';
import { InvalidApiKeyError } from '../errors/gateway-error.ts';
import { microToUsd } from '../metering/pricing.ts';

export function usageHandler(db: Db, now: () => number = Date.now): RequestHandler {
  return async function keyUsage(_req, res) {
    const key = await getKey(db, res.locals.key!.id, now());
    if (!key) throw new InvalidApiKeyError();
    const totals = await usageTotals(db, key.id);
    res.json({
      object: 'usage',
      key_id: key.id,
      name: key.name,
      balance_usd: key.balanceMicro === null ? null : microToUsd(key.balanceMicro),
      trial_tokens_remaining: key.trialTokens,
      ...budgetFields(keyView(key)),
      ...totals,
    });
  };
}

/** The budget and lifecycle fields a key's owner may see about it. */
function budgetFields(view: KeyView) {
  const { budget_usd, budget_period, budget_spent_usd, budget_resets_at, tpm, expires_at, last_used_at } = view;
  return { budget_usd, budget_period, budget_spent_usd, budget_resets_at, tpm, expires_at, last_used_at };
}
