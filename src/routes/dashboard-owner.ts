/** A key owner's dashboard data under `/v1/usage/…` (the gateway key itself): spend per day and the latest requests. */
import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/knex.ts';
import { daysFrom, spendPerDay } from '../db/overview-repo.ts';
import { usageFilterSchema, usagePage } from '../db/usage-page.ts';
import { validateBody } from '../proxy/validate.ts';

const DAY_MS = 86_400_000;
const dailySchema = z.strictObject({ days: z.coerce.number().int().min(1).max(366).default(30) });
const requestsSchema = z.strictObject({
  before: usageFilterSchema.shape.before,
  limit: z.coerce.number().int().min(1).max(200).default(20),
});

export function dashboardOwnerRouter(db: Db): Router {
  const router = Router();
  router.get('/daily', async function keySpendPerDay(req, res) {
    const { days } = validateBody(dailySchema, { ...req.query });
    const now = Date.now();
    res.json({ object: 'usage.daily', ...(await spendPerDay(db, daysFrom(now - (days - 1) * DAY_MS, now), res.locals.key!.id)) });
  });
  router.get('/requests', async function keyRequests(req, res) {
    const query = validateBody(requestsSchema, { ...req.query });
    res.json({ object: 'list', ...(await usagePage(db, { ...query, key_id: res.locals.key!.id })) });
  });
  return router;
}
