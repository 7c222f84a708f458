/** startServer: config → database → plugins → app → listen, and a graceful close that drains and writes every row. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RedisReply } from 'rate-limit-redis';
import { createApp, type AppDeps } from './app.ts';
import { KeyCache } from './auth/key-cache.ts';
import { ConfigError } from './config/env-substitute.ts';
import type { Config } from './config/load.ts';
import { createDb, migrate } from './db/knex.ts';
import { createLogger, type Logger } from './logging.ts';
import { InstanceHeartbeat, newInstanceId } from './metering/instances.ts';
import { LeaseBook } from './metering/lease-book.ts';
import { renewLeases } from './metering/ledger.ts';
import { Meter } from './metering/meter.ts';
import { PriceBook } from './metering/pricing.ts';
import { claimSpilledRows } from './metering/usage-spill.ts';
import { UsageWriter } from './metering/usage-writer.ts';
import { GatewayMetrics } from './metrics.ts';
import { answerClientError, answerRaw } from './raw-answers.ts';
import { loadProviders, type LoadedProvider } from './plugins/loader.ts';
import { ProviderRegistry } from './plugins/registry.ts';
import { ModelCatalog } from './routes/models.ts';

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
    const instanceId = newInstanceId();
    const { metering } = config;
    const leases = new LeaseBook(db, instanceId, logger, { ttlMs: metering.reservation_ttl_ms, prefetch: metering.lease_prefetch, idleMs: metering.lease_idle_ms });
    const heartbeat = new InstanceHeartbeat(instanceId, db, logger, {
      heartbeatMs: metering.instance_heartbeat_ms,
      staleMs: metering.instance_stale_ms,
      onBeat: async (now) => leases.keepOnly(await renewLeases(db, instanceId, now + metering.reservation_ttl_ms)),
    });
    await heartbeat.start();
    leases.start();
    const writer = new UsageWriter(db, logger, {
      flushIntervalMs: metering.flush_interval_ms,
      batchSize: metering.flush_batch_size,
      spillFile: metering.spill_file,
      maxPending: metering.max_pending_rows,
      onCommitted: (settlements, missing) => leases.committed(settlements, missing),
    });
    // Rows an earlier process could not write before it stopped (after heartbeat.start() released its holds).
    const spilled = metering.spill_file ? claimSpilledRows(metering.spill_file) : [];
    if (spilled.length > 0) {
      logger.warn('writing usage rows spilled by an earlier shutdown', { count: spilled.length });
      writer.requeue(spilled);
    }
    const redis = config.rate_limit.store === 'redis' ? await connectRedis(config.rate_limit.redis_url, logger) : undefined;
    const metrics = new GatewayMetrics(() => writer.pending);
    let draining = false;
    const deps: AppDeps = {
      config,
      db,
      logger,
      metrics,
      registry,
      meter: new Meter(leases, priceBooks(config, providers), writer),
      writer,
      keyCache: new KeyCache(db, config.metering.key_cache_ttl_ms),
      catalog: new ModelCatalog(providers, logger),
      redis: redis && { sendCommand: (...args: string[]) => redis.sendCommand(args) as Promise<RedisReply>, ping: () => redis.ping() },
      draining: () => draining,
    };
    const app = createApp(deps);
    const server = http.createServer(
      {
        headersTimeout: config.server.headers_timeout_ms,
        requestTimeout: config.server.request_body_timeout_ms,
        keepAliveTimeout: config.server.keep_alive_timeout_ms,
        maxHeaderSize: config.server.max_header_size,
        // Node's own answer to a missing Host is a bare 400 without a body; the app answers it in JSON instead.
        requireHostHeader: false,
        // Node checks the two timeouts above only this often (30 s by default), so a slowloris client would hold
        // its socket up to 30 s past headers_timeout_ms; checking at a fraction of the smaller one keeps the bound.
        connectionsCheckingInterval: checkingIntervalMs(config.server.headers_timeout_ms, config.server.request_body_timeout_ms),
      },
      app,
    );
    // Bounds what one request may make the parser hold, beside max_header_size.
    server.maxHeadersCount = 200;
    server.on('clientError', (error: NodeJS.ErrnoException, socket) => answerClientError(error, socket));
    // Without a listener Node drops CONNECT tunnels without a word; the gateway is no proxy, so say so in JSON.
    server.on('connect', (_req, socket: Duplex) => answerRaw(socket, 405, 'method_not_allowed', 'CONNECT is not supported.'));
    const inFlight = trackInFlight(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? config.server.port, options.host ?? config.server.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const url = `http://127.0.0.1:${port}`;
    logger.info('listening', { port, instanceId: heartbeat.id, providers: providers.map((entry) => entry.name) });

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        draining = true;
        const deadline = Date.now() + config.server.shutdown_grace_ms;
        server.close();
        server.closeIdleConnections();
        await inFlight.settled(deadline);
        server.closeAllConnections();
        // Calls cut off just now still have to price what they streamed before their rows can be written.
        await deps.meter.settled(Date.now() + 2000);
        const unwritten = await writer.drain(Math.max(deadline, Date.now() + 5000));
        if (unwritten > 0) logger.error('usage rows lost: not written before exit and not spilled', { count: unwritten });
        await leases.close();
        await heartbeat.stop().catch((error: Error) => logger.warn('instance deregistration failed', { error: error.message }));
        if (redis?.isOpen) await redis.quit().catch(() => undefined);
        for (const closer of closers) await closer();
        logger.info('stopped', { usageRowsWritten: writer.written });
      })());
    return { url, port, server, deps, instanceId, leases, close };
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

/**
 * A Redis client that fails fast while disconnected (no offline queue) and reconnects by itself. Start-up waits a
 * little for the first connection, but never blocks on a Redis that is down: `on_store_error` then applies.
 */
async function connectRedis(url: string, logger: Logger) {
  // Loaded only with `store: redis`: a gateway keeping limits in memory does not pay for the client.
  const { createClient } = await import('redis');
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000) },
  });
  let lastLog = 0;
  client.on('error', (error: Error) => {
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      logger.error('redis connection error', { error: error.message });
    }
  });
  const connected = client.connect().then(
    () => true,
    () => false,
  );
  const up = await Promise.race([connected, new Promise<boolean>((resolve) => setTimeout(resolve, 2000, false).unref())]);
  if (!up) logger.error('redis is not reachable at start; rate limits follow rate_limit.on_store_error until it is');
  return client;
}

/** A quarter of the shortest timeout, between 50 ms and 1 s: the timeouts then hold to within 25 %. */
export function checkingIntervalMs(headersTimeoutMs: number, bodyTimeoutMs: number): number {
  return Math.max(50, Math.min(1000, Math.floor(Math.min(headersTimeoutMs, bodyTimeoutMs) / 4)));
}

/** Counts requests in progress so shutdown can wait for them. */
function trackInFlight(server: http.Server): { settled(deadline: number): Promise<void> } {
  let active = 0;
  let idle: (() => void) | undefined;
  server.on('request', (_req, res: http.ServerResponse) => {
    active++;
    res.once('close', () => {
      if (--active === 0) idle?.();
    });
  });
  return {
    settled(deadline) {
      if (active === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    },
  };
}
