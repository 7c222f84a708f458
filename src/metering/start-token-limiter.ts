/** The tokens-per-minute limiter of one instance: its windows in Redis with `store: redis`, else in memory. */
import type { Config } from '../config/load.ts';
import type { Logger } from '../logging.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { RedisHandle } from '../redis.ts';
import { MemoryWindows, RedisWindows, TokenLimiter } from './token-limit.ts';

export function tokenLimiter(config: Config['rate_limit'], redis: RedisHandle | undefined, logger: Logger, metrics: GatewayMetrics): TokenLimiter {
  let lastLog = 0;
  return new TokenLimiter({
    store: redis ? new RedisWindows(redis.sendCommand) : new MemoryWindows(),
    prefix: config.prefix,
    allowOnStoreError: config.on_store_error === 'allow',
    onStoreError(error) {
      metrics.rateLimitStoreErrors.inc();
      // An outage at thousands of requests a second writes a line every few seconds.
      if (Date.now() - lastLog < 5000) return;
      lastLog = Date.now();
      logger.error('token rate limit store failed', {
        error: error.message,
        policy: config.on_store_error === 'allow' ? 'allowing requests' : 'refusing requests',
      });
    },
  });
}
