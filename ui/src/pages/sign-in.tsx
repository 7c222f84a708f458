/** The sign-in form: one field for the admin token (operator) or a gateway key (its owner). */
import { useState } from 'preact/hooks';
import { signIn, type Session } from '../api.ts';
import { ErrorLine } from '../components/bits.tsx';

export function SignIn(props: { onSignedIn: (session: Session) => void; notice?: string }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(props.notice ? new Error(props.notice) : undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      props.onSignedIn(await signIn(token));
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <form class="card" onSubmit={submit} method="post" action="#">
        <h1>Switchyard</h1>
        <p class="muted">Sign in with the gateway's admin token to run it, or with your own gateway key (sk-sy-…) to see what it spends.</p>
        <label>
          Admin token or gateway key
          <input
            name="token"
            type="password"
            autocomplete="off"
            spellcheck={false}
            value={token}
            onInput={(event) => setToken(event.currentTarget.value)}
            required
          />
        </label>
        <ErrorLine error={error} />
        <button class="primary" type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p class="muted small">
          The admin token is the <code>ADMIN_TOKEN</code> in the gateway's <code>.env</code>. It is kept in this tab only and forgotten when you sign out or
          close the tab.
        </p>
      </form>
    </main>
  );
}
