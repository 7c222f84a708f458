/** Builds routing for a server: the health book every attempt reports to, the router, shared state, metrics. */
import type { Config } from '../config/load.ts';
import type { Logger } from '../logging.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { SendCommand } from '../redis.ts';
import type { LoadedProvider } from '../plugins/loader.ts';
import type { ProviderRegistry } from '../plugins/registry.ts';
import { HealthBook } from './health-book.ts';
import { providerViews, registerProviderMetrics, type ProviderView } from './provider-view.ts';
import { RedisHealth } from './redis-health.ts';
import { Router } from './router.ts';

export interface RoutingRuntime {
  router: Router;
  /** The live view; with shared state, pulled fresh from Redis first. */
  views(): Promise<ProviderView[]>;
  close(): Promise<void>;
}

export interface RoutingSetup {
  config: Config;
  registry: ProviderRegistry;
  providers: readonly LoadedProvider[];
  logger: Logger;
  metrics: GatewayMetrics;
  instanceId: string;
  clock?: () => number;
  /** With `rate_limit.store: redis`. */
  sendCommand?: SendCommand;
}

export function startRouting(setup: RoutingSetup): RoutingRuntime {
  const { config, providers, logger } = setup;
  const clock = setup.clock ?? Date.now;
  const names = providers.map((provider) => provider.name);
  const health = new HealthBook(names, { cooldown: config.cooldown, clock, logger });
  // Without rules nothing routes on shared state, so no instance pays for syncing it.
  const shared =
    setup.sendCommand && config.routing.length > 0
      ? new RedisHealth({
          sendCommand: setup.sendCommand,
          prefix: `${config.rate_limit.prefix}route:`,
          instanceId: setup.instanceId,
          names,
          localInFlight: () => health.localInFlight(),
          clock,
          logger,
        }).start()
      : undefined;
  health.shared = shared;
  const router = new Router(setup.registry, config.routing, health);
  registerProviderMetrics(setup.metrics.registry, () => providerViews(providers, health));
  return {
    router,
    async views() {
      await shared?.refresh();
      return providerViews(providers, health);
    },
    async close() {
      await shared?.close();
    },
  };
}
