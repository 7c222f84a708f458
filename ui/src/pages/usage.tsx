/** Operator usage: filters by key, model, provider, status and dates; newest first, paged by keyset; CSV export. */
import { useState } from 'preact/hooks';
import { api, query, request, type Session } from '../api.ts';
import { curlLine, Empty, ErrorLine, REFRESH_MS, useData } from '../components/bits.tsx';
import { Pager, UsageTable } from '../components/usage-table.tsx';
import type { Key, UsagePage } from '../types.ts';

interface Filters {
  key_id: string;
  model: string;
  provider: string;
  status: string;
  since: string;
  until: string;
}

const NONE: Filters = { key_id: '', model: '', provider: '', status: '', since: '', until: '' };
const STATUSES = [
  ['', 'any status'],
  ['2xx', '2xx answered'],
  ['error', 'errors (4xx and 5xx)'],
  ['4xx', '4xx refused'],
  ['5xx', '5xx failed'],
  ['429', '429 rate limited'],
];

/** Fetches the CSV with the token in a header, then saves it from memory: no token ever goes into a link. */
async function exportCsv(session: Session, filters: Filters): Promise<void> {
  const response = await request(session.token, `/admin/usage/export${query({ ...filters })}`);
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'usage.csv';
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Select(props: { name: keyof Filters; label: string; filters: Filters; set: (filters: Filters) => void; options: (readonly [string, string])[] }) {
  // A filter set by a link may arrive before the choices load: its option must exist for the select to show it.
  const current = props.filters[props.name];
  const options = current && !props.options.some(([value]) => value === current) ? [...props.options, [current, current] as const] : props.options;
  return (
    <label>
      {props.label}
      <select
        name={props.name}
        value={props.filters[props.name]}
        onChange={(event) => props.set({ ...props.filters, [props.name]: event.currentTarget.value })}
      >
        {options.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </label>
  );
}

function FilterBar(props: { filters: Filters; set: (filters: Filters) => void; keys: Key[]; facets: { models: string[]; providers: string[] } }) {
  const { filters, set } = props;
  return (
    <form class="filters" onSubmit={(event) => event.preventDefault()}>
      <Select
        name="key_id"
        label="Key"
        filters={filters}
        set={set}
        options={[['', 'all keys'], ...props.keys.map((k) => [k.id, `${k.name} (${k.prefix})`] as const)]}
      />
      <Select name="model" label="Model" filters={filters} set={set} options={[['', 'all models'], ...props.facets.models.map((m) => [m, m] as const)]} />
      <Select
        name="provider"
        label="Provider"
        filters={filters}
        set={set}
        options={[['', 'all providers'], ...props.facets.providers.map((p) => [p, p] as const)]}
      />
      <Select name="status" label="Status" filters={filters} set={set} options={STATUSES.map(([value, label]) => [value, label] as const)} />
      <label>
        From (UTC)
        <input name="since" type="date" value={filters.since} onInput={(event) => set({ ...filters, since: event.currentTarget.value })} />
      </label>
      <label>
        Through (UTC)
        <input name="until" type="date" value={filters.until} onInput={(event) => set({ ...filters, until: event.currentTarget.value })} />
      </label>
      <button type="button" onClick={() => set(NONE)} disabled={JSON.stringify(filters) === JSON.stringify(NONE)}>
        Clear
      </button>
    </form>
  );
}

/** Filters named in the page's link (`#/usage?model=…`), e.g. from the overview's tables. */
function initialFilters(params?: URLSearchParams): Filters {
  const filters = { ...NONE };
  for (const name of Object.keys(NONE) as (keyof Filters)[]) filters[name] = params?.get(name) ?? '';
  return filters;
}

export function Usage(props: { session: Session; initial?: URLSearchParams }) {
  const [filters, setFiltersState] = useState<Filters>(() => initialFilters(props.initial));
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [exportError, setExportError] = useState<unknown>();
  const setFilters = (next: Filters) => {
    setFiltersState(next);
    setCursors([undefined]);
  };
  const before = cursors[cursors.length - 1];
  // The newest page follows new traffic; an older page stays put while it is read.
  const page = useData(
    () => api<UsagePage>(props.session, `/admin/usage/rows${query({ ...filters, before, limit: 50 })}`),
    [JSON.stringify(filters), before],
    before === undefined ? REFRESH_MS : undefined,
  );
  const keys = useData(() => api<{ data: Key[] }>(props.session, '/admin/keys'), []);
  const facets = useData(() => api<{ models: string[]; providers: string[] }>(props.session, '/admin/usage/facets'), []);
  const names = new Map((keys.data?.data ?? []).map((k) => [k.id, k.name]));
  const keyName = (id: string | null) => (id === null ? '—' : (names.get(id) ?? id));
  const filtered = JSON.stringify(filters) !== JSON.stringify(NONE);
  const rows = page.data?.data ?? [];
  const exportNow = () => exportCsv(props.session, filters).then(() => setExportError(undefined), setExportError);
  return (
    <section>
      <header class="page-head">
        <h1>Usage</h1>
        <button type="button" onClick={exportNow} disabled={rows.length === 0}>
          Export CSV
        </button>
      </header>
      <FilterBar filters={filters} set={setFilters} keys={keys.data?.data ?? []} facets={facets.data ?? { models: [], providers: [] }} />
      <ErrorLine error={page.error ?? exportError} />
      {page.data &&
        rows.length === 0 &&
        (filtered ? (
          <Empty title="No requests match these filters">Clear a filter or widen the dates.</Empty>
        ) : (
          <Empty title="No requests yet">
            <p>Every call through the gateway lands here, newest first, refused ones too. Try one with a key from the Keys page:</p>
            <pre class="code">{curlLine()}</pre>
          </Empty>
        ))}
      {rows.length > 0 && <UsageTable rows={rows} keyName={keyName} />}
      {(rows.length > 0 || cursors.length > 1) && <Pager cursors={cursors} next={page.data?.next_before ?? null} onChange={setCursors} />}
    </section>
  );
}
