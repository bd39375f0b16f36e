import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent, type ReactNode } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { ErrorBanner, Field, fieldErrors } from '../components/forms';
import { api, call } from '../lib/api';
import { resetSession } from '../lib/queries';

/** Only local paths are followed after sign-in (no open redirect); else the role's home page. */
export function safeNext(next: string | null, home = '/computers'): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : home;
}

/**
 * The sign-in form. With `switchFrom` (the Switch user page) sending it first ends the current
 * user's session, so that session does not outlive the switch.
 */
export function SignInForm({ title = 'Sign in', notice, switchFrom }: { title?: string; notice?: ReactNode; switchFrom?: string }) {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [handle, setHandle] = useState('');
  const [password, setPassword] = useState('');
  const signIn = useMutation({
    mutationFn: async () => {
      if (switchFrom) {
        await call(api.POST('/api/auth/signout')).catch(() => undefined);
        await resetSession(queryClient, null);
      }
      return call(api.POST('/api/auth/signin', { body: { handle: handle.trim(), password } }));
    },
    onSuccess: async (user) => {
      await resetSession(queryClient, user);
      navigate(safeNext(params.get('next'), user.role === 'operator' ? '/operator' : '/computers'), { replace: true });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate();
  };
  return (
    <section className="panel panel--narrow">
      <h1>{title}</h1>
      {notice && <p className="muted">{notice}</p>}
      <form onSubmit={submit} noValidate>
        <ErrorBanner error={signIn.error} />
        <Field label="Handle" value={handle} onChange={setHandle} autoComplete="username" autoFocus errors={fieldErrors(signIn.error, 'handle')} />
        <Field
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="current-password"
          errors={fieldErrors(signIn.error, 'password')}
        />
        <div className="form-actions">
          <button type="submit" className="btn btn--primary" disabled={signIn.isPending}>
            {signIn.isPending ? 'Signing in…' : switchFrom ? 'Sign in as this user' : 'Sign in'}
          </button>
          <span className="muted">
            or <Link to={`/signup${params.get('next') ? `?next=${encodeURIComponent(params.get('next')!)}` : ''}`}>sign up for an account</Link>
          </span>
        </div>
      </form>
    </section>
  );
}

export function SignInPage() {
  return <SignInForm />;
}
