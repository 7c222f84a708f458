/**
 * One dispatch for the model calls: a `POST` to one of the `/v1/*` model paths, spelled exactly, runs its whole
 * middleware chain from a single Express layer. Every layer of Express's router costs a path match and a closure
 * per request whether it applies or not, and a model call went through a dozen of them; here it is one map
 * lookup. Any other spelling (a trailing slash, other case) falls through to the same chain registered the usual
 * way, so what a client sees does not change.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** The path of a request URL without its query string. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

export function modelDispatch(chains: ReadonlyMap<string, readonly RequestHandler[]>): RequestHandler {
  return function dispatchModelCall(req, res, next) {
    if (req.method !== 'POST') return next();
    const chain = chains.get(pathOf(req.url));
    if (!chain) return next();
    runChain(chain, req, res, next);
  };
}

/**
 * Runs handlers in order as Express would: each one's `next()` calls the following one; an error (passed to
 * `next`, thrown, or a rejected promise) leaves the chain for Express's error handlers through `done`.
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
    if (failed || index === chain.length) return;
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
