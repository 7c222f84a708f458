/** `switchyard providers`: the running gateway's provider entries and their health, from `GET /admin/providers`. */
import type { Config } from '../config/load.ts';
import type { ProviderView } from '../routing/provider-view.ts';
import type { Print } from './commands.ts';
import { UsageError } from './key-options.ts';
import { formatTable } from './table.ts';

export interface ProvidersOptions {
  url?: string;
  json?: boolean;
}

/** Asks the server (`--url`, else `server.port` on this machine) with the config's admin token. */
export async function providersReport(config: Config, options: ProvidersOptions, print: Print, now = Date.now()): Promise<void> {
  if (!config.admin.token) throw new UsageError('admin.token is empty in the config: the admin API, and this command, are off');
  const base = (options.url ?? `http://127.0.0.1:${config.server.port}`).replace(/\/+$/, '');
  let response: Response;
  try {
    response = await fetch(`${base}/admin/providers`, { headers: { authorization: `Bearer ${config.admin.token}` }, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new Error(
      `cannot reach the gateway at ${base}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`,
    );
  }
  if (response.status !== 200) throw new Error(`${base}/admin/providers answered HTTP ${response.status}`);
  const views = ((await response.json()) as { data: ProviderView[] }).data;
  if (options.json) {
    print(JSON.stringify(views));
    return;
  }
  const headers = ['NAME', 'PLUGIN', 'MODELS', 'KEY', 'STATE', 'UNTIL', 'REASON', 'IN_FLIGHT', 'REQ_5M', 'ERR_5M', 'P50_MS', 'TTFT_P50_MS'];
  const rows = views.map((view) => [
    view.name,
    view.plugin,
    view.models.join(',') || null,
    view.key_configured ? 'set' : 'missing',
    view.state,
    view.until ? `${view.until} (in ${Math.max(0, Math.ceil((Date.parse(view.until) - now) / 1000))}s)` : null,
    view.reason,
    view.in_flight,
    view.requests_5m,
    view.errors_5m,
    view.p50_latency_ms,
    view.p50_ttft_ms,
  ]);
  print(formatTable(headers, rows));
}
