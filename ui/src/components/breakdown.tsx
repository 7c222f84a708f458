/** The overview's two tables: which keys spend what, and how each model does (errors, speed, spend). */
import { count, ms, percent, usd } from '../format.ts';
import type { Breakdown as BreakdownData, BreakdownRow } from '../types.ts';

/** A link to the Usage page with one filter set. */
function usageLink(name: string, value: string): string {
  return `#/usage?${new URLSearchParams({ [name]: value })}`;
}

function Numbers(props: { row: BreakdownRow; ttft?: boolean }) {
  const { row } = props;
  return (
    <>
      <td class="num">{count(row.requests)}</td>
      <td class="num">{row.requests ? percent(row.errors / row.requests) : '—'}</td>
      <td class="num">{ms(row.avg_latency_ms)}</td>
      {props.ttft && <td class="num">{ms(row.avg_ttft_ms)}</td>}
      <td class="num">{usd(row.cost_usd)}</td>
    </>
  );
}

function KeysTable(props: { rows: BreakdownData['by_key'] }) {
  return (
    <table data-testid="keys-by-spend">
      <thead>
        <tr>
          <th>Key</th>
          <th class="num">Requests</th>
          <th class="num">Errors</th>
          <th class="num">Avg latency</th>
          <th class="num">Spend</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr key={row.key_id ?? ''}>
            <td>{row.key_id ? <a href={usageLink('key_id', row.key_id)}>{row.name ?? row.key_id}</a> : <span class="muted">no key (refused)</span>}</td>
            <Numbers row={row} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ModelsTable(props: { rows: BreakdownData['by_model'] }) {
  return (
    <table data-testid="models">
      <thead>
        <tr>
          <th>Model</th>
          <th class="num">Requests</th>
          <th class="num">Errors</th>
          <th class="num">Avg latency</th>
          <th class="num">Avg TTFT</th>
          <th class="num">Spend</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr key={row.model ?? ''}>
            <td class="mono small">{row.model ? <a href={usageLink('model', row.model)}>{row.model}</a> : <span class="muted">none</span>}</td>
            <Numbers row={row} ttft />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Breakdown(props: { data: BreakdownData }) {
  const since = `since ${props.data.since_day} (UTC days)`;
  return (
    <div class="charts breakdown">
      <div class="card flush">
        <h3>Keys by spend, {since}</h3>
        <KeysTable rows={props.data.by_key} />
      </div>
      <div class="card flush">
        <h3>Models, {since}</h3>
        <ModelsTable rows={props.data.by_model} />
      </div>
    </div>
  );
}
