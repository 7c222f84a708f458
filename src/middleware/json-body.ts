/**
 * Reads a JSON object body within `server.body_limit` and at most 64 levels deep. A few lines of its own
 * instead of body-parser, which re-derives content types and charsets on every request of the hot path; every
 * POST here takes UTF-8 JSON, so clients that forget the content type are parsed as well.
 */
import type { RequestHandler } from 'express';
import { GatewayError, InvalidRequestError, RequestTooLargeError } from '../errors/gateway-error.ts';

export const MAX_JSON_DEPTH = 64;

/** Nesting depth of a JSON text, found without parsing it; structural characters are ASCII, so bytes suffice. */
export function jsonDepthExceeds(body: Buffer, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === 0x5c)
        i++; // backslash: skip the escaped byte
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

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `4mb` → bytes (the config schema has already checked the shape). */
export function parseSize(size: string): number {
  const [, number, unit] = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(size.trim())!;
  return Math.floor(Number(number) * UNITS[(unit ?? 'b').toLowerCase()]);
}

/** Parses the whole body, or says why not. */
function parseBody(raw: Buffer): unknown {
  if (jsonDepthExceeds(raw, MAX_JSON_DEPTH)) throw new InvalidRequestError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels.`);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new InvalidRequestError(`The request body is not valid JSON: ${(error as Error).message.slice(0, 200)}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new InvalidRequestError('The request body must be a JSON object.');
  return body;
}

export function jsonBody(limit: string): RequestHandler {
  const maxBytes = parseSize(limit);
  return function readJsonBody(req, _res, next) {
    const encoding = req.headers['content-encoding'];
    if (encoding && encoding !== 'identity')
      return next(new GatewayError(415, 'invalid_request_error', 'unsupported_media_type', 'Compressed request bodies are not supported.'));
    if (Number(req.headers['content-length']) > maxBytes) return next(new RequestTooLargeError(limit));
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      if (error) {
        // The error handler discards the rest (up to a bound) before answering, then closes the connection.
        req.pause();
        return next(error);
      }
      try {
        req.body = parseBody(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
      } catch (parseError) {
        return next(parseError);
      }
      next();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) finish(new RequestTooLargeError(limit));
      else chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => finish());
    req.once('error', (error) => finish(error));
  };
}
