/** Gives every request an id, sent back as `x-request-id` and written on its usage row and log line. */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

export function requestId(): RequestHandler {
  return function assignRequestId(_req, res, next) {
    const id = `req_${randomUUID().replaceAll('-', '')}`;
    res.locals.requestId = id;
    res.setHeader('x-request-id', id);
    next();
  };
}
