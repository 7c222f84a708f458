/**
 * The last middleware: anything thrown becomes error JSON with `x-request-id` (OpenAI's shape, or the route's own
 * dialect when it set `res.locals.errorShape`); unknown routes get 404/405.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { sendError, toClientError } from '../errors/client-error.ts';
import { type GatewayError, MethodNotAllowedError, RouteNotFoundError } from '../errors/gateway-error.ts';
import type { Logger } from '../logging.ts';
import { answerAfterBody } from './unread-body.ts';

/** Routes and the methods they answer, for 405s. */
export function notFound(routes: ReadonlyMap<string, readonly string[]>): RequestHandler {
  return function unknownRoute(req, _res, next) {
    const allowed = routes.get(req.path.replace(/\/+$/, '') || '/');
    next(allowed ? new MethodNotAllowedError(req.method, req.path, allowed) : new RouteNotFoundError(req.method, req.path.slice(0, 200)));
  };
}

/** `discardBytes` bounds how much of a refused body is read and thrown away so the client can read the answer. */
export function errorHandler(logger: Logger, discardBytes: number): ErrorRequestHandler {
  return function renderError(error, req, res, _next) {
    const gatewayError = toClientError(error, logger, res.locals.requestId);
    answerAfterBody(req, res, discardBytes, () => sendError(res, gatewayError));
  };
}

/** Sets the error shape of the routes below it (see `res.locals.errorShape`). */
export function errorShape(shape: (error: GatewayError) => unknown): RequestHandler {
  return function useErrorShape(_req, res, next) {
    res.locals.errorShape = shape;
    next();
  };
}
