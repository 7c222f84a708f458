/** The operator's dashboard data under `/admin` (admin token): overview, usage pages and CSV, filter choices. */
import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/knex.ts';
import { listKeys } from '../db/keys-repo.ts';
import { overview, RANGES, type OverviewRange } from '../db/overview-repo.ts';
import { usageCsv, usageFilterSchema, usagePage } from '../db/usage-page.ts';
import { UnauthorizedError } from '../errors/gateway-error.ts';
import type { Logger } from '../logging.ts';
import type { ProviderRegistry } from '../plugins/registry.ts';
import { validateBody } from '../proxy/validate.ts';
import { tokenMatches } from './admin-auth.ts';

export interface DashboardAdminDeps {
  db: Db;
  token: string;
  registry: ProviderRegistry;
  logger: Logger;
}

/** An export stops here: a spreadsheet past a million rows is not a report any more. */
export const CSV_MAX_ROWS = 1_000_000;

const overviewQuerySchema = z.strictObject({ range: z.enum(Object.keys(RANGES) as [OverviewRange, ...OverviewRange[]]).default('24h') });
const exportQuerySchema = usageFilterSchema.omit({ before: true, limit: true });

export function dashboardAdminRouter(deps: DashboardAdminDeps): Router {
  const router = Router();
  router.use(function requireAdminToken(req, _res, next) {
    if (!tokenMatches(req.headers.authorization, deps.token)) throw new UnauthorizedError('Missing or invalid admin token.');
    next();
  });

  router.get('/overview', async function adminOverview(req, res) {
    const { range } = validateBody(overviewQuerySchema, { ...req.query });
    res.json(await overview(deps.db, range));
  });

  router.get('/usage/rows', async function adminUsageRows(req, res) {
    const filter = validateBody(usageFilterSchema, { ...req.query });
    res.json({ object: 'list', ...(await usagePage(deps.db, filter)) });
  });

  router.get('/usage/export', async function adminUsageExport(req, res) {
    const filter = validateBody(exportQuerySchema, { ...req.query });
    const names = new Map((await listKeys(deps.db)).map((key) => [key.id, key.name]));
    res.status(200).set({
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="switchyard-usage-${new Date().toISOString().slice(0, 10)}.csv"`,
      'cache-control': 'no-store',
    });
    try {
      for await (const chunk of usageCsv(deps.db, filter, names, CSV_MAX_ROWS)) {
        if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
        if (res.destroyed) return;
      }
      res.end();
    } catch (error) {
      // Headers are out: the truncated file is all the client can get; the log says why.
      deps.logger.error('usage export failed', { error: (error as Error).message });
      res.destroy();
    }
  });

  router.get('/usage/facets', async function adminUsageFacets(_req, res) {
    const [models, providers] = await Promise.all([
      deps.db('usage_daily').distinct('model').whereNot('model', '').orderBy('model').limit(500),
      deps.db('usage_daily').distinct('provider').whereNot('provider', '').orderBy('provider').limit(500),
    ]);
    res.json({
      models: models.map((row: { model: string }) => row.model),
      providers: [...new Set([...deps.registry.providers.map((entry) => entry.name), ...providers.map((row: { provider: string }) => row.provider)])],
    });
  });

  return router;
}
