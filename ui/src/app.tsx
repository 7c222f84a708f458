/** The shell: sign-in, the page named by the location hash (never a token), navigation and sign-out. */
import { useEffect, useState } from 'preact/hooks';
import { clearSession, loadSession, saveSession, setUnauthorizedHandler, type Session } from './api.ts';
import { Keys } from './pages/keys.tsx';
import { Overview } from './pages/overview.tsx';
import { Owner } from './pages/owner.tsx';
import { Providers } from './pages/providers.tsx';
import { SignIn } from './pages/sign-in.tsx';
import { Usage } from './pages/usage.tsx';

const OPERATOR_PAGES = [
  ['overview', 'Overview'],
  ['keys', 'Keys'],
  ['usage', 'Usage'],
  ['providers', 'Providers'],
] as const;

/** `#/keys?create=1` → { page: 'keys', params: create=1 }; never a token, only a page and its filters. */
function route(): { page: string; params: URLSearchParams } {
  const [page = '', search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { page, params: new URLSearchParams(search) };
}

function useRoute() {
  const [current, setCurrent] = useState(route());
  useEffect(() => {
    const update = () => setCurrent(route());
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return current;
}

function Page(props: { session: Session; page: string; params: URLSearchParams }) {
  const { session } = props;
  if (session.role === 'owner') return <Owner session={session} />;
  switch (props.page) {
    case 'keys':
      return <Keys session={session} createOnOpen={props.params.get('create') === '1'} />;
    case 'usage':
      // Keyed by its filters: a link to other filters starts the page afresh.
      return <Usage key={props.params.toString()} session={session} initial={props.params} />;
    case 'providers':
      return <Providers session={session} />;
    default:
      return <Overview session={session} />;
  }
}

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession());
  const [notice, setNotice] = useState<string | undefined>();
  const { page, params } = useRoute();
  const signOut = (message?: string) => {
    clearSession();
    setSession(null);
    setNotice(message);
  };
  setUnauthorizedHandler((message) => signOut(`Signed out: ${message}`));
  if (!session) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(next) => {
          saveSession(next);
          setNotice(undefined);
          setSession(next);
        }}
      />
    );
  }
  const active = OPERATOR_PAGES.some(([id]) => id === page) ? page : 'overview';
  return (
    <div class="shell">
      <nav class="top">
        <span class="brand">Switchyard</span>
        {session.role === 'operator' ? (
          OPERATOR_PAGES.map(([id, label]) => (
            <a key={id} href={`#/${id}`} class={active === id ? 'active' : ''} aria-current={active === id ? 'page' : undefined}>
              {label}
            </a>
          ))
        ) : (
          <span class="muted">Key owner</span>
        )}
        <span class="spacer" />
        <span class="muted small">{session.role === 'operator' ? 'Operator' : 'Signed in with a gateway key'}</span>
        <button type="button" onClick={() => signOut()}>
          Sign out
        </button>
      </nav>
      <main class="content">
        <Page session={session} page={active} params={params} />
      </main>
    </div>
  );
}
