/**
 * `/ui`: the dashboard's built bundle (ui/dist, made by ui/build.mjs) with a Content-Security-Policy that allows
 * only this origin's own scripts and styles: no inline script or style, nothing from another host, no framing.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type RequestHandler } from 'express';

/** ui/dist of the checkout: two folders up from the sources, three from their compiled copy in dist/src/routes. */
function findUiDist(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const roots = [path.resolve(here, '../..'), path.resolve(here, '../../..')];
  const root = roots.find((candidate) => existsSync(path.join(candidate, 'ui', 'build.mjs'))) ?? roots[0];
  return path.join(root, 'ui', 'dist');
}

export const UI_DIST = findUiDist();

export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const uiHeaders: RequestHandler = function uiHeaders(_req, res, next) {
  res.set({
    'content-security-policy': UI_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
  });
  next();
};

const NOT_BUILT = 'The dashboard is not built. Run `npm run build:ui` (npm start and npm test build it themselves), then reload.\n';

export function uiRouter(dist = UI_DIST): Router {
  const router = Router();
  router.use(uiHeaders);
  // Hashed names never change content: cache them for a year. index.html is read on every visit.
  router.use('/assets', express.static(path.join(dist, 'assets'), { immutable: true, maxAge: '365d', index: false }));
  router.get(['/', '/index.html'], function uiIndex(_req, res) {
    const index = path.join(dist, 'index.html');
    if (!existsSync(index)) {
      res.status(503).type('text/plain').send(NOT_BUILT);
      return;
    }
    res.set('cache-control', 'no-cache').sendFile(index);
  });
  return router;
}
