/**
 * `switchyard serve`: start, print the addresses really listened on, then on SIGTERM/SIGINT drain and exit 0. Boot
 * errors exit 1 with a coded message; an uncaught exception is logged and stops the process (exit 70) after the same
 * drain, so usage rows are written or spilled and the supervisor restarts a process in a known state.
 */
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { ConfigError } from '../config/env-substitute.ts';
import type { Config } from '../config/load.ts';
import { createLogger, type Logger } from '../logging.ts';
import { type RunningServer, startServer } from '../start-gateway.ts';

/** EX_SOFTWARE from sysexits.h: an internal error, not a usage or config one. */
export const CRASH_EXIT_CODE = 70;

export async function serve(config: Config, port?: number): Promise<number> {
  const logger = createLogger(config.logging);
  // A stray promise is logged, never allowed to take every in-flight request down with it.
  process.on('unhandledRejection', (reason) => logger.error('unhandled rejection', { error: reason instanceof Error ? reason.message : String(reason) }));
  let running: RunningServer;
  try {
    running = await startServer(config, { port, logger });
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : `SY_START_FAILED: ${(error as Error).message}`);
    return 1;
  }
  console.error(`switchyard listening on ${listeningUrls(running.server.address() as AddressInfo).join(' ')}`);
  const ui = `${listeningUrls(running.server.address() as AddressInfo)[0]}/ui`;
  console.error(
    config.admin.token
      ? `dashboard: ${ui} (sign in with ADMIN_TOKEN, or a key owner with their sk-sy-… key)`
      : `dashboard: ${ui} (ADMIN_TOKEN is not set, so the admin API and operator sign-in are off: put ADMIN_TOKEN=<a long random string> in .env and restart)`,
  );
  return untilStopped(running, logger);
}

/** Resolves with the exit code once a signal or an uncaught exception has stopped the server. */
function untilStopped(running: RunningServer, logger: Logger): Promise<number> {
  return new Promise<number>((resolve) => {
    const stop = (reason: string, code: number): void => {
      logger.info('shutting down', { reason });
      running.close().then(
        () => resolve(code),
        (error: Error) => {
          logger.error('shutdown failed', { error: error.message });
          resolve(code || 1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM', 0));
    process.once('SIGINT', () => stop('SIGINT', 0));
    // The process state after an uncaught exception is unknown: stop taking requests, keep the books, exit non-zero.
    process.on('uncaughtException', (error) => {
      logger.error('uncaught exception', { error: `${error.name}: ${error.message}`, stack: error.stack?.split('\n').slice(1, 4).join(' | ') });
      stop('uncaughtException', CRASH_EXIT_CODE);
    });
  });
}

/** `0.0.0.0` and `::` mean every interface: name each one's address, so the banner says where to connect. */
export function listeningUrls(address: AddressInfo): string[] {
  const url = (host: string): string => `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  if (address.address !== '0.0.0.0' && address.address !== '::') return [url(address.address)];
  const families = address.address === '::' ? ['IPv4', 'IPv6'] : ['IPv4'];
  const hosts = Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry && families.includes(entry.family) && !entry.address.startsWith('fe80'))
    .map((entry) => entry!.address);
  return hosts.length > 0 ? hosts.map(url) : [url(address.address)];
}
