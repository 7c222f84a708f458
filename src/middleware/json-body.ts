/** Reads a JSON object body within `server.body_limit` and at most 64 levels deep (SPEC §6). */
import express, { type RequestHandler } from 'express';
import { InvalidRequestError } from '../errors/gateway-error.ts';

export const MAX_JSON_DEPTH = 64;

/** Nesting depth of a JSON text, found without parsing it; structural characters are ASCII, so bytes suffice. */
export function jsonDepthExceeds(body: Buffer, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === 0x5c) i++; // backslash: skip the escaped byte
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > maxDepth) return true;
    } else if (byte === 0x7d || byte === 0x5d) {
      depth--;
    }
  }
  return false;
}

export function jsonBody(limit: string): RequestHandler {
  const parse = express.json({
    limit,
    strict: true,
    // Every POST here takes JSON; clients that forget the content type still get parsed.
    type: () => true,
    verify(_req, _res, body) {
      if (jsonDepthExceeds(body, MAX_JSON_DEPTH)) throw new InvalidRequestError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels.`);
    },
  });
  return function readJsonBody(req, res, next) {
    parse(req, res, (error?: unknown) => {
      if (error) return next(error);
      const body: unknown = req.body;
      if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
        return next(new InvalidRequestError('The request body must be a JSON object.'));
      }
      next();
    });
  };
}
