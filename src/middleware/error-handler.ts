/** The last middleware: anything thrown becomes OpenAI error JSON with `x-request-id`; unknown routes get 404/405. */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { sendError, toClientError } from '../errors/client-error.ts';
import { MethodNotAllowedError, RouteNotFoundError } from '../errors/gateway-error.ts';
import type { Logger } from '../logging.ts';
import { answerAfterBody } from './unread-body.ts';

export { sendError, toClientError };

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
