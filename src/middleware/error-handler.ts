/**
 * The last middleware: anything thrown becomes error JSON with `x-request-id` (OpenAI's shape, or the route's own
 * dialect when it set `res.locals.errorShape`); unknown routes get 404/405.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import {
  GatewayError,
  InvalidRequestError,
  MethodNotAllowedError,
  RouteNotFoundError,
  ServiceUnavailableError,
} from '../errors/gateway-error.ts';
import { isConnectionError } from '../db/sql.ts';
import type { Logger } from '../logging.ts';

/** Routes and the methods they answer, for 405s. */
export function notFound(routes: ReadonlyMap<string, readonly string[]>): RequestHandler {
  return function unknownRoute(req, _res, next) {
    const allowed = routes.get(req.path.replace(/\/+$/, '') || '/');
    next(allowed ? new MethodNotAllowedError(req.method, req.path, allowed) : new RouteNotFoundError(req.method, req.path.slice(0, 200)));
  };
}

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

export function sendError(res: Parameters<RequestHandler>[1], error: GatewayError): void {
  const call = res.locals.call;
  if (call) {
    call.status = error.status;
    call.errorCode = error.code;
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(error.status).set(error.headers).json(res.locals.errorShape?.(error) ?? error.toJSON());
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return function renderError(error, _req, res, _next) {
    const gatewayError = toClientError(error, logger, res.locals.requestId);
    // A body we refused unread must not be parsed as the next request on this connection.
    if (gatewayError.status === 413 || gatewayError.status === 415) res.setHeader('connection', 'close');
    sendError(res, gatewayError);
  };
}

/** Sets the error shape of the routes below it (see `res.locals.errorShape`). */
export function errorShape(shape: (error: GatewayError) => unknown): RequestHandler {
  return function useErrorShape(_req, res, next) {
    res.locals.errorShape = shape;
    next();
  };
}
