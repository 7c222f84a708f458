/** `GET /v1/usage`: the calling key's balance, trial allowance and totals. */
import type { RequestHandler } from 'express';
import type { Db } from '../db/knex.ts';
import { getKey } from '../db/keys-repo.ts';
import { usageTotals } from '../db/usage-repo.ts';
import { InvalidApiKeyError } from '../errors/gateway-error.ts';
import { microToUsd } from '../metering/pricing.ts';

export function usageHandler(db: Db): RequestHandler {
  return async function keyUsage(_req, res) {
    const key = await getKey(db, res.locals.key!.id);
    if (!key) throw new InvalidApiKeyError();
    const totals = await usageTotals(db, key.id);
    res.json({
      object: 'usage',
      key_id: key.id,
      name: key.name,
      balance_usd: key.balanceMicro === null ? null : microToUsd(key.balanceMicro),
      trial_tokens_remaining: key.trialTokens,
      ...totals,
    });
  };
}
