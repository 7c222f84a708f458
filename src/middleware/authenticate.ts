/** Checks the gateway key (`Authorization: Bearer`, `api-key` or `x-api-key`); missing, unknown, revoked or expired → 401. */
import type { Request, RequestHandler, Response } from 'express';
import type { KeyCache } from '../auth/key-cache.ts';
import { KEY_PREFIX } from '../db/keys-repo.ts';
import { isConnectionError } from '../db/sql.ts';
import { InvalidApiKeyError, ServiceUnavailableError } from '../errors/gateway-error.ts';

/** The secret a client presented, if any. */
export function presentedKey(req: Request): string | undefined {
  const authorization = req.headers.authorization;
  if (authorization) {
    const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  const header = req.headers['api-key'] ?? req.headers['x-api-key'];
  return typeof header === 'string' ? header.trim() : undefined;
}

/** Keys are `sk-sy-` + 43 base62 characters; anything else is refused without a lookup. */
const KEY_SHAPE = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{43}$`);

/** Why a key was refused: the label of `switchyard_auth_failures_total`. */
export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired' | 'admin_token';

function refuse(res: Response, reason: AuthFailure, error: InvalidApiKeyError): never {
  res.locals.authFailure = reason;
  throw error;
}

export function authenticate(keys: KeyCache, now: () => number = Date.now): RequestHandler {
  return async function authenticateKey(req, res, next) {
    const secret = presentedKey(req);
    if (!secret)
      refuse(res, 'missing', new InvalidApiKeyError('Missing gateway API key. Send it as "Authorization: Bearer sk-sy-…" (or in an x-api-key header).'));
    // A provider's key (hf_…, sk-…) sent by mistake is the usual case: say what a gateway key looks like.
    if (!KEY_SHAPE.test(secret))
      refuse(
        res,
        'malformed',
        new InvalidApiKeyError('Invalid gateway API key: this is not a Switchyard key (those start with "sk-sy-", as `switchyard keys create` prints them).'),
      );
    let record: Awaited<ReturnType<KeyCache['lookup']>>;
    try {
      record = await keys.lookup(secret);
    } catch (error) {
      // Never a 401 for a database outage: the key may well be valid.
      throw new ServiceUnavailableError(
        isConnectionError(error) ? 'The gateway database is unavailable; try again shortly.' : 'The gateway could not check the API key; try again shortly.',
      );
    }
    if (!record) refuse(res, 'unknown', new InvalidApiKeyError('Invalid gateway API key: no key of this gateway has this secret.'));
    if (record.revoked) refuse(res, 'revoked', new InvalidApiKeyError('This gateway key has been revoked.'));
    if (record.expiresAt !== null && now() >= record.expiresAt)
      refuse(res, 'expired', new InvalidApiKeyError(`This gateway key expired at ${new Date(record.expiresAt).toISOString()}.`));
    res.locals.key = record;
    if (res.locals.call) res.locals.call.keyId = record.id;
    next();
  };
}

/**
 * Checks the key from the headers before anything reads the body, then opens the call's usage record: a request
 * without a valid key is answered 401 at once, its body never parsed and no row written. A key that could not be
 * checked (database down) still gets its record, so the 503 it is answered leaves a row as before.
 */
export function authenticateThenOpen(auth: RequestHandler, open: RequestHandler): RequestHandler {
  return async function checkKeyFirst(req, res, next) {
    let failure: unknown;
    try {
      await auth(req, res, (error?: unknown) => void (failure = error));
    } catch (error) {
      failure = error;
    }
    if (failure instanceof InvalidApiKeyError) return next(failure);
    open(req, res, (error?: unknown) => next(failure ?? error));
  };
}
