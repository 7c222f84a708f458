/** Operator overview: totals, error rate and medians over 24 h / 7 d / 30 d, spend per day by model, requests per hour. */
import { useState } from 'preact/hooks';
import { api, type Session } from '../api.ts';
import { Breakdown } from '../components/breakdown.tsx';
import { Chart } from '../components/chart.tsx';
import { curlLine, Empty, ErrorLine, REFRESH_MS, Stat, useData } from '../components/bits.tsx';
import { count, ms, percent, usd } from '../format.ts';
import type { Key, Overview as OverviewData } from '../types.ts';

const RANGES = [
  ['24h', 'Last 24 h'],
  ['7d', '7 days'],
  ['30d', '30 days'],
] as const;

const dayLabel = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10);
const hourLabel = (seconds: number) => `${new Date(seconds * 1000).toISOString().slice(0, 13).replace('T', ' ')}:00 UTC`;

function Charts(props: { data: OverviewData }) {
  const { spend_per_day: spend, requests_per_hour: perHour } = props.data;
  return (
    <div class="charts">
      <div class="card">
        <Chart
          title="Spend per day (UTC) by model"
          times={spend.days.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000)}
          series={spend.series.map((entry) => ({ label: entry.model, values: entry.cost_usd }))}
          format={usd}
          timeLabel={dayLabel}
          timeTitle="Day"
        />
        {spend.series.length === 0 && <p class="muted small">No spend in this range: priced calls appear here by model.</p>}
      </div>
      <div class="card">
        <Chart
          title="Requests per hour by status"
          times={perHour.hours.map((hour) => Date.parse(hour) / 1000)}
          series={perHour.series.map((entry) => ({ label: entry.status, values: entry.requests }))}
          format={count}
          timeLabel={hourLabel}
          timeTitle="Hour"
          integers
        />
      </div>
    </div>
  );
}

function FirstSteps(props: { keys: Key[] }) {
  if (props.keys.length === 0) {
    return (
      <Empty title="No keys yet">
        <p>Clients call the gateway with a gateway key. Create the first one, then send a request with it.</p>
        <a class="button primary" href="#/keys?create=1">
          Create a key
        </a>
      </Empty>
    );
  }
  return (
    <Empty title="No traffic yet">
      <p>Send a first request with one of your keys; it shows up here and on Usage within a few seconds:</p>
      <pre class="code">{curlLine()}</pre>
    </Empty>
  );
}

export function Overview(props: { session: Session }) {
  const [range, setRange] = useState<OverviewData['range']>('24h');
  const overview = useData(() => api<OverviewData>(props.session, `/admin/overview?range=${range}`), [range], REFRESH_MS);
  const keys = useData(() => api<{ data: Key[] }>(props.session, '/admin/keys'), [], REFRESH_MS);
  const data = overview.data;
  const totals = data?.totals;
  return (
    <section>
      <header class="page-head">
        <h1>Overview</h1>
        {/* biome-ignore lint/a11y/useSemanticElements: a segmented control of toggle buttons, not a form; a fieldset would bring form semantics */}
        <div class="segmented" role="group" aria-label="Range">
          {RANGES.map(([value, label]) => (
            <button type="button" key={value} aria-pressed={range === value} class={range === value ? 'active' : ''} onClick={() => setRange(value)}>
              {label}
            </button>
          ))}
        </div>
      </header>
      <ErrorLine error={overview.error ?? keys.error} />
      {totals && (
        <div class="stats">
          <Stat testid="stat-requests" label="Requests" value={count(totals.requests)} hint={`${count(totals.errors)} errors`} />
          <Stat testid="stat-spend" label="Spend" value={usd(totals.cost_usd)} />
          <Stat
            testid="stat-tokens"
            label="Tokens"
            value={count(totals.prompt_tokens + totals.completion_tokens)}
            hint={`${count(totals.prompt_tokens)} in · ${count(totals.completion_tokens)} out`}
          />
          <Stat testid="stat-error-rate" label="Error rate" value={percent(totals.error_rate)} />
          <Stat testid="stat-latency" label="p50 latency" value={ms(data.p50_latency_ms)} hint={`newest ${count(data.sample_rows)} requests`} />
          <Stat testid="stat-ttft" label="p50 time to first token" value={ms(data.p50_ttft_ms)} hint="streams only" />
        </div>
      )}
      {totals && totals.requests === 0 && keys.data && <FirstSteps keys={keys.data.data} />}
      {data && totals && totals.requests > 0 && <Charts data={data} />}
      {data && totals && totals.requests > 0 && <Breakdown data={data.breakdown} />}
      {!data && overview.loading && <p class="muted">Loading…</p>}
    </section>
  );
}
