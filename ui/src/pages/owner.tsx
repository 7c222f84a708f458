/** A key owner's page: balance, budget left and its reset, trial left, spend per day, the latest requests. */
import { useState } from 'preact/hooks';
import { api, query, type Session } from '../api.ts';
import { Chart } from '../components/chart.tsx';
import { curlLine, Empty, ErrorLine, REFRESH_MS, Stat, useData } from '../components/bits.tsx';
import { Pager, UsageTable } from '../components/usage-table.tsx';
import { count, day, usd, when } from '../format.ts';
import type { OwnUsage, SpendPerDay, UsagePage } from '../types.ts';

function budgetLeft(usage: OwnUsage): { value: string; hint?: string } {
  if (usage.budget_usd === null) return { value: 'no budget' };
  const left = Math.max(0, usage.budget_usd - (usage.budget_spent_usd ?? 0));
  return {
    value: usd(left),
    hint: `of ${usd(usage.budget_usd)} a ${usage.budget_period ?? 'month'}${usage.budget_resets_at ? `, resets ${when(usage.budget_resets_at)}` : ''}`,
  };
}

export function Owner(props: { session: Session }) {
  const usage = useData(() => api<OwnUsage>(props.session, '/v1/usage'), [], REFRESH_MS);
  const daily = useData(() => api<SpendPerDay>(props.session, '/v1/usage/daily?days=30'), []);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const before = cursors[cursors.length - 1];
  const page = useData(
    () => api<UsagePage>(props.session, `/v1/usage/requests${query({ before, limit: 20 })}`),
    [before],
    before === undefined ? REFRESH_MS : undefined,
  );
  const own = usage.data;
  const budget = own && budgetLeft(own);
  return (
    <section>
      <header class="page-head">
        <h1>{own ? own.name : 'Your key'}</h1>
        {own?.expires_at && <span class="muted">expires {day(own.expires_at)}</span>}
      </header>
      <ErrorLine error={usage.error ?? daily.error ?? page.error} />
      {own && budget && (
        <div class="stats">
          <Stat testid="owner-balance" label="Balance" value={own.balance_usd === null ? 'unmetered' : usd(own.balance_usd)} />
          <Stat testid="owner-budget" label="Budget left" value={budget.value} hint={budget.hint} />
          <Stat
            testid="owner-trial"
            label="Trial tokens left"
            value={own.trial_tokens_remaining === null ? 'not a trial' : count(own.trial_tokens_remaining)}
          />
          <Stat testid="owner-spend" label="Spent so far" value={usd(own.cost_usd)} hint={`${count(own.requests)} requests`} />
        </div>
      )}
      {daily.data && daily.data.series.length > 0 && (
        <div class="card">
          <Chart
            title="Your spend per day (UTC) by model"
            times={daily.data.days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000)}
            series={daily.data.series.map((entry) => ({ label: entry.model, values: entry.cost_usd }))}
            format={usd}
            timeLabel={(seconds) => new Date(seconds * 1000).toISOString().slice(0, 10)}
            timeTitle="Day"
          />
        </div>
      )}
      <h2>Latest requests</h2>
      {page.data && page.data.data.length === 0 && cursors.length === 1 && (
        <Empty title="No requests with this key yet">
          <p>Point any OpenAI client at {location.origin}/v1 with this key, or try:</p>
          <pre class="code">{curlLine()}</pre>
        </Empty>
      )}
      {page.data && page.data.data.length > 0 && <UsageTable rows={page.data.data} />}
      {page.data && (page.data.data.length > 0 || cursors.length > 1) && <Pager cursors={cursors} next={page.data.next_before} onChange={setCursors} />}
    </section>
  );
}
