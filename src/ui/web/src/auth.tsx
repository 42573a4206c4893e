import { createContext, useCallback, useContext, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { api, ApiError, storedToken, storeToken } from './api.js';
import type { Who } from './types.js';

// Token sign-in for actions (cancel). The token is checked against GET /whoami and kept in
// sessionStorage: it goes when the tab closes, and no other site can read it.

interface Auth {
  who: Who | undefined;
  /** bumped by each sign-in and sign-out (not by the first look-up): pages reload their data on it */
  session: number;
  signIn(token: string): Promise<string | undefined>;
  signOut(): void;
}

const AuthContext = createContext<Auth>({ who: undefined, session: 0, signIn: async () => 'not ready', signOut: () => {} });

export function AuthProvider(props: { children: ReactNode }) {
  const [who, setWho] = useState<Who | undefined>();
  const [session, setSession] = useState(0);
  useEffect(() => {
    // Without a stored token this tells whether the server takes calls without one (no tokens yet).
    api<Who>('/api/v1/whoami').then(setWho, () => {
      if (storedToken()) storeToken(undefined);
      setWho(undefined);
    });
  }, []);
  const signIn = useCallback(async (token: string) => {
    try {
      const w = await api<Who>('/api/v1/whoami', { token });
      storeToken(token);
      setWho(w);
      setSession((n) => n + 1);
      return undefined;
    } catch (e: unknown) {
      return e instanceof ApiError ? e.message : String(e);
    }
  }, []);
  const signOut = useCallback(() => {
    storeToken(undefined);
    setWho(undefined);
    setSession((n) => n + 1);
  }, []);
  return <AuthContext.Provider value={{ who, session, signIn, signOut }}>{props.children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  return useContext(AuthContext);
}

export function SignIn() {
  const { who, signIn, signOut } = useAuth();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  if (who?.name && (who.tokens || storedToken())) {
    return (
      <div className="signin">
        <span>
          signed in as <strong>{who.name}</strong> ({who.role})
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </div>
    );
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const why = await signIn(token.trim());
    setBusy(false);
    setError(why);
    if (!why) setToken('');
  };
  return (
    <form className="signin" onSubmit={submit} aria-label="Sign in with an API token">
      <label htmlFor="token">Token</label>
      <input id="token" type="password" autoComplete="off" spellCheck={false} placeholder="weld_…" value={token} onChange={(e) => setToken(e.target.value)} aria-describedby={error ? 'token-error' : undefined} />
      <button type="submit" disabled={busy || !token.trim()}>
        Sign in
      </button>
      {who?.name && !who.tokens ? <span className="muted">(this server needs no token yet)</span> : null}
      {error ? (
        <span id="token-error" role="alert" className="error-text">
          {error}
        </span>
      ) : null}
    </form>
  );
}
