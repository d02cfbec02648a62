import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, refreshSession, setAccessToken, setSessionExpiredHandler, type Schemas } from './api/client';
import { currentRoute, navigate } from './router';

type Me = Schemas['Me'];
type SignInResult = { kind: 'signed_in' } | { kind: 'mfa_required'; challengeId: string };

interface Session {
  me: Me | null;
  /** True until the first refresh attempt (a reload restores the session from the cookie). */
  restoring: boolean;
  signIn(email: string, password: string): Promise<SignInResult>;
  completeMfa(challengeId: string, code: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** Sends the browser to sign-in, remembering the page it was on. */
function toSignIn(expired: boolean) {
  const here = currentRoute();
  if (here.startsWith('/login')) return;
  const next = here === '/' ? '' : `next=${encodeURIComponent(here)}`;
  navigate(`/login?${[next, expired ? 'expired=1' : ''].filter(Boolean).join('&')}`, { replace: true });
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [restoring, setRestoring] = useState(true);

  const loadMe = async () => setMe((await api.get('/api/v1/auth/me')).data);

  useEffect(() => {
    setSessionExpiredHandler(() => {
      setMe(null);
      toSignIn(true);
    });
    void (async () => {
      if (await refreshSession()) await loadMe().catch(() => undefined);
      setRestoring(false);
    })();
  }, []);

  const session: Session = {
    me,
    restoring,
    async signIn(email, password) {
      const { data } = await api.post('/api/v1/auth/session/login', {
        body: { email, password },
        headers: { 'x-bazaar-csrf': '1' },
      });
      if ('mfa_required' in data) return { kind: 'mfa_required', challengeId: data.challenge_id };
      setAccessToken(data.access_token);
      await loadMe();
      return { kind: 'signed_in' };
    },
    async completeMfa(challengeId, code) {
      const { data } = await api.post('/api/v1/auth/session/login/mfa', {
        body: { challenge_id: challengeId, code },
        headers: { 'x-bazaar-csrf': '1' },
      });
      setAccessToken(data.access_token);
      await loadMe();
    },
    async signOut() {
      await api
        .post('/api/v1/auth/session/logout', { headers: { 'x-bazaar-csrf': '1' } })
        .catch(() => undefined);
      setAccessToken(null);
      setMe(null);
      navigate('/login', { replace: true });
    },
  };
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function requireSignIn() {
  toSignIn(false);
}
