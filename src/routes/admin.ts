/** The admin API (docs/endpoints.md), behind `Authorization: Bearer ADMIN_TOKEN`; not mounted at all when the token is empty. */
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { KeyCache } from '../auth/key-cache.ts';
import type { Db } from '../db/knex.ts';
import { addCredits, createKey, getKey, keyCreateSchema, keyView, listKeys, revokeKey } from '../db/keys-repo.ts';
import { listUsage } from '../db/usage-repo.ts';
import { GatewayError, UnauthorizedError } from '../errors/gateway-error.ts';
import { validateBody } from '../proxy/validate.ts';
import { tokenMatches } from './admin-auth.ts';

export interface AdminDeps {
  db: Db;
  token: string;
  keyCache: KeyCache;
  jsonBody: RequestHandler;
}

class KeyNotFoundError extends GatewayError {
  constructor(id: string) {
    super(404, 'invalid_request_error', 'key_not_found', `No key with id '${id.slice(0, 64)}'.`);
  }
}

const creditsSchema = z.union([
  z.strictObject({ credits_usd: z.number().positive().max(1e9) }).transform((body) => body.credits_usd),
  z.strictObject({ amount_usd: z.number().positive().max(1e9) }).transform((body) => body.amount_usd),
]);

const usageQuerySchema = z.strictObject({
  key_id: z.string().max(64).optional(),
  since: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
  limit: z.coerce.number().int().positive().max(100_000).optional(),
});

export function adminRouter(deps: AdminDeps): Router {
  const router = Router();
  router.use(function requireAdminToken(req, _res, next) {
    if (!tokenMatches(req.headers.authorization, deps.token)) throw new UnauthorizedError('Missing or invalid admin token.');
    next();
  });

  router.post('/keys', deps.jsonBody, async function createAdminKey(req, res) {
    const body = { ...(req.body as Record<string, unknown>) };
    if (typeof body.models === 'string') body.models = body.models.split(',').map((glob) => glob.trim()).filter(Boolean);
    const input = validateBody(keyCreateSchema, body);
    const { record, secret } = await createKey(deps.db, input);
    res.status(201).json({ ...keyView(record), key: secret });
  });

  router.get('/keys', async function listAdminKeys(_req, res) {
    res.json({ object: 'list', data: (await listKeys(deps.db)).map(keyView) });
  });

  router.post('/keys/:id/credits', deps.jsonBody, async function addAdminCredits(req, res) {
    const usd = validateBody(creditsSchema, req.body);
    const record = await addCredits(deps.db, req.params.id as string, usd);
    if (!record) throw new KeyNotFoundError(req.params.id as string);
    deps.keyCache.clear();
    res.json(keyView(record));
  });

  router.delete('/keys/:id', async function revokeAdminKey(req, res) {
    const id = req.params.id as string;
    if (!(await revokeKey(deps.db, id))) throw new KeyNotFoundError(id);
    deps.keyCache.clear();
    res.json(keyView((await getKey(deps.db, id))!));
  });

  router.get('/usage', async function adminUsage(req, res) {
    const query = validateBody(usageQuerySchema, { ...req.query });
    const data = await listUsage(deps.db, { keyId: query.key_id, since: query.since ? Date.parse(query.since) : undefined, limit: query.limit });
    res.json({ object: 'list', data });
  });

  return router;
}
