import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/client';
import { useSession } from '../auth';
import { navigate, useRoute } from '../router';
import { Field, messageOf, formText } from '../ui';

export function LoginPage() {
  const session = useSession();
  const { query } = useRoute();
  const [challenge, setChallenge] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const next = query.get('next');
  const done = () =>
    navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      if (challenge) {
        await session.completeMfa(challenge, formText(form, 'code'));
        done();
      } else {
        const result = await session.signIn(formText(form, 'email'), formText(form, 'password'));
        if (result.kind === 'mfa_required') setChallenge(result.challengeId);
        else done();
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};

  return (
    <main className="login">
      <form className="card login-card" onSubmit={(e) => void submit(e)}>
        <h1>Bazaar admin</h1>
        {query.get('expired') && !error && (
          <p className="notice" role="status">
            Your session ended. Sign in again to continue.
          </p>
        )}
        {challenge ? (
          <Field
            key="code"
            label="Authentication code"
            name="code"
            inputMode="numeric"
            autoComplete="one-time-code"
            required
            autoFocus
            hint="The 6-digit code from your authenticator app, or a recovery code."
            error={fieldErrors.code}
          />
        ) : (
          <>
            <Field
              label="E-mail"
              name="email"
              type="email"
              autoComplete="username"
              required
              error={fieldErrors.email}
            />
            <Field
              label="Password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              error={fieldErrors.password}
            />
          </>
        )}
        {error !== null && (
          <p className="form-error" role="alert">
            {messageOf(error)}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : challenge ? 'Verify' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
