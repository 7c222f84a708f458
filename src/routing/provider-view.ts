/** The live view of every provider entry, for `GET /admin/providers`, `/metrics` and `npx switchyard providers`. */
import type { Registry } from 'prom-client';
import { Gauge } from 'prom-client';
import type { LoadedProvider } from '../plugins/loader.ts';
import type { ProviderView } from '../dashboard-wire.ts';
import type { HealthBook } from './health-book.ts';

export type { ProviderView };

export function providerViews(providers: readonly LoadedProvider[], health: HealthBook): ProviderView[] {
  const now = health.now();
  return providers.map((provider) => {
    const cooldown = health.cooldownOf(provider.name);
    const stats = health.stats(provider.name).view(now);
    const apiKey = (provider.entry as { api_key?: unknown }).api_key;
    return {
      name: provider.name,
      plugin: provider.plugin,
      models: [...provider.entry.models],
      key_configured: typeof apiKey === 'string' && apiKey.length > 0,
      state: cooldown ? 'cooling' : 'ok',
      until: cooldown ? new Date(cooldown.until).toISOString() : null,
      reason: cooldown?.reason ?? null,
      in_flight: health.inFlight(provider.name),
      requests_5m: stats.requests,
      errors_5m: stats.errors,
      p50_latency_ms: stats.p50LatencyMs,
      p50_ttft_ms: stats.p50TtftMs,
    };
  });
}

/** The same view as Prometheus gauges with a `provider` label, computed at scrape time. */
export function registerProviderMetrics(registry: Registry, views: () => ProviderView[]): void {
  const gauge = (name: string, help: string, value: (view: ProviderView) => number | null): void => {
    new Gauge({
      name: `switchyard_provider_${name}`,
      help,
      labelNames: ['provider'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const view of views()) {
          const measured = value(view);
          if (measured !== null) this.set({ provider: view.name }, measured);
        }
      },
    });
  };
  gauge('cooling', '1 while the provider entry is cooling down (gets no routed traffic), else 0.', (view) => (view.state === 'cooling' ? 1 : 0));
  gauge('cooling_until_seconds', 'When the running cooldown ends, as a Unix time; absent when ok.', (view) =>
    view.until ? Date.parse(view.until) / 1000 : null,
  );
  gauge('in_flight', 'Upstream calls in flight to the provider entry, on every instance sharing state.', (view) => view.in_flight);
  gauge('requests_5m', 'Upstream attempts that ended in the last five minutes.', (view) => view.requests_5m);
  gauge('errors_5m', 'Upstream attempts in the last five minutes that failed in a way that counts toward a cooldown.', (view) => view.errors_5m);
  gauge('latency_p50_seconds', 'Median upstream attempt duration over the last five minutes.', (view) =>
    view.p50_latency_ms === null ? null : view.p50_latency_ms / 1000,
  );
  gauge('ttft_p50_seconds', 'Median time to the first streamed event over the last five minutes.', (view) =>
    view.p50_ttft_ms === null ? null : view.p50_ttft_ms / 1000,
  );
}
