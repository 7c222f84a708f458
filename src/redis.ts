/** The Redis client for shared rate limits: fails fast while disconnected and reconnects by itself. */
import type { RedisReply } from 'rate-limit-redis';
import type { Logger } from './logging.ts';
import { LogThrottle } from './util/log-throttle.ts';

/** One Redis command as raw strings: the shape rate-limit-redis, the token windows and the routing health share. */
export type SendCommand = (...args: string[]) => Promise<RedisReply>;

export interface RedisHandle {
  sendCommand: SendCommand;
  ping: () => Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Start-up waits a little for the first connection but never blocks on a Redis that is down: `on_store_error`
 * applies until it is back. With no offline queue, a command while disconnected fails at once instead of waiting.
 */
export async function connectRedis(url: string, logger: Logger): Promise<RedisHandle> {
  // Loaded only with `store: redis`: a gateway keeping limits in memory does not pay for the client.
  const { createClient } = await import('redis');
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000) },
  });
  const throttle = new LogThrottle(5000);
  client.on('error', (error: Error) => throttle.log((suppressed) => logger.error('redis connection error', { error: error.message, suppressed })));
  const connected = client.connect().then(
    () => true,
    () => false,
  );
  const up = await Promise.race([connected, new Promise<boolean>((resolve) => setTimeout(resolve, 2000, false).unref())]);
  if (!up) logger.error('redis is not reachable at start; rate limits follow rate_limit.on_store_error until it is');
  return {
    sendCommand: (...args) => client.sendCommand(args) as Promise<RedisReply>,
    ping: () => client.ping(),
    async close() {
      if (!client.isOpen) return;
      // QUIT waits for a reply a reconnecting client may never get: after a short wait the socket is just dropped.
      const quit = client.quit().then(
        () => true,
        () => false,
      );
      const done = await Promise.race([quit, new Promise<boolean>((resolve) => setTimeout(resolve, 1000, false).unref())]);
      if (!done && client.isOpen) client.destroy();
    },
  };
}
