/** A table of usage rows, newest first, with keyset paging: "Older" asks for rows before the last id shown. */
import { count, ms, usd, when } from '../format.ts';
import type { UsageRow } from '../types.ts';

export function UsageTable(props: { rows: UsageRow[]; keyName?: (id: string | null) => string }) {
  return (
    <div class="table-wrap">
      <table class="usage-table">
        <thead>
          <tr>
            <th>Time</th>
            {props.keyName && <th>Key</th>}
            <th>Model</th>
            <th>Provider</th>
            <th>Endpoint</th>
            <th>Status</th>
            <th class="num">Tokens in / out</th>
            <th class="num">Cost</th>
            <th class="num">Latency</th>
            <th class="num">TTFT</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr key={row.id} data-request-id={row.request_id}>
              <td class="nowrap" title={row.request_id}>
                {when(row.created_at)}
              </td>
              {props.keyName && <td>{props.keyName(row.key_id)}</td>}
              <td class="mono">{row.model ?? '—'}</td>
              <td>{row.provider ?? '—'}</td>
              <td>{row.endpoint}</td>
              <td>
                <span class={`status s${Math.floor(row.status / 100)}xx`}>{row.status}</span>
                {row.error_code && <span class="muted"> {row.error_code}</span>}
              </td>
              <td class="num">
                {count(row.prompt_tokens)} / {count(row.completion_tokens)}
              </td>
              <td class="num">{usd(row.cost_usd)}</td>
              <td class="num">{ms(row.latency_ms)}</td>
              <td class="num">{ms(row.ttft_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Newer/Older buttons over a stack of cursors (the ids each page started before). */
export function Pager(props: { cursors: (string | undefined)[]; next: string | null; onChange: (cursors: (string | undefined)[]) => void }) {
  const page = props.cursors.length;
  return (
    <div class="pager">
      <button type="button" disabled={page <= 1} onClick={() => props.onChange(props.cursors.slice(0, -1))}>
        ← Newer
      </button>
      <span class="muted">page {page}</span>
      <button type="button" disabled={props.next === null} onClick={() => props.onChange([...props.cursors, props.next ?? undefined])}>
        Older →
      </button>
    </div>
  );
}
