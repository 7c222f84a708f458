/** `GET /health` (database and Redis readiness) and `GET /metrics` (Prometheus, optionally behind `metrics.token`). */
import { Router } from 'express';
import type { Db } from '../db/knex.ts';
import { UnauthorizedError } from '../errors/gateway-error.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { tokenMatches } from './admin-auth.ts';

export interface HealthDeps {
  db: Db;
  metrics: GatewayMetrics;
  metricsToken: string;
  /** Resolves when Redis answers a PING; absent when limits are kept in memory. */
  pingRedis?: () => Promise<unknown>;
  usagePending: () => number;
  /** False while usage rows fail to reach the database (it may answer reads and still refuse writes). */
  usageWritesOk: () => boolean;
  draining: () => boolean;
}

async function probe(check: () => Promise<unknown>): Promise<'ok' | 'unavailable'> {
  try {
    await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref())]);
    return 'ok';
  } catch {
    return 'unavailable';
  }
}

export function healthRouter(deps: HealthDeps): Router {
  const router = Router();
  router.get('/health', async function health(_req, res) {
    const checks: Record<string, string> = { database: await probe(() => deps.db.raw('SELECT 1')) };
    if (deps.pingRedis) checks.redis = await probe(deps.pingRedis);
    checks.usage_writes = deps.usageWritesOk() ? 'ok' : 'failing';
    const ready = !deps.draining() && Object.values(checks).every((status) => status === 'ok');
    res.status(ready ? 200 : 503).json({
      status: deps.draining() ? 'draining' : ready ? 'ok' : 'degraded',
      checks,
      usage_rows_pending: deps.usagePending(),
    });
  });
  router.get('/metrics', async function metrics(req, res) {
    if (deps.metricsToken && !tokenMatches(req.headers.authorization, deps.metricsToken)) throw new UnauthorizedError('Missing or invalid metrics token.');
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return router;
}
