/** startServer: config → database → plugins → app → listen, and a graceful close that drains and writes every row. */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type AppDeps } from './express-app.ts';
import { KeyCache } from './auth/key-cache.ts';
import { ConfigError } from './config/env-substitute.ts';
import type { Config } from './config/load.ts';
import { createDb, migrate } from './db/knex.ts';
import { createLogger, type Logger } from './logging.ts';
import { createHttpServer, listen, trackInFlight } from './node-http-server.ts';
import type { LeaseBook } from './metering/lease-book.ts';
import { Meter } from './metering/meter.ts';
import { PriceBook } from './metering/pricing.ts';
import { startMetering } from './metering/start-metering.ts';
import { tokenLimiter } from './metering/start-token-limiter.ts';
import { GatewayMetrics } from './metrics.ts';
import { loadProviders, type LoadedProvider } from './plugins/loader.ts';
import { ProviderRegistry } from './plugins/registry.ts';
import { ModelCatalog } from './routes/models.ts';
import { connectRedis } from './redis.ts';
import { startRouting } from './routing/start-routing.ts';
import { COMPILED } from './runtime.ts';

export interface RunningServer {
  url: string;
  port: number;
  server: http.Server;
  deps: AppDeps;
  instanceId: string;
  /** This instance's leases on keys' balances. */
  leases: LeaseBook;
  /** Stops accepting, drains in-flight requests (up to `shutdown_grace_ms`), writes pending usage, closes everything. */
  close(): Promise<void>;
}

export interface StartOptions {
  port?: number;
  host?: string;
  logger?: Logger;
  /** Epoch ms for routing cooldowns and stats, budget periods and key expiry; tests move it instead of sleeping. */
  clock?: () => number;
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logging);
  const db = createDb(config.database, logger);
  const closers: (() => Promise<unknown> | unknown)[] = [() => db.destroy()];
  try {
    await migrate(db);
    const providers = await loadProviders(config, logger);
    closers.unshift(() => Promise.all(providers.map((entry) => entry.provider.close?.())));
    const registry = createRegistry(providers, config);
    const metering = await startMetering(db, config.metering, logger);
    const redis = config.rate_limit.store === 'redis' ? await connectRedis(config.rate_limit.redis_url, logger) : undefined;
    if (redis) closers.unshift(() => redis.close());
    let draining = false;
    const metrics = new GatewayMetrics(() => metering.writer.pending);
    const routing = startRouting({
      config,
      registry,
      providers,
      logger,
      metrics,
      instanceId: metering.instanceId,
      clock: options.clock,
      sendCommand: redis?.sendCommand,
    });
    // Before Redis closes: the last thing routing does is take this instance's counts out of the shared state.
    closers.unshift(() => routing.close());
    const deps: AppDeps = {
      config,
      db,
      logger,
      metrics,
      registry,
      router: routing.router,
      providerViews: () => routing.views(),
      meter: new Meter(metering.leases, priceBooks(config, providers), metering.writer, {
        now: options.clock,
        tokenLimiter: tokenLimiter(config.rate_limit, redis, logger, metrics),
      }),
      writer: metering.writer,
      keyCache: new KeyCache(db, config.metering.key_cache_ttl_ms),
      catalog: new ModelCatalog(providers, logger),
      redis,
      draining: () => draining,
      now: options.clock,
    };
    const server = createHttpServer(config.server, createApp(deps));
    const inFlight = trackInFlight(server);
    await listen(server, options.port ?? config.server.port, options.host ?? config.server.host);
    const port = (server.address() as AddressInfo).port;
    // `compiled` says whether this is the JavaScript build in dist/ (production) or the sources under tsx.
    logger.info('listening', { port, instanceId: metering.instanceId, providers: providers.map((entry) => entry.name), compiled: COMPILED });

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        draining = true;
        const deadline = Date.now() + config.server.shutdown_grace_ms;
        server.close();
        server.closeIdleConnections();
        await inFlight.idle(deadline);
        server.closeAllConnections();
        // Calls cut off just now still have to price what they streamed before their rows can be written.
        await deps.meter.settled(Date.now() + 2000);
        await metering.stop(Math.max(deadline, Date.now() + 5000));
        for (const closer of closers) await closer();
        logger.info('stopped', { usageRowsWritten: metering.writer.written });
      })());
    return { url: `http://127.0.0.1:${port}`, port, server, deps, instanceId: metering.instanceId, leases: metering.leases, close };
  } catch (error) {
    for (const closer of closers) await Promise.resolve(closer()).catch(() => undefined);
    throw error;
  }
}

function createRegistry(providers: LoadedProvider[], config: Config): ProviderRegistry {
  try {
    return new ProviderRegistry(providers, config.fallbacks);
  } catch (error) {
    throw new ConfigError(['fallbacks'], (error as Error).message);
  }
}

/** The global price book, and one per provider entry that prices models itself (a fallback bills at its own price). */
function priceBooks(config: Config, providers: LoadedProvider[]): (target: { provider: LoadedProvider }) => PriceBook {
  const global = new PriceBook(config.pricing);
  const own = new Map(providers.filter((entry) => entry.entry.pricing).map((entry) => [entry.name, new PriceBook(entry.entry.pricing!, global)]));
  return (target) => own.get(target.provider.name) ?? global;
}
