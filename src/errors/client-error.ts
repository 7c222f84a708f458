/** Any error, as the OpenAI-shaped error a client receives; and sending it, also from inside a handler. */
import type { Response } from 'express';
import { isConnectionError } from '../db/sql.ts';
import type { Logger } from '../logging.ts';
import { GatewayError, InvalidRequestError, ServiceUnavailableError } from './gateway-error.ts';

/** Maps Express and socket errors to gateway errors; anything else is a 500 that is logged. */
export function toClientError(error: unknown, logger: Logger, requestId: string): GatewayError {
  if (error instanceof GatewayError) return error;
  const e = error as { status?: number; message?: string };
  if (error instanceof URIError) return new InvalidRequestError('The request path is not valid.');
  // Whatever route met it, a database that is not there is an outage to retry, not a server bug.
  if (isConnectionError(error)) return new ServiceUnavailableError('The gateway database is unavailable; try again shortly.');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new InvalidRequestError(String(e.message ?? 'Bad request').slice(0, 200));
  logger.error('unhandled error', { requestId, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  return new GatewayError(500, 'server_error', 'internal_error', 'The gateway failed to handle this request.');
}

/**
 * A refusal a second try would meet again (a 4xx other than 408, 409 and 429). The SDKs read `x-should-retry`;
 * without it Claude Code takes a 401 for an expiring token and retries it for minutes before showing the message.
 */
function repeats(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 409 && status !== 429;
}

export function sendError(res: Response, error: GatewayError): void {
  const call = res.locals.call;
  if (call) {
    call.status = error.status;
    call.errorCode = error.code;
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(error.status).set(error.headers);
  if (repeats(error.status)) res.set('x-should-retry', 'false');
  res.json(res.locals.errorShape?.(error) ?? error.toJSON());
}
