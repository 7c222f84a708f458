/** createApp(deps): the Express app behind a listener that takes model calls first, fully wired but never listening (start-gateway.ts puts it on a port). */
import cors from 'cors';
import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import type { KeyCache } from './auth/key-cache.ts';
import type { Config } from './config/load.ts';
import type { Db } from './db/knex.ts';
import { chatOperation } from './endpoints/chat.ts';
import { completionsOperation } from './endpoints/completions.ts';
import { embeddingsOperation } from './endpoints/embeddings.ts';
import { anthropicRequestId, messagesOperation } from './endpoints/messages.ts';
import { countTokensHandler } from './endpoints/messages/count-tokens-route.ts';
import { messagesErrorBody } from './dialects/messages/errors.ts';
import { responsesOperation } from './endpoints/responses.ts';
import { InvalidRequestError } from './errors/gateway-error.ts';
import type { Logger } from './logging.ts';
import type { Meter } from './metering/meter.ts';
import type { UsageWriter } from './metering/usage-writer.ts';
import type { GatewayMetrics } from './metrics.ts';
import { accessLog } from './middleware/access-log.ts';
import { authenticate, authenticateThenOpen } from './middleware/authenticate.ts';
import { errorHandler, errorShape, notFound } from './middleware/error-handler.ts';
import { jsonBody, parseSize } from './middleware/json-body.ts';
import { expressBorn, modelCallsFirst, type ServedApp } from './middleware/model-dispatch.ts';
import { rateLimiter } from './middleware/rate-limit.ts';
import { requestId } from './middleware/request-id.ts';
import { routeLabel, startCall, type CallSink } from './middleware/start-call.ts';
import type { ProviderRegistry } from './plugins/registry.ts';
import type { ProviderView } from './routing/provider-view.ts';
import type { Router } from './routing/router.ts';
import { proxyHandler, type ProxyDeps } from './proxy/handler.ts';
import type { Operation } from './proxy/operation.ts';
import type { SendCommand } from './redis.ts';
import { adminRouter } from './routes/admin.ts';
import { dashboardAdminRouter } from './routes/dashboard-admin.ts';
import { dashboardOwnerRouter } from './routes/dashboard-owner.ts';
import { healthRouter } from './routes/health.ts';
import { modelsRouter, type ModelCatalog } from './routes/models.ts';
import { uiRouter } from './routes/ui.ts';
import { usageHandler } from './routes/usage.ts';

export interface AppDeps {
  config: Config;
  db: Db;
  logger: Logger;
  metrics: GatewayMetrics;
  registry: ProviderRegistry;
  /** Routing pools and the health of every provider entry. */
  router?: Router;
  /** The live view of every provider entry, fresh from shared state. */
  providerViews?: () => Promise<ProviderView[]>;
  meter: Meter;
  writer: UsageWriter;
  keyCache: KeyCache;
  catalog: ModelCatalog;
  redis?: { sendCommand: SendCommand; ping: () => Promise<unknown> };
  /** True once shutdown has begun. */
  draining: () => boolean;
  /** The clock for budget periods and key expiry (tests move it); Date.now by default. */
  now?: () => number;
}

/** Model-call endpoints and the operation that serves each; built per app, so no state is shared between apps. */
function operations(): readonly [string, Operation][] {
  return [
    ['/v1/chat/completions', chatOperation],
    ['/v1/responses', responsesOperation()],
    ['/v1/embeddings', embeddingsOperation],
    ['/v1/completions', completionsOperation],
    ['/v1/messages', messagesOperation],
  ];
}

const EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'retry-after-ms', 'ratelimit', 'ratelimit-policy', 'x-inference-provider', 'x-upstream-request-id'];

interface FrontMiddleware {
  /** Every request: its id and its access log line. */
  common: RequestHandler[];
  /** `/v1/messages…`: errors in Anthropic's shape, Anthropic's `request-id` header. */
  messages: RequestHandler[];
  /** Every request, after the error shape is known: a Host header, `connection: close` while draining. */
  checks: RequestHandler[];
  /** `/v1/*`, when CORS origins are configured. */
  cors: RequestHandler | undefined;
}

/** What runs before any route, in this order; shared by the Express layers and the model-call dispatch. */
function frontMiddleware(deps: AppDeps): FrontMiddleware {
  const { config } = deps;
  let corsHandler: RequestHandler | undefined;
  if (config.server.cors_origins.length > 0) {
    const origin = config.server.cors_origins.includes('*') ? true : config.server.cors_origins;
    // Without allowedHeaders, cors reflects what the preflight asks for: the SDK's X-Stainless-* headers included.
    corsHandler = cors({ origin, exposedHeaders: EXPOSED_HEADERS, maxAge: 600 });
  }
  return {
    common: [requestId(), accessLog(deps.logger, deps.metrics)],
    messages: [errorShape(messagesErrorBody), anthropicRequestId()],
    checks: [
      function requireHost(req, _res, next) {
        // HTTP/1.1 requires a Host header (RFC 9112); Node would refuse it with a bare 400, this one is JSON.
        if (req.httpVersion === '1.1' && req.headers.host === undefined) return next(new InvalidRequestError('Missing Host header.'));
        next();
      },
      function closeWhenDraining(_req, res, next) {
        if (deps.draining()) res.setHeader('connection', 'close');
        next();
      },
    ],
    cors: corsHandler,
  };
}

export function createApp(deps: AppDeps): ServedApp {
  const { config, logger, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.server.trust_proxy);

  const routes = new Map<string, readonly string[]>();
  // Model calls spelled exactly skip the router (see model-dispatch.ts); the same chains are registered below too.
  const modelChains = new Map<string, readonly RequestHandler[]>();
  const front = frontMiddleware(deps);
  app.use(front.common);
  // Anthropic clients read errors in Anthropic's shape, from the first middleware that can fail to the last.
  app.use('/v1/messages', front.messages);
  app.use(front.checks);
  if (front.cors) app.use('/v1', front.cors);

  const security = helmet();
  const body = jsonBody(config.server.body_limit);
  app.use(['/health', '/metrics'], security, routeLabel('health'));
  app.use(
    healthRouter({
      db: deps.db,
      metrics,
      metricsToken: config.metrics.token,
      pingRedis: deps.redis?.ping,
      usagePending: () => deps.writer.pending,
      usageWritesOk: () => deps.writer.healthy,
      draining: deps.draining,
    }),
  );
  routes.set('/health', ['GET']).set('/metrics', ['GET']);

  if (config.admin.token) {
    const admin = adminRouter({
      db: deps.db,
      token: config.admin.token,
      keyCache: deps.keyCache,
      jsonBody: body,
      providerViews: deps.providerViews,
      now: deps.now,
    });
    app.use('/admin', security, routeLabel('admin'), admin);
    routes.set('/admin/keys', ['GET', 'POST']).set('/admin/usage', ['GET']).set('/admin/providers', ['GET']);
    app.use('/admin', security, routeLabel('admin'), dashboardAdminRouter({ db: deps.db, token: config.admin.token, registry: deps.registry, logger }));
    for (const path of ['/admin/overview', '/admin/usage/rows', '/admin/usage/export', '/admin/usage/facets']) routes.set(path, ['GET']);
  }
  // The dashboard is served whether or not the admin API is on: key owners sign in with their own key.
  app.use('/ui', routeLabel('ui'), uiRouter());
  routes.set('/ui', ['GET']);

  const auth = authenticate(deps.keyCache, deps.now);
  const limit = rateLimiter({ config: config.rate_limit, logger, metrics, sendCommand: deps.redis?.sendCommand });
  const proxyDeps: ProxyDeps = {
    registry: deps.registry,
    router: deps.router,
    health: deps.router?.health,
    meter: deps.meter,
    logger,
    metrics,
    defaultMaxTokens: config.metering.default_max_tokens,
    writeStallMs: config.server.request_timeout_ms,
  };
  // Each finished call becomes a usage row (the meter) and a sample of the per-call metrics.
  const callSink: CallSink = {
    begin: () => deps.meter.begin(),
    finish(call) {
      deps.meter.finish(call);
      metrics.genAi.observe(call);
    },
  };
  for (const [path, operation] of operations()) {
    // The key first, from the headers: a request without a valid key costs no body read, no parse and no usage row.
    const keyThenCall = authenticateThenOpen(auth, startCall(operation.endpoint, callSink));
    const chain: RequestHandler[] = [routeLabel(operation.endpoint), keyThenCall, limit, body, proxyHandler(proxyDeps, operation)];
    app.post(path, ...chain);
    routes.set(path, ['POST']);
    const shape = path === '/v1/messages' ? front.messages : [];
    modelChains.set(path, [...front.common, ...shape, ...front.checks, ...(front.cors ? [front.cors] : []), ...chain]);
  }

  app.post('/v1/messages/count_tokens', routeLabel('count_tokens'), auth, body, countTokensHandler(deps.registry));
  routes.set('/v1/messages/count_tokens', ['POST']);

  app.use('/v1/models', routeLabel('models'), auth);
  app.use(modelsRouter(deps.catalog));
  app.get('/v1/usage', routeLabel('usage'), auth, usageHandler(deps.db, deps.now));
  app.use('/v1/usage', routeLabel('usage'), auth, dashboardOwnerRouter(deps.db));
  routes.set('/v1/models', ['GET']).set('/v1/usage', ['GET']).set('/v1/usage/daily', ['GET']).set('/v1/usage/requests', ['GET']);

  app.use(notFound(routes));
  // A refused body is read and thrown away up to twice the limit (at least 1 MiB), then the connection is cut.
  const renderError = errorHandler(logger, Math.max(2 * parseSize(config.server.body_limit), 1024 * 1024));
  app.use(renderError);
  return { listener: modelCallsFirst(app, modelChains, renderError), ...expressBorn(app) };
}
