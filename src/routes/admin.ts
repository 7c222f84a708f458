/** The admin API (docs/endpoints.md), behind `Authorization: Bearer ADMIN_TOKEN`; not mounted at all when the token is empty. */
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { KeyCache } from '../auth/key-cache.ts';
import type { Db } from '../db/knex.ts';
import { addCredits, createKey, getKey, keyCreateSchema, keyUpdateSchema, keyView, listKeys, revokeKey, updateKey } from '../db/keys-repo.ts';
import { listUsage } from '../db/usage-repo.ts';
import { GatewayError, InvalidRequestError, UnauthorizedError } from '../errors/gateway-error.ts';
import { validateBody } from '../proxy/validate.ts';
import type { ProviderView } from '../routing/provider-view.ts';
import { tokenMatches } from './admin-auth.ts';

export interface AdminDeps {
  db: Db;
  token: string;
  keyCache: KeyCache;
  jsonBody: RequestHandler;
  /** The clock budgets' periods and expiry durations are read from. */
  now?: () => number;
  providerViews?: () => Promise<ProviderView[]>;
}

class KeyNotFoundError extends GatewayError {
  constructor(id: string) {
    super(404, 'invalid_request_error', 'key_not_found', `No key with id '${id.slice(0, 64)}'.`);
  }
}

/** A top-up of a revoked key, refused as `switchyard credits add` refuses it: the money could never be spent. */
class KeyRevokedError extends GatewayError {
  constructor(id: string) {
    super(409, 'invalid_request_error', 'key_revoked', `Key '${id.slice(0, 64)}' is revoked: credits cannot be added to it (create a new key instead).`);
  }
}

const creditsSchema = z.union([
  z.strictObject({ credits_usd: z.number().positive().max(1e9) }).transform((body) => body.credits_usd),
  z.strictObject({ amount_usd: z.number().positive().max(1e9) }).transform((body) => body.amount_usd),
]);

const usageQuerySchema = z.strictObject({
  key_id: z.string().max(64).optional(),
  since: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
  until: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
  limit: z.coerce.number().int().positive().max(100_000).optional(),
});

/** `models` may come as "a/*,b/*", as on the command line. */
function keyFields(body: unknown): Record<string, unknown> {
  const fields = { ...(body as Record<string, unknown>) };
  if (typeof fields.models === 'string')
    fields.models = fields.models
      .split(',')
      .map((glob) => glob.trim())
      .filter(Boolean);
  return fields;
}

/** A bad expiry or a budget period without a budget: a 400, not a 500. */
async function asBadRequest<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RangeError) throw new InvalidRequestError(error.message);
    throw error;
  }
}

export function adminRouter(deps: AdminDeps): Router {
  const router = Router();
  const now = deps.now ?? Date.now;
  router.use(function requireAdminToken(req, res, next) {
    if (!tokenMatches(req.headers.authorization, deps.token)) {
      res.locals.authFailure = 'admin_token';
      throw new UnauthorizedError('Missing or invalid admin token.');
    }
    next();
  });

  router.post('/keys', deps.jsonBody, async function createAdminKey(req, res) {
    const input = validateBody(keyCreateSchema, keyFields(req.body));
    const { record, secret } = await asBadRequest(() => createKey(deps.db, input, now()));
    res.status(201).json({ ...keyView(record), key: secret });
  });

  router.get('/keys', async function listAdminKeys(_req, res) {
    res.json({ object: 'list', data: (await listKeys(deps.db, now())).map(keyView) });
  });

  router.patch('/keys/:id', deps.jsonBody, async function updateAdminKey(req, res) {
    const input = validateBody(keyUpdateSchema, keyFields(req.body));
    const record = await asBadRequest(() => updateKey(deps.db, req.params.id as string, input, now()));
    if (!record) throw new KeyNotFoundError(req.params.id as string);
    // This instance applies it at once; the others when their cached lookup expires.
    deps.keyCache.clear();
    res.json(keyView(record));
  });

  router.post('/keys/:id/credits', deps.jsonBody, async function addAdminCredits(req, res) {
    const usd = validateBody(creditsSchema, req.body);
    if ((await getKey(deps.db, req.params.id as string))?.revoked) throw new KeyRevokedError(req.params.id as string);
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
    const at = (value: string | undefined) => (value ? Date.parse(value) : undefined);
    const data = await listUsage(deps.db, { keyId: query.key_id, since: at(query.since), until: at(query.until), limit: query.limit });
    res.json({ object: 'list', data });
  });

  router.get('/providers', async function adminProviders(_req, res) {
    res.json({ object: 'list', data: (await deps.providerViews?.()) ?? [] });
  });

  return router;
}
