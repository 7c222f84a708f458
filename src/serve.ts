/** `switchyard serve`: start, then on SIGTERM/SIGINT drain and exit 0. Boot errors exit 1 with a coded message. */
import { ConfigError } from './config/env-substitute.ts';
import type { Config } from './config/load.ts';
import { createLogger } from './logging.ts';
import { startServer } from './server.ts';

export async function serve(config: Config, port?: number): Promise<number> {
  const logger = createLogger(config.logging);
  // A stray promise or callback error is logged, never allowed to take every in-flight request down with it.
  process.on('unhandledRejection', (reason) => logger.error('unhandled rejection', { error: reason instanceof Error ? reason.message : String(reason) }));
  process.on('uncaughtException', (error) => logger.error('uncaught exception', { error: `${error.name}: ${error.message}` }));
  let running;
  try {
    running = await startServer(config, { port, logger });
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : `SY_START_FAILED: ${(error as Error).message}`);
    return 1;
  }
  console.error(`switchyard listening on ${running.url}`);
  console.error(
    config.admin.token
      ? `dashboard: ${running.url}/ui (sign in with ADMIN_TOKEN, or a key owner with their sk-sy-… key)`
      : `dashboard: ${running.url}/ui (ADMIN_TOKEN is not set, so the admin API and operator sign-in are off: put ADMIN_TOKEN=<a long random string> in .env and restart)`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info('shutting down', { signal });
      running.close().then(resolve, (error: Error) => {
        logger.error('shutdown failed', { error: error.message });
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
