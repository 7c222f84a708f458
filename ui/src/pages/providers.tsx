/** Operator providers: each entry's plugin, models, whether its key is set, cooldowns, load and its last five minutes. */
import { api, type Session } from '../api.ts';
import { Empty, ErrorLine, REFRESH_MS, useData } from '../components/bits.tsx';
import { count, ms, when } from '../format.ts';
import type { Provider } from '../types.ts';

const REASONS = { failures: 'after failures', rate_limited: 'rate limited upstream', auth: 'upstream refused its key' };

/** A plugin that needs no key (a local OpenAI-compatible server) is not "missing" one. */
const needsKey = (p: Provider) => p.plugin !== 'openai-compatible';

function State(props: { p: Provider }) {
  const { p } = props;
  // A missing key is the cause to fix first, whatever cooldown it led to.
  if (!p.key_configured && needsKey(p)) return <span class="badge bad">no key</span>;
  if (p.state === 'cooling') {
    return (
      <span>
        <span class="badge warn">cooling</span>
        <span class="muted small block">
          {p.reason ? REASONS[p.reason] : ''} until {p.until ? when(p.until) : '—'}
        </span>
      </span>
    );
  }
  return <span class="badge ok">ok</span>;
}

function ProviderRow(props: { p: Provider }) {
  const { p } = props;
  return (
    <tr data-provider={p.name}>
      <td>{p.name}</td>
      <td>{p.plugin}</td>
      <td class="mono small">{p.models.join(', ') || '—'}</td>
      <td>{p.key_configured ? 'set' : <span class="muted">{needsKey(p) ? 'missing' : 'not set (optional)'}</span>}</td>
      <td>
        <State p={p} />
      </td>
      <td class="num">{count(p.in_flight)}</td>
      <td class="num">{count(p.requests_5m)}</td>
      <td class="num">{count(p.errors_5m)}</td>
      <td class="num">{ms(p.p50_latency_ms)}</td>
      <td class="num">{ms(p.p50_ttft_ms)}</td>
    </tr>
  );
}

const COLUMNS = ['Entry', 'Plugin', 'Models', 'Key', 'State'];
const NUMBER_COLUMNS = ['In flight', 'Requests (5 min)', 'Errors (5 min)', 'p50 latency', 'p50 TTFT'];

function ProviderTable(props: { list: Provider[] }) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            {COLUMNS.map((name) => (
              <th key={name}>{name}</th>
            ))}
            {NUMBER_COLUMNS.map((name) => (
              <th key={name} class="num">
                {name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.list.map((p) => (
            <ProviderRow key={p.name} p={p} />
          ))}
        </tbody>
      </table>
      {props.list.some((p) => !p.key_configured && needsKey(p)) && (
        <p class="muted small">
          An entry without its key answers 503 provider_not_configured: put the key in <code>.env</code> (HUG_API_KEY for Hugging Face, OPENAI_API_KEY for
          OpenAI) and restart.
        </p>
      )}
    </div>
  );
}

export function Providers(props: { session: Session }) {
  const providers = useData(() => api<{ data: Provider[] }>(props.session, '/admin/providers'), [], REFRESH_MS);
  const list = providers.data?.data ?? [];
  return (
    <section>
      <header class="page-head">
        <h1>Providers</h1>
        <button type="button" onClick={providers.reload}>
          Refresh
        </button>
      </header>
      <ErrorLine error={providers.error} />
      {providers.data && list.length === 0 && (
        <Empty title="No providers configured">
          <p>
            Add an entry under <code>providers:</code> in <code>config/gateway.yaml</code> and restart the gateway.
          </p>
        </Empty>
      )}
      {list.length > 0 && <ProviderTable list={list} />}
    </section>
  );
}
