/** Gives every request an id, sent back as `x-request-id` and written on its usage row and log line. */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

/**
 * `req_` + 32 hex digits, the first 12 being the time in milliseconds: ids sort by time, so the usage table's
 * unique index grows at its end instead of touching a random page for every row.
 */
export function newRequestId(now = Date.now()): string {
  return `req_${now.toString(16).padStart(12, '0')}${randomUUID().replaceAll('-', '').slice(12)}`;
}

export function requestId(): RequestHandler {
  return function assignRequestId(_req, res, next) {
    const id = newRequestId();
    res.locals.requestId = id;
    res.setHeader('x-request-id', id);
    next();
  };
}
