/**
 * Model calls skip Express's router. A `POST` to one of the `/v1/*` model paths, spelled exactly, runs its whole
 * middleware chain straight from the HTTP server's request event; the request and response are Express's own (see
 * `expressBorn`), so every handler still has `res.json`, `res.locals`, `req.ip` and the app's settings. Express's
 * dispatch (a final handler, a `next` closure and a path match per layer, and a layer for the dispatch itself)
 * allocated more per model call than any handler of the gateway, and most of what stayed alive past a
 * young-generation GC. Anything else, any other spelling included (a trailing slash, other case), goes to the
 * Express app, where the same chains are registered the usual way, so what a client sees is the same.
 */
import { IncomingMessage, type RequestListener, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { RouteNotFoundError } from '../errors/gateway-error.ts';

/** The path of a request URL without its query string. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

export function modelCallsFirst(app: Express, chains: ReadonlyMap<string, readonly RequestHandler[]>, renderError: ErrorRequestHandler): RequestListener {
  return function handleRequest(req, res) {
    const chain = req.method === 'POST' ? chains.get(pathOf(req.url ?? '')) : undefined;
    if (!chain) return app(req, res);
    const [request, response] = asExpress(app, req, res);
    runChain(chain, request, response, (error?: unknown) =>
      // A chain ends in a handler that answers; one that passed the request on would have had no route to reach.
      renderError(error ?? new RouteNotFoundError(request.method, request.path), request, response, () => response.destroy()),
    );
  };
}

export interface HttpClasses {
  IncomingMessage: typeof IncomingMessage;
  ServerResponse: typeof ServerResponse;
}

/** What the HTTP server needs of the app: its request listener and the classes of its requests and responses. */
export interface ServedApp extends HttpClasses {
  listener: RequestListener;
}

/**
 * Request and response classes for the HTTP server whose instances have the app's methods from birth. Express gives
 * each request and response its prototypes with `Object.setPrototypeOf`, which V8 pays for on every request and in
 * the property accesses after it; subclasses whose prototypes sit on the app's need none of that on model calls.
 */
export function expressBorn(app: Express): HttpClasses {
  class ExpressRequest extends IncomingMessage {}
  Object.setPrototypeOf(ExpressRequest.prototype, app.request);
  class ExpressResponse extends ServerResponse {}
  Object.setPrototypeOf(ExpressResponse.prototype, app.response);
  born.add(ExpressRequest.prototype).add(ExpressResponse.prototype);
  return { IncomingMessage: ExpressRequest, ServerResponse: ExpressResponse as typeof ServerResponse };
}

/** The prototypes of the classes above: their instances need no other. */
const born = new WeakSet<object>();

/** What `app.handle` and the router do to a request before its first middleware, but the prototypes (see `expressBorn`). */
function asExpress(app: Express, req: IncomingMessage, res: ServerResponse): [Request, Response] {
  const request = (born.has(Object.getPrototypeOf(req)) ? req : Object.setPrototypeOf(req, app.request)) as Request;
  const response = (born.has(Object.getPrototypeOf(res)) ? res : Object.setPrototypeOf(res, app.response)) as Response;
  request.res = response;
  response.req = request;
  response.locals ??= Object.create(null);
  request.baseUrl = '';
  request.originalUrl = req.url ?? '';
  return [request, response];
}

/**
 * Runs handlers in order as Express would: each one's `next()` calls the following one; an error (passed to
 * `next`, thrown, or a rejected promise) leaves the chain through `done`, as does a `next()` past the last one.
 */
export function runChain(chain: readonly RequestHandler[], req: Request, res: Response, done: NextFunction): void {
  let index = 0;
  let failed = false;
  const fail = (error: unknown): void => {
    if (failed) return;
    failed = true;
    done(error ?? new Error('Rejected promise'));
  };
  const step = (error?: unknown): void => {
    if (error !== undefined && error !== null) return fail(error);
    if (failed) return;
    if (index === chain.length) return done();
    const handler = chain[index++];
    try {
      const result: unknown = handler(req, res, step);
      if (result instanceof Promise) result.then(undefined, fail);
    } catch (thrown) {
      fail(thrown);
    }
  };
  step();
}
