/**
 * Per-key rate limits with express-rate-limit: `requests_per_window` per `window_ms`, or a key's own `rpm` per
 * minute. `store: redis` shares the counts between instances; a store failure answers per `on_store_error`.
 */
import type { RequestHandler } from 'express';
import { rateLimit, MemoryStore, type Options, type Store, type IncrementResponse, type ClientRateLimitInfo } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import type { Config } from '../config/load.ts';
import { RateLimitExceededError, ServiceUnavailableError } from '../errors/gateway-error.ts';
import type { Logger } from '../logging.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { SendCommand } from '../redis.ts';
import { LogThrottle } from '../util/log-throttle.ts';

/**
 * Wraps a Redis-backed store so that an outage neither crashes the process (its `init` rejects unhandled) nor
 * sticks: rate-limit-redis keeps a rejected script load forever, so after any failure the next call loads the
 * scripts again before counting. Failures are counted and logged — loudly, but at most once every few seconds.
 */
export class GuardedStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private options: Options | undefined;
  /** Throttled logging, so an outage at thousands of requests a second writes a line every few seconds. */
  readonly logThrottle = new LogThrottle(5000);
  /** True until the scripts are loaded, and again after any failure. */
  private stale = true;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly inner: RedisStore,
    private readonly onError: (error: Error) => void,
  ) {
    this.prefix = inner.prefix;
  }

  init(options: Options): void {
    this.options = options;
    this.reload().catch((error: Error) => this.onError(error));
  }

  /** Loads the scripts; concurrent callers share one load. */
  private reload(): Promise<void> {
    if (!this.options) return Promise.reject(new Error('the rate limit store was not initialised'));
    this.loading ??= this.inner
      .init(this.options)
      .then(() => {
        this.stale = false;
      })
      .finally(() => (this.loading = undefined));
    return this.loading;
  }

  /** Runs one store operation, reloading the scripts first if the last one failed. */
  private async guarded<T>(operation: () => Promise<T>): Promise<T> {
    try {
      if (this.stale) await this.reload();
      return await operation();
    } catch (error) {
      this.stale = true;
      this.onError(error as Error);
      throw new ServiceUnavailableError('Rate limiting is unavailable right now.');
    }
  }

  increment(key: string): Promise<IncrementResponse> {
    return this.guarded(() => this.inner.increment(key));
  }

  decrement(key: string): Promise<void> {
    return this.guarded(() => this.inner.decrement(key));
  }

  resetKey(key: string): Promise<void> {
    return this.guarded(() => this.inner.resetKey(key));
  }

  get(key: string): Promise<ClientRateLimitInfo | undefined> {
    return this.guarded(() => this.inner.get(key));
  }
}

export interface RateLimitDeps {
  config: Config['rate_limit'];
  logger: Logger;
  metrics: GatewayMetrics;
  /** node-redis `sendCommand`, when `store: redis`. */
  sendCommand?: SendCommand;
}

export function rateLimiter(deps: RateLimitDeps): RequestHandler {
  const { config, logger, metrics } = deps;
  const makeStore = (suffix: string): Store => {
    if (config.store !== 'redis') return new MemoryStore();
    if (!deps.sendCommand) throw new Error('rate_limit.store is redis but no Redis client was given');
    const guarded: GuardedStore = new GuardedStore(new RedisStore({ sendCommand: deps.sendCommand, prefix: `${config.prefix}${suffix}` }), (error) => {
      metrics.rateLimitStoreErrors.inc();
      const policy = config.on_store_error === 'allow' ? 'allowing requests' : 'refusing requests';
      guarded.logThrottle.log((suppressed) => logger.error('rate limit store failed', { error: error.message, policy, suppressed }));
    });
    return guarded;
  };
  const common: Partial<Options> = {
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (_req, res) => res.locals.key!.id,
    passOnStoreError: config.on_store_error === 'allow',
    // Store failures are logged (throttled) by GuardedStore; the library's own logger would log every request.
    logger: {
      warn: (message: unknown) => {
        logger.warn(String(message));
      },
      error: () => undefined,
    },
    // The library's validations are start-up checks of a configuration this module fixes; some of them cost a
    // map entry per request, so they are off.
    validate: false,
    handler(req, _res, next) {
      const info = (req as typeof req & { rateLimit?: { resetTime?: Date; limit: number } }).rateLimit;
      const retryAfterS = info?.resetTime ? Math.max(1, Math.ceil((info.resetTime.getTime() - Date.now()) / 1000)) : 1;
      next(new RateLimitExceededError(`Rate limit exceeded: ${info?.limit ?? ''} requests per window for this key. Retry in ${retryAfterS}s.`, retryAfterS));
    },
  };
  const perWindow = rateLimit({
    ...common,
    windowMs: config.window_ms,
    limit: config.requests_per_window,
    store: makeStore('w:'),
    skip: (_req, res) => res.locals.key!.rpm !== null,
  });
  const perMinute = rateLimit({
    ...common,
    windowMs: 60_000,
    limit: (_req, res) => res.locals.key!.rpm ?? config.requests_per_window,
    store: makeStore('m:'),
    skip: (_req, res) => res.locals.key!.rpm === null,
  });
  return function limitRate(req, res, next) {
    perWindow(req, res, (error?: unknown) => (error ? next(error) : perMinute(req, res, next)));
  };
}
