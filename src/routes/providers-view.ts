/**
 * Each provider entry as the dashboard shows it: plugin, model globs, whether its key is set (never the key), and the
 * last five minutes of its traffic read from the newest usage rows. Live routing state (cooling, in flight) is null
 * here: this gateway routes without cooldowns.
 */
import type { Db } from '../db/knex.ts';
import { median, SAMPLE_ROWS } from '../db/overview-repo.ts';
import type { ProviderRegistry } from '../plugins/registry.ts';

export interface ProviderView {
  name: string;
  plugin: string;
  models: string[];
  key_set: boolean;
  state: 'ok' | 'cooling' | null;
  cooling_until: string | null;
  in_flight: number | null;
  requests_5m: number;
  errors_5m: number;
  p50_latency_ms: number | null;
  p50_ttft_ms: number | null;
}

const WINDOW_MS = 5 * 60_000;

export async function providersView(db: Db, registry: ProviderRegistry, now = Date.now()): Promise<ProviderView[]> {
  const recent = (await db('usage')
    .select('provider', 'status', 'latency_ms', 'ttft_ms')
    .where('created_at', '>=', now - WINDOW_MS)
    .orderBy('id', 'desc')
    .limit(SAMPLE_ROWS)) as { provider: string | null; status: number; latency_ms: number; ttft_ms: number | null }[];
  return registry.providers.map((entry) => {
    const own = recent.filter((row) => row.provider === entry.name);
    const answered = own.filter((row) => row.status < 400);
    const apiKey = (entry.entry as { api_key?: unknown }).api_key;
    return {
      name: entry.name,
      plugin: entry.plugin,
      models: entry.entry.models,
      key_set: typeof apiKey === 'string' && apiKey.length > 0,
      state: null,
      cooling_until: null,
      in_flight: null,
      requests_5m: own.length,
      errors_5m: own.length - answered.length,
      p50_latency_ms: median(answered.map((row) => Number(row.latency_ms))),
      p50_ttft_ms: median(answered.flatMap((row) => (row.ttft_ms === null ? [] : [Number(row.ttft_ms)]))),
    };
  });
}
