/** Operator keys: balances, trial, budget and what is left, limits, expiry, last use; create, top up, edit, revoke. */
import { useState } from 'preact/hooks';
import { api, type Session } from '../api.ts';
import { Empty, ErrorLine, useData } from '../components/bits.tsx';
import { ago, count, day, usd, when } from '../format.ts';
import type { Key } from '../types.ts';
import { CreateKey, EditKey, RevokeKey, TopUp } from './key-forms.tsx';

type Dialog = { kind: 'create' } | { kind: 'top-up' | 'edit' | 'revoke'; key: Key } | undefined;

function Budget(props: { k: Key }) {
  const { budget_usd: budget, budget_spent_usd: spent, budget_period: period, budget_resets_at: resets } = props.k;
  if (budget === null) return <span class="muted">none</span>;
  const left = Math.max(0, budget - (spent ?? 0));
  return (
    <span title={resets ? `resets ${resets}` : undefined}>
      {usd(left)} left of {usd(budget)}/{period ?? 'month'}
      {resets && <span class="muted small block">resets {day(resets)}</span>}
    </span>
  );
}

/** The gateway stores the first instant a key stops working; a date given as "2027-01-31" is the midnight after it. */
function expiry(key: Key): string {
  if (!key.expires_at) return 'never';
  const at = Date.parse(key.expires_at);
  if (at <= Date.now()) return `expired ${when(key.expires_at)}`;
  return key.expires_at.endsWith('T00:00:00.000Z') ? `through ${day(new Date(at - 1).toISOString())}` : `until ${when(key.expires_at)}`;
}

function KeyRow(props: { k: Key; open: (dialog: Dialog) => void }) {
  const { k } = props;
  return (
    <tr data-key-id={k.id} class={k.revoked ? 'revoked' : ''}>
      <td>
        <div class="key-name">{k.name}</div>
        <code class="muted small">{k.prefix}</code>
      </td>
      <td class="num">{k.balance_usd === null ? <span class="muted">unmetered</span> : usd(k.balance_usd)}</td>
      <td class="num">{k.trial_tokens_remaining === null ? <span class="muted">—</span> : count(k.trial_tokens_remaining)}</td>
      <td>
        <Budget k={k} />
      </td>
      <td class="nowrap">
        {k.rpm === null ? 'default' : count(k.rpm)} rpm · {k.tpm === null ? 'no' : count(k.tpm)} tpm
      </td>
      <td class="mono small">{k.models?.join(', ') ?? <span class="muted">any</span>}</td>
      <td class="nowrap">{expiry(k)}</td>
      <td class="nowrap">{'last_used_at' in k ? ago(k.last_used_at) : '—'}</td>
      <td>{k.revoked ? <span class="badge bad">revoked</span> : <span class="badge ok">active</span>}</td>
      <td class="row-actions">
        {!k.revoked && (
          <>
            <button type="button" onClick={() => props.open({ kind: 'top-up', key: k })}>
              Top up
            </button>
            <button type="button" onClick={() => props.open({ kind: 'edit', key: k })}>
              Edit
            </button>
            <button type="button" class="danger-text" onClick={() => props.open({ kind: 'revoke', key: k })}>
              Revoke
            </button>
          </>
        )}
      </td>
    </tr>
  );
}

const HEADINGS: [string, string?][] = [
  ['Name'],
  ['Balance', 'num'],
  ['Trial tokens left', 'num'],
  ['Budget'],
  ['Limits'],
  ['Models'],
  ['Expires'],
  ['Last used'],
  ['Status'],
  [''],
];

/** Newest key first. */
function KeyTable(props: { list: Key[]; open: (dialog: Dialog) => void }) {
  return (
    <div class="table-wrap">
      <table class="keys-table">
        <thead>
          <tr>
            {HEADINGS.map(([name, cls]) => (
              <th key={name} class={cls}>
                {name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {[...props.list].reverse().map((k) => (
            <KeyRow key={k.id} k={k} open={props.open} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Keys(props: { session: Session; createOnOpen?: boolean }) {
  const keys = useData(() => api<{ data: Key[] }>(props.session, '/admin/keys'), []);
  const [dialog, setDialog] = useState<Dialog>(props.createOnOpen ? { kind: 'create' } : undefined);
  const close = () => {
    // `#/keys?create=1` (the overview's "Create a key") opens the form once; a reload must not open it again.
    if (location.hash.includes('?')) history.replaceState(null, '', '#/keys');
    setDialog(undefined);
  };
  const list = keys.data?.data ?? [];
  return (
    <section>
      <header class="page-head">
        <h1>Keys</h1>
        <button class="primary" type="button" onClick={() => setDialog({ kind: 'create' })}>
          Create key
        </button>
      </header>
      <ErrorLine error={keys.error} />
      {keys.data && list.length === 0 && (
        <Empty title="No keys yet">
          <p>A gateway key lets a client call /v1. Give it credits to meter it, a trial allowance, limits or a budget — or none of them.</p>
          <button class="primary" type="button" onClick={() => setDialog({ kind: 'create' })}>
            Create the first key
          </button>
        </Empty>
      )}
      {list.length > 0 && <KeyTable list={list} open={setDialog} />}
      {dialog?.kind === 'create' && <CreateKey session={props.session} onDone={keys.reload} onClose={close} />}
      {dialog?.kind === 'top-up' && <TopUp session={props.session} target={dialog.key} onDone={keys.reload} onClose={close} />}
      {dialog?.kind === 'edit' && <EditKey session={props.session} target={dialog.key} onDone={keys.reload} onClose={close} />}
      {dialog?.kind === 'revoke' && <RevokeKey session={props.session} target={dialog.key} onDone={keys.reload} onClose={close} />}
    </section>
  );
}
