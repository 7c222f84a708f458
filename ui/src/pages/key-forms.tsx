/** The forms of the Keys page: create (then the secret, once), top up, edit limits, revoke. */
import { useRef, useState } from 'preact/hooks';
import { api, type Session } from '../api.ts';
import { CopyButton, ErrorLine, Modal } from '../components/bits.tsx';
import { usd } from '../format.ts';
import type { Key } from '../types.ts';

type Fields = Record<string, string>;

const num = (text: string | undefined) => (text === undefined || text.trim() === '' ? undefined : Number(text));
const list = (text: string | undefined) =>
  text?.trim()
    ? text
        .split(',')
        .map((glob) => glob.trim())
        .filter(Boolean)
    : undefined;

/** Only the fields filled in: the gateway applies its defaults to the rest. */
function createBody(fields: Fields): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: fields.name,
    credits_usd: num(fields.credits_usd),
    trial_tokens: num(fields.trial_tokens),
    rpm: num(fields.rpm),
    tpm: num(fields.tpm),
    models: list(fields.models),
    budget_usd: num(fields.budget_usd),
    budget_period: fields.budget_usd?.trim() ? fields.budget_period || undefined : undefined,
    expires_at: fields.expires?.trim() || undefined,
  };
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
}

function Field(props: {
  name: string;
  label: string;
  fields: Fields;
  set: (fields: Fields) => void;
  type?: 'text' | 'number';
  placeholder?: string;
  hint?: string;
  required?: boolean;
}) {
  return (
    <label>
      {props.label}
      <input
        name={props.name}
        type={(props.type ?? 'text') as 'text'}
        step={props.type === 'number' ? 'any' : undefined}
        min={props.type === 'number' ? '0' : undefined}
        placeholder={props.placeholder}
        required={props.required}
        value={props.fields[props.name] ?? ''}
        onInput={(event) => props.set({ ...props.fields, [props.name]: event.currentTarget.value })}
      />
      {props.hint && <span class="hint">{props.hint}</span>}
    </label>
  );
}

function LimitFields(props: { fields: Fields; set: (fields: Fields) => void }) {
  const { fields, set } = props;
  return (
    <>
      <div class="grid2">
        <Field name="rpm" label="Requests per minute" type="number" fields={fields} set={set} placeholder="gateway default" />
        <Field name="tpm" label="Tokens per minute" type="number" fields={fields} set={set} placeholder="no limit" />
      </div>
      <Field name="models" label="Models" fields={fields} set={set} placeholder="any model" hint="Comma-separated globs, e.g. meta-llama/*, gpt-4o*" />
      <div class="grid2">
        <Field name="budget_usd" label="Budget (USD)" type="number" fields={fields} set={set} placeholder="no budget" />
        <label>
          Budget period
          <select
            name="budget_period"
            value={fields.budget_period ?? 'month'}
            onChange={(event) => set({ ...fields, budget_period: event.currentTarget.value })}
          >
            <option value="day">day</option>
            <option value="week">week</option>
            <option value="month">month</option>
          </select>
        </label>
      </div>
      <Field
        name="expires"
        label="Expires"
        fields={fields}
        set={set}
        placeholder="never"
        hint="A date (2027-01-31: works through that UTC day) or a duration such as 30d"
      />
    </>
  );
}

export function CreateKey(props: { session: Session; onDone: () => void; onClose: () => void }) {
  const [fields, set] = useState<Fields>({ budget_period: 'month' });
  const [created, setCreated] = useState<(Key & { key: string }) | undefined>();
  const secretRef = useRef<HTMLElement>(null);
  const [error, setError] = useState<unknown>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      setCreated(await api<Key & { key: string }>(props.session, '/admin/keys', { method: 'POST', body: JSON.stringify(createBody(fields)) }));
      props.onDone();
    } catch (failure) {
      setError(failure);
    }
  };
  if (created) {
    return (
      <Modal title="Key created" onClose={props.onClose}>
        <p>
          Copy the key for <strong>{created.name}</strong> now. It is shown only this once: the gateway keeps only its hash.
        </p>
        <div class="secret">
          <code data-testid="new-secret" ref={secretRef}>
            {created.key}
          </code>
          <CopyButton text={created.key} target={() => secretRef.current} />
        </div>
        <div class="actions">
          <button class="primary" type="button" onClick={props.onClose}>
            I have stored it
          </button>
        </div>
      </Modal>
    );
  }
  return (
    <Modal title="Create a key" onClose={props.onClose}>
      <form onSubmit={submit}>
        <Field name="name" label="Name" fields={fields} set={set} required placeholder="team-a, alice, staging…" />
        <div class="grid2">
          <Field
            name="credits_usd"
            label="Credits (USD)"
            type="number"
            fields={fields}
            set={set}
            placeholder="unmetered"
            hint="Prepaid balance; empty: not limited by credits"
          />
          <Field name="trial_tokens" label="Trial tokens" type="number" fields={fields} set={set} placeholder="not a trial" />
        </div>
        <LimitFields fields={fields} set={set} />
        <ErrorLine error={error} />
        <SubmitActions label="Create key" onCancel={props.onClose} />
      </form>
    </Modal>
  );
}

export function TopUp(props: { session: Session; target: Key; onDone: () => void; onClose: () => void }) {
  const [amount, setAmount] = useState('');
  const [error, setError] = useState<unknown>();
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      await api(props.session, `/admin/keys/${encodeURIComponent(props.target.id)}/credits`, {
        method: 'POST',
        body: JSON.stringify({ credits_usd: Number(amount) }),
      });
      props.onDone();
      props.onClose();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <Modal title={`Top up ${props.target.name}`} onClose={props.onClose}>
      <form onSubmit={submit}>
        <p class="muted">Balance now: {props.target.balance_usd === null ? 'unmetered (topping up makes it metered)' : usd(props.target.balance_usd)}</p>
        <label>
          Add (USD)
          <input name="amount" type="number" step="any" min="0.000001" required value={amount} onInput={(event) => setAmount(event.currentTarget.value)} />
        </label>
        <ErrorLine error={error} />
        <SubmitActions label="Add credits" onCancel={props.onClose} />
      </form>
    </Modal>
  );
}

/** Every limit field is sent: an emptied one removes that limit (null). */
function patchBody(fields: Fields): Record<string, unknown> {
  return {
    name: fields.name,
    rpm: num(fields.rpm) ?? null,
    tpm: num(fields.tpm) ?? null,
    models: list(fields.models) ?? null,
    budget_usd: num(fields.budget_usd) ?? null,
    budget_period: fields.budget_period || 'month',
    expires_at: fields.expires?.trim() || null,
  };
}

function fieldsOf(key: Key): Fields {
  const text = (value: unknown) => (value === null || value === undefined ? '' : String(value));
  return {
    name: key.name,
    rpm: text(key.rpm),
    tpm: text(key.tpm),
    models: key.models?.join(', ') ?? '',
    budget_usd: text(key.budget_usd),
    budget_period: key.budget_period ?? 'month',
    // The exact instant, so saving other changes leaves the expiry where it was.
    expires: key.expires_at ?? '',
  };
}

export function EditKey(props: { session: Session; target: Key; onDone: () => void; onClose: () => void }) {
  const [fields, set] = useState<Fields>(fieldsOf(props.target));
  const [error, setError] = useState<unknown>();
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      await api(props.session, `/admin/keys/${encodeURIComponent(props.target.id)}`, { method: 'PATCH', body: JSON.stringify(patchBody(fields)) });
      props.onDone();
      props.onClose();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <Modal title={`Edit ${props.target.name}`} onClose={props.onClose}>
      <form onSubmit={submit}>
        <Field name="name" label="Name" fields={fields} set={set} required />
        <LimitFields fields={fields} set={set} />
        <p class="muted small">Every gateway instance applies the change within 10 seconds.</p>
        <ErrorLine error={error} />
        <SubmitActions label="Save" onCancel={props.onClose} />
      </form>
    </Modal>
  );
}

export function RevokeKey(props: { session: Session; target: Key; onDone: () => void; onClose: () => void }) {
  const [error, setError] = useState<unknown>();
  const revoke = async () => {
    try {
      await api(props.session, `/admin/keys/${encodeURIComponent(props.target.id)}`, { method: 'DELETE' });
      props.onDone();
      props.onClose();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <Modal title={`Revoke ${props.target.name}?`} onClose={props.onClose}>
      <p>
        Calls with <code>{props.target.prefix}</code> will be refused with 401 from now on. Its usage stays on record. This cannot be undone.
      </p>
      <ErrorLine error={error} />
      <div class="actions">
        <button type="button" onClick={props.onClose}>
          Cancel
        </button>
        <button class="danger" type="button" onClick={revoke}>
          Revoke key
        </button>
      </div>
    </Modal>
  );
}

/** A form's footer: Cancel closes the dialog, the primary button submits the form. */
function SubmitActions(props: { label: string; onCancel: () => void }) {
  return (
    <div class="actions">
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
      <button class="primary" type="submit">
        {props.label}
      </button>
    </div>
  );
}
